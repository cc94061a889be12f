"""A primary and a hot standby on loopback, each a throw-away cluster of `tests/reliability/postgres.py`
(Debian's PostgreSQL 15 binaries, run as the postgres user): the standby is `pg_basebackup -R` of the primary,
streaming from it, and the primary names it in `synchronous_standby_names` so a commit waits for it."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from finance_mcp.db.migrate import upgrade
from tests.reliability.postgres import BIN, SYSTEM_USER, ThrowawayPostgres

DATABASE = "finance"
CATCH_UP_SECONDS = 60.0


class Cluster(ThrowawayPostgres):
    """A throw-away server that can also be a base backup of another, and be promoted."""

    def database_url(self, database: str = DATABASE) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{database}"

    def base_backup_of(self, primary: Cluster) -> None:
        self._run(
            str(BIN / "pg_basebackup"), "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
            "-h", "127.0.0.1", "-p", str(primary.port), "-U", SYSTEM_USER,
        )  # fmt: skip

    def promote(self) -> None:
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "promote")


@dataclass
class Pair:
    primary: Cluster
    standby: Cluster


async def sql(url: str, statement: str, *args: object) -> object:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


async def wait_replayed(pair: Pair) -> None:
    """Until the standby has replayed everything the primary has written so far (a bounded poll)."""
    target = await sql(pair.primary.url, "SELECT pg_current_wal_lsn()::text")
    query = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_SECONDS
    while not await sql(pair.standby.url, query, str(target)):
        assert loop.time() < deadline, "the standby did not catch up"
        await asyncio.sleep(0.05)


def _own_root(prefix: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(root, SYSTEM_USER, SYSTEM_USER)
    return root


async def _prepare(pair: Pair) -> None:
    await sql(pair.primary.url, f"CREATE DATABASE {DATABASE}")
    # Named only now: the standby's copy of the configuration must not wait for a standby of its own once
    # promoted. '*' = whichever standby is connected.
    await sql(pair.primary.url, "ALTER SYSTEM SET synchronous_standby_names = '*'")
    await sql(pair.primary.url, "SELECT pg_reload_conf()")


@contextmanager
def primary_and_standby() -> Iterator[Pair]:
    """A migrated `finance` database on a primary, streamed synchronously to a hot standby."""
    roots = [_own_root("finance-mcp-primary-"), _own_root("finance-mcp-standby-")]
    pair = Pair(Cluster(roots[0]), Cluster(roots[1]))
    try:
        pair.primary.initdb()
        pair.primary.start()
        pair.standby.base_backup_of(pair.primary)
        pair.standby.start()
        asyncio.run(_prepare(pair))
        upgrade(pair.primary.database_url())
        asyncio.run(wait_replayed(pair))
        yield pair
    finally:
        for server in (pair.standby, pair.primary):
            if server.running():
                server.stop()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)
