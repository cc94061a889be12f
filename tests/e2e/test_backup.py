"""`finance-mcp backup` while a real server writes, and the restore commands of docs/DEPLOYMENT.md, run as
written: the restored database is consistent (every balance is the sum of its rows, every row counter the
number of rows) and holds what was acknowledged before the backup began; a backup of the quiet database
restores to exactly the same rows."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import asyncpg
import pytest

from finance_mcp.db.migrate import upgrade
from tests.cli.test_cli import SERVER_VARIABLES
from tests.conftest import _pg_admin  # pyright: ignore[reportPrivateUsage]
from tests.e2e.helpers import fresh_tenant, ok
from tests.e2e.servers import SECRET, connector, drain_output, start_server, stop_server
from tests.reliability.dumps import database_dump

ROOT = Path(__file__).resolve().parents[2]
SECTION = (ROOT / "docs" / "DEPLOYMENT.md").read_text().split("## Backups and restore", 1)[1].split("\n## ", 1)[0]
BLOCKS = {body.splitlines()[0]: body for body in re.findall(r"```bash\n(.*?)```", SECTION, re.S)}
TIMEOUT = 120
ACKNOWLEDGED_BEFORE_BACKUP = 20


def block(starts: str) -> str:
    (found,) = [body for first, body in BLOCKS.items() if first.startswith(starts)]
    return found


def run_block(script: str, cwd: Path, **env: str) -> None:
    """A documented block in bash, with `finance-mcp` on PATH and nothing of the test's own settings."""
    environment = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    environment |= {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "SECRET_KEY": SECRET, **env}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{script}\nexited {done.returncode}:\n{done.stdout}\n{done.stderr}"


@dataclass
class Backend:
    """How the documented commands reach one database kind in this test."""

    name: str
    live_url: str
    live_dir: Path
    restored: list[str]

    def backup(self, into: Path) -> Path:
        into.mkdir()
        run_block(block(f"# {self.title}: back up"), self.live_dir, DATABASE_URL=self.live_url)
        produced = self.live_dir / ("finance-backup.db" if self.name == "sqlite" else "finance-backup.dump")
        return Path(shutil.move(produced, into / produced.name))

    def restore(self, backup: Path) -> str:
        """Run the restore block into a fresh database; its URL."""
        if self.name == "sqlite":
            run_block(block("# SQLite: restore"), backup.parent)
            return f"sqlite:///{backup.parent / 'finance_mcp.db'}"
        name = f"finance_mcp_restored_{uuid.uuid4().hex[:12]}"
        self.restored.append(name)
        server = urlsplit(self.live_url)
        libpq = {"PGHOST": server.hostname or "", "PGPORT": str(server.port or 5432), "PGUSER": server.username or ""}
        run_block(block("# PostgreSQL: restore").replace("finance_restored", name), backup.parent, **libpq)
        return self.live_url.rsplit("/", 1)[0] + f"/{name}"

    @property
    def title(self) -> str:
        return "SQLite" if self.name == "sqlite" else "PostgreSQL"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    if request.param == "sqlite":
        url = f"sqlite:///{live_dir / 'finance_mcp.db'}"
        upgrade(url)
        yield Backend("sqlite", url, live_dir, [])
        return
    url = str(request.getfixturevalue("fresh_postgres_url"))
    upgrade(url)
    chosen = Backend("postgres", url, live_dir, [])
    yield chosen
    for name in chosen.restored:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Audit:
    rows: int
    balance: Decimal
    counter: int
    amounts: Decimal


