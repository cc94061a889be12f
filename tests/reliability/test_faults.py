"""Faults: the database going away under a running server, and the server killed in the middle of a batch.

* A throw-away PostgreSQL (its own folder and port, started here) is stopped with an immediate shutdown while
  clients keep writing. Every call then answers "database unavailable, try again", `/health` answers 503,
  and once PostgreSQL is back the same server process serves again without a restart. Nothing acknowledged
  is lost, nothing refused appears, and every balance equals its opening balance plus its transactions.
* A server is SIGKILLed while it handles a 1000-item `create_transactions_batch`: right after the request is
  written, when its INSERT starts, and when its COMMIT is sent. The batch is then wholly there or wholly not.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anyio
import asyncpg
import httpx2
import pytest
from mcp import Client, MCPError

from finance_mcp.db.migrate import upgrade
from tests.e2e.helpers import assert_safe, bearer, call, make_account, new_wire_headers, text_of, tool_call_body
from tests.e2e.servers import RunningServer, drain_output, start_server, stop_server
from tests.reliability import postgres
from tests.reliability.clients import mcp_client
from tests.reliability.dumps import asyncpg_dsn, sqlite_path
from tests.reliability.tallies import tally

pytestmark = pytest.mark.anyio

UNAVAILABLE = "The finance database is unavailable right now; nothing was changed. Try again shortly."
WRITERS = 4
OUTAGES = 2
WAIT = 60  # seconds: the bound of every wait on an event
BATCH = 1000
TALLY = tally(
    "faults",
    "outages",
    "writes_refused_while_down",
    "calls_refused_while_down",
    "server_kills",
    "batches_whole",
    "batches_absent",
)


@pytest.fixture(scope="module")
def throwaway() -> Iterator[postgres.ThrowawayPostgres]:
    reason = postgres.available()
    if reason is not None:
        pytest.skip(f"!!! throw-away PostgreSQL unavailable: {reason} !!!")
    with postgres.throwaway_postgres() as pg:
        upgrade(pg.url)
        yield pg


@pytest.fixture(scope="module")
def server_on_throwaway(throwaway) -> Iterator[RunningServer]:
    running = start_server(throwaway.url)
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


@asynccontextmanager
async def owner_of(server: RunningServer, tenant: str, sub: str = "1") -> AsyncIterator[Client]:
    async with mcp_client(server.mcp_url, server.token(tenant=tenant, sub=sub, role="OWNER"), "auto") as client:
        yield client


def is_unavailable(said: str) -> bool:
    return UNAVAILABLE in said


@dataclass
class Ledger:
    """What the writers were told: acknowledged rows, and how many calls were refused (their fate is open)."""

    acknowledged: dict[int, Decimal] = field(default_factory=dict)
    refused: int = 0
    refused_after_recovery: int = 0


class OutageRound:
    """One outage seen from the writers' side: events the test waits on, and the ledger they fill."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.stop = anyio.Event()
        self.first_ok, self.first_refusal, self.ok_after_restart = anyio.Event(), anyio.Event(), anyio.Event()
        self.down = self.back = False

    def record(self, transaction_id: int | None, amount: Decimal) -> None:
        if transaction_id is not None:
            self.ledger.acknowledged[transaction_id] = amount
            self.first_ok.set()
            if self.back:
                self.ok_after_restart.set()
            return
        self.ledger.refused += 1
        if self.ok_after_restart.is_set():
            self.ledger.refused_after_recovery += 1  # a stale pooled connection would show up here
        elif self.down:
            self.first_refusal.set()

    async def write_until_stopped(self, client: Client, account_id: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            amount = Decimal(f"-{n % 7 + 1}.{n % 100:02d}")
            result = await client.call_tool(
                "create_transaction",
                {"account_id": account_id, "amount": str(amount), "date": "2026-05-01", "category": "Outage"},
            )
            if result.is_error:
                said = text_of(result)
                assert is_unavailable(said), f"not a clear outage error: {said}"
                self.record(None, amount)
            else:
                self.record(int(result.structured_content["transaction"]["id"]), amount)  # type: ignore[index]


async def health(server: RunningServer) -> tuple[int, dict[str, Any]]:
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.get(f"{server.base_url}/health")
        return response.status_code, response.json()


async def every_tool_says_unavailable(server: RunningServer, tenant: str, account_id: int, transaction_id: int) -> None:
    calls = [
        ("list_accounts", {}),
        ("get_account", {"account_id": account_id}),
        ("update_account", {"account_id": account_id, "name": "Down"}),
        ("create_transaction", {"account_id": account_id, "amount": "-1", "date": "2026-05-02", "category": "X"}),
        (
            "create_transactions_batch",
            {"account_id": account_id, "transactions": [{"amount": "1", "date": "2026-05-02", "category": "X"}]},
        ),
        ("list_transactions", {"account_id": account_id}),
        ("get_transaction", {"transaction_id": transaction_id}),
        ("update_transaction", {"transaction_id": transaction_id, "amount": "-2"}),
        ("delete_transaction", {"transaction_id": transaction_id}),
        ("delete_account", {"account_id": account_id}),
    ]
    async with owner_of(server, tenant) as owner:
        for tool, arguments in calls:
            said = text_of(await owner.call_tool(tool, arguments))
            assert is_unavailable(said), (tool, said)
            TALLY["calls_refused_while_down"] += 1
        with pytest.raises(MCPError) as caught:
            await owner.read_resource(f"finance://accounts/{account_id}")
        assert is_unavailable(caught.value.error.message), caught.value.error
    # A caller the server has never seen needs the database to be resolved at all.
    async with owner_of(server, f"new-{uuid.uuid4().hex[:8]}") as stranger:
        said = text_of(await stranger.call_tool("list_accounts", {}))
        assert is_unavailable(said), said
        assert_safe(said)


async def stored_rows(client: Client, account_id: int) -> dict[int, Decimal]:
    rows: dict[int, Decimal] = {}
    cursor = None
    while True:
        page = await call(client, "list_transactions", account_id=account_id, limit=500, cursor=cursor)
        rows.update((int(r["id"]), Decimal(r["amount"])) for r in page["transactions"])
        if (cursor := page["next_cursor"]) is None:
            return rows


async def outage(
    server: RunningServer,
    pg: postgres.ThrowawayPostgres,
    tenant: str,
    account_id: int,
    transaction_id: int,
    writers: OutageRound,
) -> None:
    """While writers run: stop PostgreSQL, check every answer and /health, start it, see writes succeed again."""
    with anyio.fail_after(WAIT):
        await writers.first_ok.wait()
    await anyio.to_thread.run_sync(pg.stop)  # the fault, in the middle of the writes
    writers.down = True
    TALLY["outages"] += 1
    with anyio.fail_after(WAIT):
        await writers.first_refusal.wait()
    status, body = await health(server)
    assert (status, body["database"]) == (503, "unavailable"), body
    await every_tool_says_unavailable(server, tenant, account_id, transaction_id)
    await anyio.to_thread.run_sync(pg.start)
    writers.back = True
    with anyio.fail_after(WAIT):
        await writers.ok_after_restart.wait()


async def test_postgres_going_away_is_a_clear_retryable_error_and_the_same_server_recovers(
    server_on_throwaway, throwaway
):
    server, tenant = server_on_throwaway, f"outage-{uuid.uuid4().hex[:8]}"
    async with owner_of(server, tenant) as owner:
        account_id = await make_account(owner, "Outage", opening_balance="500")
        seed = await call(
            owner, "create_transaction", account_id=account_id, amount="-5", date="2026-05-01", category="Seed"
        )
    ledger = Ledger(acknowledged={int(seed["transaction"]["id"]): Decimal("-5")})
    assert (await health(server))[0] == 200

    for _ in range(OUTAGES):
        writers = OutageRound(ledger)
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(owner_of(server, tenant, sub=str(n + 2))) for n in range(WRITERS)
            ]
            async with anyio.create_task_group() as group:
                for client in clients:
                    group.start_soon(writers.write_until_stopped, client, account_id)
                try:
                    await outage(server, throwaway, tenant, account_id, seed["transaction"]["id"], writers)
                finally:
                    writers.stop.set()
        assert (await health(server))[0] == 200

    async with owner_of(server, tenant) as owner:
        account = await call(owner, "get_account", account_id=account_id)
        stored = await stored_rows(owner, account_id)
    # Every acknowledged write is there; anything else came from a call whose answer was lost in the outage.
    assert set(ledger.acknowledged) <= set(stored)
    assert len(set(stored) - set(ledger.acknowledged)) <= ledger.refused
    assert Decimal(account["balance"]) == Decimal(account["opening_balance"]) + sum(stored.values(), Decimal(0))
    assert ledger.refused > 0
    assert ledger.refused_after_recovery == 0
    TALLY["writes_refused_while_down"] += ledger.refused


