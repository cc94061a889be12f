"""Scans under abuse (issue 11, items 1 and 6), against the real server on SQLite and PostgreSQL.

* A tag summary over 20,000 tag rows finishes with linear work: the tag join seeks one transaction's tags
  (before: every tag row of the household per transaction, 54 s on SQLite).
* A scan past SCAN_TIMEOUT_SECONDS is stopped with a "narrow the range" error; a scan whose client went
  away is stopped at once (before: 13 minutes of CPU after the client left).
* One household looping heavy searches does not stall another household's calls (before, on SQLite, each
  search held the event loop for up to 1.2 s).
* A big batch refreshes SQLite's planner statistics.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from mcp import Client

from bench.scans import captured_tag_summary, seed, sqlite_run
from finance_mcp.db.database import Database, open_database
from finance_mcp.db.migrate import upgrade
from finance_mcp.domain.principals import Identity, Principal, Role
from finance_mcp.schemas.transactions import TransactionFields
from finance_mcp.services import transactions
from finance_mcp.services.households import IdentityService
from tests.e2e.helpers import fresh_sub, fresh_tenant, ok, refusal
from tests.e2e.servers import RunningServer, connector, start_server, stop_server
from tests.services.helpers import open_account

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

TAG_ROWS = 20_000
SEARCH_ROWS = 100_000
YEAR = {"start_date": "2025-01-01", "end_date": "2025-12-31"}
STOPPED = "a scan was stopped: its caller went away"


@dataclass
class Served:
    """A server of one test, its log kept in memory."""

    server: RunningServer
    log: list[str] = field(default_factory=list[str])

    def logged(self, text: str) -> bool:
        return any(text in line for line in list(self.log))

    def tail(self) -> str:
        return "".join(self.log[-30:])

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


@contextlib.contextmanager
def serving(url: str, **env: str) -> Iterator[Served]:
    served = Served(start_server(url, env=env))
    stderr = served.server.process.stderr
    assert stderr is not None
    reader = threading.Thread(target=lambda: served.log.extend(iter(stderr.readline, "")), daemon=True)
    reader.start()
    try:
        yield served
    finally:
        stop_server(served.server)
        reader.join(timeout=10)


@dataclass
class Household:
    client: Client
    tenant: str
    sub: str
    account_id: int


@contextlib.asynccontextmanager
async def household(server: RunningServer) -> AsyncIterator[Household]:
    tenant, sub = fresh_tenant(), fresh_sub()
    async with connector(server)(server.token(tenant=tenant, sub=sub)) as client:
        created = ok(await client.call_tool("create_account", {"name": "Card", "account_type": "credit_card"}))
        yield Household(client, tenant, sub, int(created["id"]))


async def principal_of(db: Database, home: Household) -> Principal:
    identity = Identity(auth_user_id=home.sub, tenant_id=home.tenant, email=None, role=Role.OWNER)
    return await IdentityService(db).resolve(identity)


async def seeded(url: str, account_id: int, rows: int) -> Decimal:
    db = open_database(url)
    try:
        return await seed(db, account_id, rows)
    finally:
        await db.dispose()


async def poll(condition: Any, *, within: float, what: str) -> None:
    """Wait (bounded) until `condition()` is true."""
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, f"not within {within:g} s: {what}"
        await asyncio.sleep(0.05)


# ---- 1. the tag summary --------------------------------------------------------------------------------------


async def test_a_tag_summary_over_20k_tag_rows_finishes_with_linear_work(own_database_url: str) -> None:
    with serving(own_database_url) as served:
        async with household(served.server) as home:
            spent = await seeded(own_database_url, home.account_id, TAG_ROWS)
            summary = ok(await home.client.call_tool("spending_summary", {**YEAR, "group_by": "tag"}))
    assert Decimal(summary["totals"]["spending"]) == spent
    assert summary["group_count"] == 20
    assert {group["count"] for group in summary["groups"]} == {TAG_ROWS // 20}

    db = open_database(own_database_url)
    try:
        sql, parameters = await captured_tag_summary(db, await principal_of(db, home))
    finally:
        await db.dispose()
    if own_database_url.startswith("sqlite"):
        _, steps, finished, plan = sqlite_run(
            own_database_url.removeprefix("sqlite:///"), sql, parameters, cap_seconds=120
        )
        # Linear: about 60 instructions a row (1.2 million). Seeking on the household alone: 500 million in 60 s.
        assert finished
        assert steps < 20_000_000, steps
        assert any("ix_transaction_tags_household_transaction (household_id=? AND transaction_id=?)" in p for p in plan)
    else:
        blocks = await _postgres_blocks(own_database_url, sql, parameters)
        # Linear: a few index pages a transaction. Seeking on the household alone: every tag page per transaction.
        assert blocks < 10 * TAG_ROWS, blocks


async def _postgres_blocks(url: str, sql: str, parameters: Any) -> int:
    """Buffer pages the statement touched (hit or read), from EXPLAIN (ANALYZE, BUFFERS)."""
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *parameters)
    finally:
        await conn.close()
    plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


# ---- 1. time limits and callers that went away ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [("spending_summary", {**YEAR, "group_by": "tag"}), ("list_transactions", {"search": "no such words"})],
)
async def test_a_scan_past_its_time_limit_is_stopped_and_says_narrow_the_range(
    own_database_url: str, tool: str, arguments: dict[str, Any]
) -> None:
    with serving(own_database_url, SCAN_TIMEOUT_SECONDS="0.001") as served:
        async with household(served.server) as home:
            await seeded(own_database_url, home.account_id, TAG_ROWS)
            stopped = refusal(await home.client.call_tool(tool, arguments))
            account = ok(await home.client.call_tool("get_account", {"account_id": home.account_id}))
    assert "narrow the range" in stopped.lower(), stopped
    assert "0.001 s" in stopped, stopped
    assert account["balance"] != "0.00"  # the server goes on serving


async def test_a_scan_whose_client_went_away_is_stopped(own_database_url: str) -> None:
    with serving(own_database_url, SCAN_TIMEOUT_SECONDS="600") as served:
        async with household(served.server) as home:
            if own_database_url.startswith("sqlite"):
                await _abandon_a_slow_sqlite_summary(served, home)
            else:
                await _abandon_a_blocked_postgres_summary(served, home)
            # The server is healthy afterwards.
            ok(await home.client.call_tool("get_account", {"account_id": home.account_id}))


async def _abandon_a_slow_sqlite_summary(served: Served, home: Household) -> None:
    """A statement that would run for minutes: the quadratic plan, rebuilt by dropping the join's index."""
    url = served.server.database_url
    await seeded(url, home.account_id, TAG_ROWS)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute("DROP INDEX ix_transaction_tags_household_transaction")
        conn.execute("DROP TABLE IF EXISTS sqlite_stat1")
    async with connector(served.server)(served.server.token(tenant=home.tenant, sub=home.sub)) as leaver:
        idle = served.cpu_seconds()
        call = asyncio.ensure_future(leaver.call_tool("spending_summary", {**YEAR, "group_by": "tag"}))

        async def working() -> bool:
            return served.cpu_seconds() - idle > 1.0

        await poll(working, within=60, what="the server starts the summary")
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call

    async def stopped() -> bool:
        return served.logged(STOPPED)

    # The statement alone runs for well over a minute here; stopped, it ends within milliseconds.
    await poll(stopped, within=30, what="the server stops the scan of a client that left")