async def audit(url: str, account_id: int) -> Audit:
    """The account's stored balance and row counter against its rows, read from the database itself."""
    query = (
        "SELECT a.balance, a.opening_balance, a.transaction_count, count(t.id), coalesce(sum(t.amount), 0)"
        " FROM accounts a LEFT JOIN transactions t ON t.account_id = a.id WHERE a.id = $1"
        " GROUP BY a.balance, a.opening_balance, a.transaction_count"
    )
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(url.split(":///", 1)[1])) as conn, conn:
            cents, opening_cents, counter, rows, amount_cents = conn.execute(
                query.replace("$1", "?"), (account_id,)
            ).fetchone()
        balance, opening, amounts = (Decimal(value) / 100 for value in (cents, opening_cents, amount_cents))
    else:
        conn = await asyncpg.connect(url)
        try:
            balance, opening, counter, rows, amounts = await conn.fetchrow(query, account_id)
        finally:
            await conn.close()
    assert balance == opening + amounts, "a balance that is not the sum of its rows"
    return Audit(rows=int(rows), balance=balance, counter=int(counter), amounts=amounts)


class Writer:
    """Records transactions through the real server until stopped; counts what was sent and acknowledged."""

    def __init__(self) -> None:
        self.sent = self.acknowledged = 0
        self.enough, self.stop = anyio.Event(), anyio.Event()

    async def write(self, client, account_id: int) -> None:
        while not self.stop.is_set():
            self.sent += 1
            spend = {"account_id": account_id, "amount": f"-{self.sent % 9 + 1}.25", "date": "2026-12-01"}
            ok(await client.call_tool("create_transaction", {**spend, "category": "groceries"}))
            self.acknowledged += 1
            if self.acknowledged >= ACKNOWLEDGED_BEFORE_BACKUP:
                self.enough.set()


@pytest.mark.anyio
async def test_a_backup_taken_while_the_server_writes_restores_consistent_and_complete(
    backend: Backend, tmp_path: Path
) -> None:
    running = start_server(backend.live_url)
    drain = drain_output(running)
    writer = Writer()
    try:
        async with connector(running)(running.token(tenant=fresh_tenant())) as client:
            account = ok(await client.call_tool("create_account", {"name": "Main", "account_type": "checking"}))
            async with anyio.create_task_group() as group:
                group.start_soon(writer.write, client, account["id"])
                with anyio.fail_after(TIMEOUT):
                    await writer.enough.wait()
                acknowledged_before = writer.acknowledged
                during = await anyio.to_thread.run_sync(backend.backup, tmp_path / "during")
                sent_by_end = writer.sent
                writer.stop.set()
        quiet = await anyio.to_thread.run_sync(backend.backup, tmp_path / "quiet")
    finally:
        stop_server(running)
        drain.join(timeout=10)

    restored_during = await anyio.to_thread.run_sync(backend.restore, during)  # pyright: ignore[reportPossiblyUnboundVariable]
    snapshot = await audit(restored_during, account["id"])
    restored_quiet = await anyio.to_thread.run_sync(backend.restore, quiet)

    assert acknowledged_before <= snapshot.rows <= sent_by_end  # pyright: ignore[reportPossiblyUnboundVariable]
    assert snapshot.counter == snapshot.rows
    assert await audit(restored_quiet, account["id"]) == await audit(backend.live_url, account["id"])
    assert await database_dump(restored_quiet) == await database_dump(backend.live_url)


def test_backup_refuses_to_overwrite_a_file_and_leaves_it_as_it_was(tmp_path: Path, sqlite_url: str) -> None:
    existing = tmp_path / "precious.db"
    existing.write_text("not a backup")

    with pytest.raises(AssertionError, match="already exists: choose a new file name"):
        run_block(f"finance-mcp backup --output {existing}", tmp_path, DATABASE_URL=sqlite_url)

    assert existing.read_text() == "not a backup"


def test_backup_of_a_missing_sqlite_file_fails_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="no SQLite database file"):
        run_block("finance-mcp backup --output copy.db", tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}")

    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_pg_dump_says_why_and_leaves_no_file(tmp_path: Path, postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_database_here"

    with pytest.raises(AssertionError, match=r'pg_dump failed: .*"no_such_database_here" does not exist'):
        run_block("finance-mcp backup --output copy.dump", tmp_path, DATABASE_URL=missing)

    assert sorted(p.name for p in tmp_path.iterdir()) == []