# ---- SIGKILL in the middle of a 1000-item batch ---------------------------------------------------------


class OutputWatcher:
    """Reads the server's log lines in a thread and sets an event when a chosen line appears."""

    def __init__(self, server: RunningServer, needles: list[str]) -> None:
        self.needles = needles
        self.event = threading.Event()
        self._stage = 0
        self._thread = threading.Thread(target=self._read, args=(server,), daemon=True)
        self._thread.start()

    def _read(self, server: RunningServer) -> None:
        assert server.process.stderr is not None
        for line in server.process.stderr:
            if self._stage < len(self.needles) and self.needles[self._stage] in line:
                self._stage += 1
                if self._stage == len(self.needles):
                    self.event.set()

    def join(self) -> None:
        self._thread.join(timeout=10)


def batch_request(server: RunningServer, token: str, account_id: int, items: list[dict[str, Any]]) -> bytes:
    body = json.dumps(tool_call_body("create_transactions_batch", {"account_id": account_id, "transactions": items}))
    headers = new_wire_headers("create_transactions_batch", bearer(token))
    port = server.base_url.rsplit(":", 1)[1]
    head = f"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-length: {len(body.encode())}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body.encode()


async def account_state(database_url: str, account_id: int) -> tuple[Decimal, Decimal, int, int, Decimal, int]:
    """(opening, balance, row counter, rows, sum of rows, tag rows) read straight from the database."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(database_url))
        try:
            opening, balance, counter = conn.execute(
                "SELECT opening_balance, balance, transaction_count FROM accounts WHERE id = ?", (account_id,)
            ).fetchone()
            rows, total = conn.execute(
                "SELECT count(*), coalesce(sum(amount), 0) FROM transactions WHERE account_id = ?", (account_id,)
            ).fetchone()
            (tags,) = conn.execute(
                "SELECT count(*) FROM transaction_tags WHERE transaction_id IN "
                "(SELECT id FROM transactions WHERE account_id = ?)",
                (account_id,),
            ).fetchone()
        finally:
            conn.close()
        cents = Decimal("0.01")
        return Decimal(opening) * cents, Decimal(balance) * cents, counter, rows, Decimal(total) * cents, tags
    pg = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        account = await pg.fetchrow(
            "SELECT opening_balance, balance, transaction_count FROM accounts WHERE id = $1", account_id
        )
        rows = await pg.fetchrow(
            "SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM transactions WHERE account_id = $1",
            account_id,
        )
        tags = await pg.fetchval(
            "SELECT count(*) FROM transaction_tags WHERE transaction_id IN "
            "(SELECT id FROM transactions WHERE account_id = $1)",
            account_id,
        )
    finally:
        await pg.close()
    counter = account["transaction_count"]
    return account["opening_balance"], account["balance"], counter, rows["n"], rows["total"], tags


# When to kill: as soon as the request is written; when the INSERT of the rows is logged; when COMMIT is logged.
KILL_POINTS = {
    "request-written": [],
    "rows-inserting": ["INSERT INTO transactions"],
    "committing": ["INSERT INTO transactions", "INSERT INTO transaction_tags", "COMMIT"],
}


@pytest.mark.parametrize("moment", list(KILL_POINTS))
async def test_a_server_killed_during_a_1000_item_batch_leaves_all_of_it_or_none(database_url, moment):
    # DEBUG echoes every SQL statement to the log, which is how the test knows where the server is.
    server = start_server(database_url, env={"DEBUG": "true", "LOG_LEVEL": "INFO"})
    watcher = OutputWatcher(server, KILL_POINTS[moment])
    token = server.token(tenant=f"kill-{uuid.uuid4().hex[:8]}", role="OWNER")
    try:
        async with mcp_client(server.mcp_url, token, "auto") as owner:
            account_id = await make_account(owner, "Killed", opening_balance="100")
        items = [
            {
                "amount": f"-{i % 50 + 1}.{i % 100:02d}",
                "date": "2026-04-01",
                "category": "Kill",
                "tags": ["k", f"t{i % 3}"],
            }
            for i in range(BATCH)
        ]
        total = sum((Decimal(item["amount"]) for item in items), Decimal(0))
        with socket.create_connection(("127.0.0.1", int(server.base_url.rsplit(":", 1)[1])), timeout=30) as sock:
            sock.sendall(batch_request(server, token, account_id, items))
            if KILL_POINTS[moment]:
                assert await anyio.to_thread.run_sync(watcher.event.wait, WAIT), f"never saw {KILL_POINTS[moment]}"
            os.kill(server.process.pid, signal.SIGKILL)
            TALLY["server_kills"] += 1
        assert server.process.wait(timeout=WAIT) == -signal.SIGKILL
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait(timeout=WAIT)
        watcher.join()
        if server.process.stderr is not None:
            server.process.stderr.close()

    opening, balance, counter, rows, stored_total, tags = await account_state(database_url, account_id)
    assert opening == Decimal("100.00")
    assert counter == rows
    if rows == 0:
        TALLY["batches_absent"] += 1
        assert (balance, stored_total, tags) == (opening, 0, 0)
    else:
        TALLY["batches_whole"] += 1
        assert (rows, stored_total, tags) == (BATCH, total, 2 * BATCH)
        assert balance == opening + total
