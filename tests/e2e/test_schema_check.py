"""A server on a database whose schema is not the code's says so: it refuses to start, and if the schema
falls behind while it runs, `/health` answers 503 "schema not migrated" and the tools say to migrate.

Before: `/health` answered "database ok" (it ran `SELECT 1`), and a tool touching a missing column said
"unavailable ... Try again shortly" on SQLite (an OperationalError, taken for an outage) or failed with an
internal error on PostgreSQL, so an agent retried for ever.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import anyio.to_thread
import httpx2
import pytest

from finance_mcp import __version__
from finance_mcp.db.database import UNAVAILABLE_MESSAGE
from finance_mcp.db.migrate import downgrade, head_revision, upgrade
from finance_mcp.db.schema import SCHEMA_MESSAGE
from tests.cli.test_cli import run_cli
from tests.e2e.helpers import fresh_tenant, ok, text_of
from tests.e2e.servers import SECRET, connector, drain_output, free_port, start_server, stop_server

NOT_MIGRATED = {
    "status": "unhealthy",
    "version": __version__,
    "database": "schema not migrated: run finance-mcp migrate",
}


@pytest.fixture(params=["sqlite", "postgres"])
def own_database(request: pytest.FixtureRequest, tmp_sqlite_url: str) -> str:
    """A migrated database no other test uses: this module changes its schema under a running server."""
    url = tmp_sqlite_url if request.param == "sqlite" else str(request.getfixturevalue("fresh_postgres_url"))
    upgrade(url)
    return url


@pytest.mark.anyio
async def test_a_schema_that_falls_behind_a_running_server_is_reported_instead_of_retried(own_database: str) -> None:
    running = start_server(own_database)
    drain = drain_output(running)
    token = running.token(tenant=fresh_tenant())
    spend = {"amount": "-12.50", "date": "2026-12-01", "category": "groceries"}
    try:
        healthy = httpx2.get(f"{running.base_url}/health")
        async with connector(running)(token) as client:
            account = ok(await client.call_tool("create_account", {"name": "Main", "account_type": "checking"}))
        # An older release's migrate, or a restore from an older backup:
        await anyio.to_thread.run_sync(downgrade, own_database, "0003")
        behind = httpx2.get(f"{running.base_url}/health")
        async with connector(running)(token) as client:
            refused = await client.call_tool("create_transaction", {"account_id": account["id"], **spend})
        await anyio.to_thread.run_sync(upgrade, own_database)
        again = httpx2.get(f"{running.base_url}/health")
        async with connector(running)(token) as client:
            recorded = await client.call_tool("create_transaction", {"account_id": account["id"], **spend})
            listed = ok(await client.call_tool("list_transactions", {"account_id": account["id"]}))
    finally:
        stop_server(running)
        drain.join(timeout=10)

    assert healthy.status_code == 200
    assert (behind.status_code, behind.json()) == (503, NOT_MIGRATED)
    assert refused.is_error
    assert text_of(refused).endswith(SCHEMA_MESSAGE)
    assert UNAVAILABLE_MESSAGE not in text_of(refused)
    assert again.status_code == 200
    assert ok(recorded)
    assert listed["total"] == 1  # the refused call changed nothing


def test_serve_refuses_a_database_behind_head_and_names_both_revisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(url, "0003")

    done = run_cli(tmp_path, "serve", SECRET_KEY=SECRET, DATABASE_URL=url)

    assert done.returncode == 1
    expected = f"finance-mcp: schema not migrated (at 0003, need {head_revision()}): run finance-mcp migrate"
    assert done.stderr.strip().splitlines()[-1] == expected


def test_serve_refuses_a_database_migrated_by_a_newer_release(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    upgrade(f"sqlite:///{path}")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")

    done = run_cli(tmp_path, "serve", SECRET_KEY=SECRET, DATABASE_URL=f"sqlite:///{path}")

    assert done.returncode == 1
    assert "schema is newer than this finance-mcp (at 9999" in done.stderr


def test_serve_starts_on_an_unreachable_database_and_reports_it_unavailable() -> None:
    """Not a schema problem: the database may come back, so the server starts and `/health` says so."""
    running = start_server("postgresql://postgres@127.0.0.1:1/nowhere")
    drain = drain_output(running)
    try:
        health = httpx2.get(f"{running.base_url}/health", timeout=30)
    finally:
        stop_server(running)
        drain.join(timeout=10)

    assert (health.status_code, health.json()["database"]) == (503, "unavailable")


def test_the_server_factory_refuses_an_unmigrated_database_when_run_by_uvicorn_itself(tmp_path: Path) -> None:
    """`uvicorn --factory finance_mcp.server.app:create_app` skips the CLI's check; the lifespan refuses."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "finance_mcp.server.app:create_app"]

    done = subprocess.run(
        [*uvicorn, "--port", str(free_port())],
        cwd=tmp_path,
        env={"SECRET_KEY": SECRET, "DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    assert "schema not migrated (at no revision" in done.stderr
    assert "Application startup failed" in done.stderr
