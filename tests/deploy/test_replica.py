"""A hot standby serving reads: finance-mcp with DATABASE_REPLICA_URL sends read-only tools, resources and
analytics to the standby and every write to the primary. Read-your-writes holds because a write is
acknowledged only once the standby has applied it (synchronous_commit=remote_apply on the primary's
sessions, the standby named in synchronous_standby_names): shown with the standby's replay paused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import text

from finance_mcp.db.replica import open_routed_database
from tests.deploy.clusters import Pair, primary_and_standby, sql, wait_replayed
from tests.deploy.contract import walk_contract
from tests.e2e.helpers import call, fresh_sub, fresh_tenant, make_account
from tests.e2e.servers import RunningServer, connector, drain_output, free_port, start_server, stop_server
from tests.reliability import postgres

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

if (reason := postgres.available()) is not None:
    pytest.skip(f"!!! {reason}: replica tests SKIPPED !!!", allow_module_level=True)

WAIT_SECONDS = 30.0
PAIRS = 20


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with primary_and_standby() as running:
        yield running


@pytest.fixture(scope="module")
def replicated(pair: Pair) -> Iterator[RunningServer]:
    env = {"DATABASE_REPLICA_URL": pair.standby.database_url()}
    running = start_server(pair.primary.database_url(), env=env, args=["--workers", "2"])
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


@asynccontextmanager
async def _local_commit(pair: Pair) -> AsyncIterator[asyncpg.Connection]:
    """A direct primary session whose commits do not wait for the standby (so a paused standby lags)."""
    url = pair.primary.database_url()
    conn = await asyncpg.connect(url, timeout=10, server_settings={"synchronous_commit": "local"})
    try:
        yield conn
    finally:
        await conn.close()


async def _in_recovery(primary_url: str, replica_url: str) -> bool:
    """Whether a read-only unit of work of the routed database ran on a standby."""
    db = open_routed_database(primary_url, replica_url=replica_url)
    try:
        async with db.connect(write=False) as conn:
            return bool((await conn.execute(text("SELECT pg_is_in_recovery()"))).scalar())
    finally:
        await db.dispose()


async def _wait_for_sync_rep_wait(pair: Pair) -> None:
    """Until a primary backend waits for the standby to confirm a commit (a bounded poll)."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await sql(pair.primary.url, query):
        assert asyncio.get_running_loop().time() < deadline, "no commit waited for the standby"
        await asyncio.sleep(0.02)


async def test_read_only_units_run_on_the_standby_and_writes_on_the_primary(pair):
    assert await _in_recovery(pair.primary.database_url(), pair.standby.database_url()) is True
    db = open_routed_database(pair.primary.database_url(), replica_url=pair.standby.database_url())
    try:
        async with db.connect(write=True) as conn:
            assert (await conn.execute(text("SELECT pg_is_in_recovery()"))).scalar() is False
    finally:
        await db.dispose()


async def test_an_unreachable_replica_sends_reads_to_the_primary(pair):
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/finance"
    assert await _in_recovery(pair.primary.database_url(), dead) is False


async def test_reads_stay_on_the_primary_when_it_names_no_synchronous_standby(pair, postgres_url):
    """The shared test server names no standby: remote_apply would wait for nobody, so the replica is unused."""
    assert await _in_recovery(postgres_url, pair.standby.database_url()) is False


async def test_the_contract_holds_with_reads_on_the_replica(replicated):
    sub = fresh_sub()
    async with connector(replicated)(replicated.token(tenant=fresh_tenant(), sub=sub)) as client:
        await walk_contract(client, sub)


async def test_read_tools_answer_from_the_standby(pair, replicated):
    """A change made on the primary that the paused standby has not replayed is not what the tools return."""
    async with connector(replicated)(replicated.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, name="Before")
        await sql(pair.standby.url, "SELECT pg_wal_replay_pause()")
        try:
            renamed = "UPDATE accounts SET name = 'After' WHERE id = $1"
            async with _local_commit(pair) as conn:
                await conn.execute(renamed, account_id)
            assert (await call(client, "get_account", account_id=account_id))["name"] == "Before"
            assert [a["name"] for a in (await call(client, "list_accounts"))["accounts"]] == ["Before"]
        finally:
            await sql(pair.standby.url, "SELECT pg_wal_replay_resume()")
        await wait_replayed(pair)
        assert (await call(client, "get_account", account_id=account_id))["name"] == "After"


async def test_a_write_is_acknowledged_once_the_standby_applied_it_so_the_next_read_sees_it(pair, replicated):
    async with connector(replicated)(replicated.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="1000")
        await sql(pair.standby.url, "SELECT pg_wal_replay_pause()")
        try:
            write = asyncio.create_task(
                call(
                    client,
                    "create_transaction",
                    account_id=account_id,
                    amount="-50",
                    date="2026-02-01",
                    category="Food",
                )
            )
            await _wait_for_sync_rep_wait(pair)
            assert not write.done(), "the write was acknowledged before the standby applied it"
        finally:
            await sql(pair.standby.url, "SELECT pg_wal_replay_resume()")
        created = await write
        assert (await call(client, "get_account", account_id=account_id))["balance"] == "950.00"
        fetched = await call(client, "get_transaction", transaction_id=created["transaction"]["id"])
        assert fetched["amount"] == "-50.00"


async def test_every_write_is_seen_by_the_read_that_follows_it_on_any_worker(replicated):
    async with connector(replicated)(replicated.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="0")
        for n in range(1, PAIRS + 1):
            await call(
                client, "create_transaction", account_id=account_id, amount="1", date="2026-03-01", category="Pay"
            )
            assert (await call(client, "get_account", account_id=account_id))["balance"] == f"{n}.00"
            page = await call(client, "list_transactions", account_id=account_id, limit=1)
            assert page["total"] == n
        summary = await call(
            client, "spending_summary", start_date="2026-03-01", end_date="2026-03-31", include_income=True
        )
        assert summary["totals"]["income"] == f"{PAIRS}.00"
