"""Issue 11, items 4 and 12, against the real server on both backends: one principal cannot hold every
session, idle sessions expire, household quotas refuse clearly and change nothing (also under concurrent
creates), and slow clients (slowloris) cannot keep another client from being served."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import TaskStatus

from tests.e2e.helpers import (
    MISSING_ID,
    balance,
    call,
    fresh_tenant,
    legacy_headers,
    make_account,
    refusal,
    snapshot,
)
from tests.e2e.servers import RunningServer, connector, drain_output, start_server, stop_server
from tests.reliability.abuse.conftest import (
    ACCOUNTS,
    ALL_SESSIONS,
    API_KEYS,
    SESSIONS_PER_PRINCIPAL,
    STORED_BYTES,
    TRANSACTIONS,
    initialize,
    poll,
    rss_mb,
    session_answers,
)

pytestmark = pytest.mark.anyio
MANY_SESSIONS = 150  # the attack opened ~10,000; this many shows the bound without taking minutes
RSS_GROWTH_BOUND_MB = 60  # the attack grew RSS by 405 MB; a capped server stays far below


async def open_sessions(http: httpx2.AsyncClient, server: RunningServer, token: str, count: int) -> list[str]:
    """`count` sessions opened one after another by one principal; their ids, oldest first."""
    ids: list[str] = []
    for _ in range(count):
        response = await initialize(http, server.mcp_url, token)
        assert response.status_code == 200, response.text
        ids.append(response.headers["mcp-session-id"])
    return ids


async def end_sessions(http: httpx2.AsyncClient, server: RunningServer, token: str, ids: list[str]) -> None:
    for session_id in ids:
        await http.delete(server.mcp_url, headers=legacy_headers(session_id, {"Authorization": f"Bearer {token}"}))


async def test_one_principal_opening_many_sessions_keeps_only_its_newest_and_others_are_still_served(
    limited: RunningServer,
) -> None:
    attacker = limited.token(tenant=fresh_tenant(), role="MEMBER")
    neighbour = limited.token(tenant=fresh_tenant())
    before = rss_mb(limited.process.pid)
    async with httpx2.AsyncClient(timeout=30) as http:
        ids = await open_sessions(http, limited, attacker, MANY_SESSIONS)  # before the fix: 503 from the 21st
        growth = rss_mb(limited.process.pid) - before
        newest = ids[-SESSIONS_PER_PRINCIPAL:]
        assert [await session_answers(http, limited.mcp_url, attacker, s) for s in newest] == [200] * len(newest)
        oldest = ids[: MANY_SESSIONS - SESSIONS_PER_PRINCIPAL]
        assert {await session_answers(http, limited.mcp_url, attacker, s) for s in oldest[-10:]} == {404}
        (theirs,) = await open_sessions(http, limited, neighbour, 1)  # another household is still served
        assert await session_answers(http, limited.mcp_url, neighbour, theirs) == 200
        await end_sessions(http, limited, attacker, newest)
        await end_sessions(http, limited, neighbour, [theirs])
    assert growth < RSS_GROWTH_BOUND_MB, f"RSS grew {growth:.0f} MB over {MANY_SESSIONS} sessions"


async def test_a_principal_whose_sessions_are_all_busy_is_refused_a_new_one_clearly(limited: RunningServer) -> None:
    token = limited.token(tenant=fresh_tenant())
    async with httpx2.AsyncClient(timeout=30) as http, anyio.create_task_group() as streams:
        ids = await open_sessions(http, limited, token, SESSIONS_PER_PRINCIPAL)
        for session_id in ids:  # an open GET stream is a request in flight: the session is busy
            await streams.start(_hold_stream, http, limited, token, session_id)
        refused = await initialize(http, limited.mcp_url, token)
        assert refused.status_code == 429, refused.text
        message = refused.json()["error"]["message"]
        assert f"{SESSIONS_PER_PRINCIPAL} open MCP sessions" in message
        assert "MAX_SESSIONS_PER_PRINCIPAL" in message
        streams.cancel_scope.cancel()
    async with httpx2.AsyncClient(timeout=30) as http:
        await end_sessions(http, limited, token, ids)  # pyright: ignore[reportPossiblyUnboundVariable]


async def _hold_stream(
    http: httpx2.AsyncClient, server: RunningServer, token: str, session_id: str, *, task_status: TaskStatus[None]
) -> None:
    headers = legacy_headers(session_id, {"Authorization": f"Bearer {token}", "accept": "text/event-stream"})
    async with http.stream("GET", server.mcp_url, headers=headers) as response:
        assert response.status_code == 200
        task_status.started()
        async for _chunk in response.aiter_bytes():
            pass


async def test_the_global_session_limit_still_holds_across_principals(limited: RunningServer) -> None:
    tokens = [limited.token(tenant=fresh_tenant()) for _ in range(ALL_SESSIONS // SESSIONS_PER_PRINCIPAL)]
    async with httpx2.AsyncClient(timeout=30) as http:
        opened = [(t, await open_sessions(http, limited, t, SESSIONS_PER_PRINCIPAL)) for t in tokens]
        late = await initialize(http, limited.mcp_url, limited.token(tenant=fresh_tenant()))
        assert late.status_code == 503
        assert "Too many open sessions" in late.text
        for token, ids in opened:
            await end_sessions(http, limited, token, ids)  # pyright: ignore[reportPossiblyUnboundVariable]
        assert (await initialize(http, limited.mcp_url, limited.token(tenant=fresh_tenant()))).status_code == 200


@pytest.fixture(params=["sqlite", "postgres"])
def quick_expiry(request: pytest.FixtureRequest) -> Any:
    running = start_server(str(request.getfixturevalue(f"{request.param}_url")), env={"SESSION_IDLE_SECONDS": "1"})
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


async def test_an_idle_session_expires(quick_expiry: RunningServer) -> None:
    token = quick_expiry.token(tenant=fresh_tenant())
    async with httpx2.AsyncClient(timeout=30) as http:
        (session_id,) = await open_sessions(http, quick_expiry, token, 1)

        async def gone() -> bool:
            return await session_answers(http, quick_expiry.mcp_url, token, session_id) == 404

        # Each probe is itself a request: the session must stay idle for a whole second between two.
        assert await poll(gone, within=30, every=1.5), "an idle session was never closed"


# ---- household quotas -------------------------------------------------------------------------------------

LONG = "x" * 1000  # a row with this description is estimated at 64 + 4 + 1000 bytes
CONCURRENT_CREATES = 8


async def test_the_account_quota_refuses_clearly_and_changes_nothing(limited: RunningServer) -> None:
    async with connector(limited)(limited.token(tenant=fresh_tenant())) as client:
        for n in range(ACCOUNTS):
            await make_account(client, f"Account {n}")
        before = await snapshot(client)
        text = refusal(await client.call_tool("create_account", {"name": "One too many", "account_type": "cash"}))
        assert f"reached its limit of {ACCOUNTS} accounts" in text
        assert "MAX_ACCOUNTS_PER_HOUSEHOLD" in text
        assert await snapshot(client) == before
        await call(client, "delete_account", account_id=before["accounts"]["accounts"][0]["id"])
        await make_account(client, "Room again")


async def test_concurrent_account_creates_never_overshoot_the_quota(limited: RunningServer) -> None:
    async with connector(limited)(limited.token(tenant=fresh_tenant())) as client:
        arguments = [{"name": f"Race {n}", "account_type": "cash"} for n in range(CONCURRENT_CREATES)]
        results = await asyncio.gather(*(client.call_tool("create_account", a) for a in arguments))
        assert sum(not r.is_error for r in results) == ACCOUNTS
        assert all("MAX_ACCOUNTS_PER_HOUSEHOLD" in refusal(r) for r in results if r.is_error)
        assert (await call(client, "list_accounts"))["total"] == ACCOUNTS


async def test_the_transaction_quota_refuses_single_and_batch_creates_and_changes_nothing(
    limited: RunningServer,
) -> None:
    async with connector(limited)(limited.token(tenant=fresh_tenant())) as client:
        account = await make_account(client)
        items = [{"amount": "-1", "date": "2026-01-01", "category": "food"}] * (TRANSACTIONS - 2)
        await call(client, "create_transactions_batch", account_id=account, transactions=items)
        await call(client, "create_transaction", account_id=account, **items[0])
        before = await snapshot(client)
        batch = {"account_id": account, "transactions": items[:2]}
        text = refusal(await client.call_tool("create_transactions_batch", batch))
        assert f"reached its limit of {TRANSACTIONS} transactions" in text
        assert "this call adds 2" in text
        await call(client, "create_transaction", account_id=account, **items[0])  # the last place
        full = await snapshot(client)
        text = refusal(await client.call_tool("create_transaction", {"account_id": account, **items[0]}))
        assert f"reached its limit of {TRANSACTIONS} transactions" in text
        assert "MAX_TRANSACTIONS_PER_HOUSEHOLD" in text
        assert await snapshot(client) == full
        assert len(full["transactions"]["transactions"]) == len(before["transactions"]["transactions"]) + 1
        missing = refusal(await client.call_tool("create_transaction", {**items[0], "account_id": MISSING_ID}))
        assert "was not found" in missing  # a full household still says "not found" for a wrong account


async def test_concurrent_transaction_creates_overshoot_by_at_most_one_row_each(limited: RunningServer) -> None:
    async with connector(limited)(limited.token(tenant=fresh_tenant())) as client:
        account = await make_account(client, opening_balance="0")
        row = {"account_id": account, "amount": "-1", "date": "2026-01-01", "category": "food"}
        results = await asyncio.gather(
            *(client.call_tool("create_transaction", row) for _ in range(TRANSACTIONS + CONCURRENT_CREATES))
        )
        stored = (await call(client, "list_transactions", account_id=account))["total"]
        assert TRANSACTIONS <= stored <= TRANSACTIONS + CONCURRENT_CREATES  # the documented margin
        if limited.database_url.startswith("sqlite"):
            assert stored == TRANSACTIONS  # one writer at a time: exact
        assert sum(not r.is_error for r in results) == stored
        assert await balance(client, account) == f"-{stored}.00"


async def test_the_stored_bytes_quota_counts_creates_updates_and_deletes(limited: RunningServer) -> None:
    async with connector(limited)(limited.token(tenant=fresh_tenant())) as client:
        account = await make_account(client)
        row = {"account_id": account, "amount": "-1", "date": "2026-01-01", "category": "food"}
        long_ids = [
            (await call(client, "create_transaction", **row, description=LONG))["transaction"]["id"] for _ in range(4)
        ]
        short = (await call(client, "create_transaction", **row))["transaction"]["id"]
        before = await snapshot(client)
        text = refusal(await client.call_tool("create_transaction", {**row, "description": LONG}))
        assert f"reached its limit of {STORED_BYTES:,} stored bytes" in text
        assert "MAX_STORED_BYTES_PER_HOUSEHOLD" in text
        grow = {"transaction_id": short, "description": LONG}
        assert "stored bytes" in refusal(await client.call_tool("update_transaction", grow))
        assert await snapshot(client) == before
        await call(client, "delete_transaction", transaction_id=long_ids[0])  # frees its bytes
        await call(client, "update_transaction", **grow)


async def test_the_api_key_quota_counts_the_households_active_keys(limited: RunningServer) -> None:
    tenant = fresh_tenant()
    async with (
        connector(limited)(limited.token(tenant=tenant)) as owner,
        connector(limited)(limited.token(tenant=tenant, role="MEMBER")) as member,
    ):
        first = await call(owner, "create_api_key", name="laptop", scopes=["finance:read"])
        await call(member, "create_api_key", name="phone", scopes=["finance:read"])
        text = refusal(await member.call_tool("create_api_key", {"name": "third", "scopes": ["finance:read"]}))
        assert f"reached its limit of {API_KEYS} active API keys" in text
        assert "MAX_API_KEYS_PER_HOUSEHOLD" in text
        assert (await call(owner, "list_api_keys"))["total"] == API_KEYS
        await call(owner, "revoke_api_key", key_id=first["api_key"]["id"])
        await call(member, "create_api_key", name="third", scopes=["finance:read"])


# ---- slow clients ---------------------------------------------------------------------------------------

SLOW_CLIENTS = 60  # more connections than LIMIT_CONCURRENCY (40): before the fix, every new request got 503


async def _slowloris(port: int, first: bytes, *, closed: list[int], task_status: TaskStatus[None]) -> None:
    """One connection sending `first`, then one more byte every 0.2 s, until the server hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(first)
    await writer.drain()
    task_status.started()
    try:
        for _ in range(600):  # two minutes at most
            writer.write(b"x")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                if await asyncio.wait_for(reader.read(1024), timeout=0.2) == b"":
                    break
        else:
            return
    except (ConnectionError, OSError):
        pass
    closed.append(1)
    writer.close()


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", id="head-byte-by-byte"),
        pytest.param(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{", id="body-byte-by-byte"
        ),
    ],
)
async def test_slow_clients_are_cut_off_and_another_client_is_still_served(
    limited: RunningServer, first: bytes
) -> None:
    port = int(limited.base_url.rsplit(":", 1)[1])
    closed: list[int] = []
    async with anyio.create_task_group() as attackers, httpx2.AsyncClient(timeout=10) as http:
        for _ in range(SLOW_CLIENTS):
            await attackers.start(functools.partial(_slowloris, port, first, closed=closed))

        async def served() -> bool:
            return (await http.get(f"{limited.base_url}/health")).status_code == 200

        assert await poll(served, within=60, every=0.2), "slow clients kept the server from serving anyone"
        assert await poll(_all_cut(closed), within=30), f"only {len(closed)} of {SLOW_CLIENTS} slow clients were cut"
        attackers.cancel_scope.cancel()


def _all_cut(closed: list[int]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(closed) == SLOW_CLIENTS

    return check
