"""How units of work reach PostgreSQL: a transaction only where one is needed, and pooled connections that
the server closed are replaced instead of failing a call (there is no per-call pre-ping)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import asyncpg
import pytest
from sqlalchemy import text

from finance_mcp.db.database import Database, PostgresDatabase, open_database

pytestmark = pytest.mark.anyio

PROBE = "SELECT current_setting('finance_mcp.probe', true)"


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[PostgresDatabase]:
    db = open_database(postgres_url)
    assert isinstance(db, PostgresDatabase)
    try:
        yield db
    finally:
        await db.dispose()


async def backend_pid(db: Database) -> int:
    async with db.connect(write=False, transaction=False) as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_pooled_connection_the_server_closed_is_replaced_without_failing_the_call(
    pg: PostgresDatabase, postgres_url: str
) -> None:
    async with pg.engine.connect() as conn:
        pooled = (await conn.get_raw_connection()).driver_connection
        first = await conn.scalar(text("SELECT pg_backend_pid()"))
    assert await backend_pid(pg) == first  # the pool hands the same connection back
    assert pooled is not None

    admin = await asyncpg.connect(postgres_url, timeout=5)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        with anyio.fail_after(10):
            while not pooled.is_closed():  # the event loop delivers the server's close to asyncpg
                await admin.fetchval("SELECT 1")
    finally:
        await admin.close()

    assert await backend_pid(pg) not in (first, None)


async def test_a_write_unit_without_a_transaction_runs_exactly_one_statement(pg: PostgresDatabase) -> None:
    """Two statements in autocommit would not be atomic together: the second is refused."""
    async with pg.connect(write=True, transaction=False) as conn:
        await conn.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError, match="exactly one statement"):
            await conn.execute(text("SELECT 2"))


async def probe_outlives_its_statement(pg: PostgresDatabase, *, transaction: bool) -> bool:
    """Set a transaction-local value, then read it in the next statement: it survives only in a transaction."""
    async with pg.connect(write=False, transaction=transaction) as conn:
        await conn.execute(text("SELECT set_config('finance_mcp.probe', 'set', true)"))
        return (await conn.execute(text(PROBE))).scalar_one() == "set"


async def test_reads_without_a_transaction_run_each_statement_on_its_own(pg: PostgresDatabase) -> None:
    assert await probe_outlives_its_statement(pg, transaction=True) is True
    assert await probe_outlives_its_statement(pg, transaction=False) is False