async def _abandon_a_blocked_postgres_summary(served: Served, home: Household) -> None:
    """A statement that waits as long as the test holds a lock; cancelling must end it on the server."""
    url = served.server.database_url
    locker = await asyncpg.connect(url)
    watcher = await asyncpg.connect(url)
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    try:
        locking = locker.transaction()
        await locking.start()
        await locker.execute("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE")
        async with connector(served.server)(served.server.token(tenant=home.tenant, sub=home.sub)) as leaver:
            call = asyncio.ensure_future(leaver.call_tool("spending_summary", {**YEAR, "group_by": "tag"}))

            async def blocked() -> bool:
                return int(await watcher.fetchval(waiting)) == 1

            await poll(blocked, within=30, what="the summary waits on the lock")
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await call

        async def cancelled() -> bool:
            return int(await watcher.fetchval(waiting)) == 0

        await poll(cancelled, within=30, what="the server cancels the query of a client that left: " + served.tail())
        await locking.rollback()
    finally:
        await locker.close()
        await watcher.close()


# ---- 6. fairness -------------------------------------------------------------------------------------------


async def test_heavy_searches_of_one_household_do_not_stall_another_households_calls(own_database_url: str) -> None:
    """Two clients of one household loop searches that read 100,000 rows; meanwhile another household's
    get_account keeps being answered. Before, on SQLite, each search held the event loop (about 1 s) and
    the other household got about one answer per search."""
    searches_wanted, answered, searched = 6, [0], [0]
    # A search's time limit far away: on a busy machine two of them at once may pass the default 5 s.
    with serving(own_database_url, SCAN_TIMEOUT_SECONDS="300") as served:
        async with household(served.server) as heavy, household(served.server) as light:
            await seeded(own_database_url, heavy.account_id, SEARCH_ROWS)
            done = asyncio.Event()

            async def search(client: Client) -> None:
                while not done.is_set():
                    ok(await client.call_tool("list_transactions", {"search": "no such words", "limit": 10}))
                    searched[0] += 1
                    if searched[0] >= searches_wanted:
                        done.set()

            async def look() -> None:
                while not done.is_set():
                    ok(await light.client.call_tool("get_account", {"account_id": light.account_id}))
                    answered[0] += 1

            token = served.server.token(tenant=heavy.tenant, sub=heavy.sub)
            async with connector(served.server)(token) as second:
                await asyncio.wait_for(asyncio.gather(search(heavy.client), search(second), look()), timeout=300)
    # The server's loop-lag probe reports every block over 250 ms. Before, each search blocked the loop for
    # about 1 s (more on a busy machine); now the loop only hands the searches to worker threads.
    blocks = [int(m) for m in re.findall(r"the event loop was blocked for (\d+) ms", "".join(served.log))]
    assert all(ms < 750 for ms in blocks), blocks
    assert answered[0] > 0, searched[0]


# ---- 1. planner statistics ---------------------------------------------------------------------------------


async def test_a_big_batch_refreshes_sqlite_planner_statistics(tmp_sqlite_url: str) -> None:
    upgrade(tmp_sqlite_url)
    db = open_database(tmp_sqlite_url)
    try:
        identity = Identity(auth_user_id="1", tenant_id=fresh_tenant(), email=None, role=Role.OWNER)
        me = await IdentityService(db).resolve(identity)
        account = await open_account(db, me)
        day = dt.date(2025, 3, 1)
        rows = [
            TransactionFields.model_validate({"amount": "-1", "date": day, "category": "Food", "tags": [f"t{n % 7}"]})
            for n in range(600)
        ]
        await transactions.record_batch(db, me, account.id, rows)
    finally:
        await db.dispose()
    with sqlite3.connect(tmp_sqlite_url.removeprefix("sqlite:///")) as conn:
        analyzed = {row[0] for row in conn.execute("SELECT DISTINCT tbl FROM sqlite_stat1")}
    assert {"transactions", "transaction_tags"} <= analyzed
