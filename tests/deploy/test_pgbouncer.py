"""PgBouncer in transaction mode between several server workers and PostgreSQL (Debian's pgbouncer 1.18,
which keeps no prepared statements across server connections): with DATABASE_PGBOUNCER=true every unit of
work is a transaction and no statement is cached or shares a name, so the contract holds; without it the
driver's cached statements go missing as soon as two clients share PgBouncer's server connections."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from finance_mcp.db.database import Database, open_database
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from tests.deploy import pgbouncer
from tests.deploy.contract import walk_contract
from tests.e2e.helpers import fresh_sub, fresh_tenant
from tests.e2e.servers import connector, drain_output, start_server, stop_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

if (reason := pgbouncer.available()) is not None:
    pytest.skip(f"!!! {reason}: PgBouncer tests SKIPPED !!!", allow_module_level=True)

CALLERS = 6
UNITS_PER_CALLER = 40


@pytest.fixture(scope="module")
def bouncer_url(postgres_url: str) -> Iterator[str]:
    """The suite's PostgreSQL database behind a fresh PgBouncer with 3 server connections per pool."""
    with pgbouncer.running_pgbouncer(postgres_url, pool_size=3) as url:
        yield url


async def _read_units(db: Database, caller: int) -> list[BaseException]:
    """Read units of work as the services open them (autocommit ones and transactions), errors collected."""
    failures: list[BaseException] = []
    units = UnitsOfWork(db)
    for unit in range(UNITS_PER_CALLER):
        try:
            async with (units.snapshot if unit % 2 == 0 else units.read)(caller) as uow:
                await uow.accounts.list()
                await uow.accounts.list()
        except Exception as error:  # every failure counts: that is what is measured
            failures.append(error)
    return failures


async def _failures(db: Database) -> list[BaseException]:
    try:
        results = await asyncio.gather(*(_read_units(db, caller) for caller in range(1, CALLERS + 1)))
    finally:
        await db.dispose()
    return [failure for failures in results for failure in failures]


async def test_the_contract_holds_through_pgbouncer_with_three_server_workers(bouncer_url):
    running = start_server(bouncer_url, env={"DATABASE_PGBOUNCER": "true"}, args=["--workers", "3"])
    drain = drain_output(running)
    try:
        connect = connector(running)

        async def owner() -> None:
            sub = fresh_sub()
            async with connect(running.token(tenant=fresh_tenant(), sub=sub)) as client:
                await walk_contract(client, sub)

        await asyncio.gather(*(owner() for _ in range(CALLERS)))
    finally:
        stop_server(running)
        drain.join(timeout=10)


async def test_with_the_setting_no_unit_of_work_fails_behind_pgbouncer(bouncer_url):
    assert await _failures(open_database(bouncer_url, pgbouncer=True)) == []


async def test_without_the_setting_cached_statements_go_missing_behind_pgbouncer(bouncer_url):
    """Why the setting exists: the same units of work fail with the driver's defaults (stated, not hidden)."""
    failures = await _failures(open_database(bouncer_url))
    assert failures, "asyncpg's statement cache was expected to break behind PgBouncer 1.18's transaction pooling"
    assert any("prepared statement" in str(failure.__cause__ or failure) for failure in failures)
