"""Idempotency keys and the write quota (DESIGN.md §8, issue 13), through the real server on both backends:
a keyed write happens once however often and however simultaneously it is retried; a key reused for other
arguments is refused; a user writing too fast is told to slow down, and nothing is written."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from tests.e2e.helpers import MISSING_ID, balance, call, fresh_tenant, make_account, ok, refusal, snapshot
from tests.e2e.servers import Connect, RunningServer, connector, drain_output, start_server, stop_server

pytestmark = pytest.mark.anyio

QUOTA = 5
SPEND = {"amount": "-12.50", "date": "2026-03-01", "category": "Food", "merchant": "Bakery"}


def without_replayed(result: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in result.items() if name != "replayed"}


async def rows_of(client: Client, account_id: int) -> int:
    return int((await call(client, "list_transactions", account_id=account_id))["total"])


async def create(client: Client, account_id: int, **extra: Any) -> CallToolResult:
    return await client.call_tool("create_transaction", {"account_id": account_id, **SPEND, **extra})


async def test_sixteen_simultaneous_retries_of_one_keyed_create_write_one_row_and_answer_alike(
    server: RunningServer, connect: Connect
) -> None:
    key = f"retry-{uuid.uuid4()}"
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="100.00")

        answers = [
            ok(r) for r in await asyncio.gather(*(create(client, account_id, idempotency_key=key) for _ in range(16)))
        ]

        assert sum(answer.get("replayed") is True for answer in answers) == 15
        assert all(without_replayed(answer) == without_replayed(answers[0]) for answer in answers)
        assert await rows_of(client, account_id) == 1
        assert await balance(client, account_id) == "87.50"
        assert answers[0]["account_balance"] == "87.50"


async def test_a_repeat_returns_the_first_result_marked_replayed_and_writes_nothing(
    server: RunningServer, connect: Connect
) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="100.00")
        first = ok(await create(client, account_id, idempotency_key="k-1"))
        before = await snapshot(client)

        again = ok(await create(client, account_id, idempotency_key="k-1"))
        same_amount_written_otherwise = ok(await create(client, account_id, idempotency_key="k-1", amount="-12.5"))

        assert "replayed" not in first
        assert again == {**first, "replayed": True}
        assert same_amount_written_otherwise == again
        assert await snapshot(client) == before


async def test_a_key_reused_with_other_arguments_is_a_conflict_and_writes_nothing(
    server: RunningServer, connect: Connect
) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="100.00")
        ok(await create(client, account_id, idempotency_key="k-2"))
        before = await snapshot(client)

        said = refusal(await create(client, account_id, idempotency_key="k-2", amount="-99.00"))
        on_another_tool = refusal(
            await client.call_tool(
                "create_account", {"name": "Other", "account_type": "cash", "idempotency_key": "k-2"}
            )
        )

        assert "'k-2'" in said
        assert "other arguments" in said
        assert "new idempotency_key" in said
        assert "create_transaction" in on_another_tool
        assert await snapshot(client) == before


async def test_a_key_belongs_to_one_user_of_one_household(server: RunningServer, connect: Connect) -> None:
    tenant = fresh_tenant()
    async with (
        connect(server.token(tenant=tenant)) as owner,
        connect(server.token(tenant=tenant, role="MEMBER")) as member,
        connect(server.token(tenant=fresh_tenant())) as stranger,
    ):
        shared = await make_account(owner, opening_balance="100.00")
        theirs = await make_account(stranger, opening_balance="100.00")

        mine = ok(await create(owner, shared, idempotency_key="same"))
        colleague = ok(await create(member, shared, idempotency_key="same"))
        elsewhere = ok(await create(stranger, theirs, idempotency_key="same"))

        assert "replayed" not in colleague
        assert "replayed" not in elsewhere
        assert colleague["transaction"]["id"] != mine["transaction"]["id"]
        assert await rows_of(owner, shared) == 2
        assert await rows_of(stranger, theirs) == 1


async def test_unkeyed_writes_are_unchanged_each_call_writes(server: RunningServer, connect: Connect) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="100.00")

        first, second = ok(await create(client, account_id)), ok(await create(client, account_id))

        assert "replayed" not in first
        assert "replayed" not in second
        assert first["transaction"]["id"] != second["transaction"]["id"]
        assert await balance(client, account_id) == "75.00"


async def test_a_failed_keyed_call_stores_nothing_so_the_key_can_be_used_again(
    server: RunningServer, connect: Connect
) -> None:
    """Nothing was stored for the failure, so the same key with corrected arguments is a first call."""
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="100.00")

        failed = refusal(await create(client, MISSING_ID, idempotency_key="k-3"))
        corrected = ok(await create(client, account_id, idempotency_key="k-3"))
        repeat = ok(await create(client, account_id, idempotency_key="k-3"))

        assert "not found" in failed.lower()
        assert "replayed" not in corrected
        assert repeat["replayed"] is True
        assert await rows_of(client, account_id) == 1


async def test_keyed_updates_and_deletes_replay_too(server: RunningServer, connect: Connect) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="100.00")
        made = ok(await create(client, account_id))["transaction"]["id"]
        update = {"transaction_id": made, "amount": "-20.00", "idempotency_key": "u-1"}
        delete = {"transaction_id": made, "idempotency_key": "d-1"}

        updated = [ok(await client.call_tool("update_transaction", update)) for _ in range(2)]
        deleted = [ok(await client.call_tool("delete_transaction", delete)) for _ in range(2)]

        assert updated[1] == {**updated[0], "replayed": True}
        assert deleted[1] == {**deleted[0], "replayed": True}
        assert await balance(client, account_id) == "100.00"
        assert await rows_of(client, account_id) == 0


async def test_an_idempotency_key_must_be_1_to_200_characters(server: RunningServer, connect: Connect) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)

        empty = refusal(await create(client, account_id, idempotency_key=""))
        long = refusal(await create(client, account_id, idempotency_key="k" * 201))

        assert "idempotency_key" in empty
        assert "idempotency_key" in long
        assert await rows_of(client, account_id) == 0


async def test_every_writing_tool_and_no_read_tool_takes_an_idempotency_key(
    server: RunningServer, connect: Connect
) -> None:
    async with connect(server.token(tenant=fresh_tenant()), toolsets="all") as client:
        tools = (await client.list_tools()).tools

    writing = {t.name for t in tools if t.annotations is not None and not t.annotations.read_only_hint}
    keyed = {t.name for t in tools if "idempotency_key" in t.input_schema.get("properties", {})}
    flagged = {t.name for t in tools if "replayed" in (t.output_schema or {}).get("properties", {})}
    assert {"create_transaction", "create_account", "delete_account", "update_transaction"} <= writing
    assert keyed == writing == flagged
    assert all("idempotency_key" not in t.input_schema.get("required", []) for t in tools)


# ---- the write quota -------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def quota_server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    env = {"WRITE_QUOTA_PER_MINUTE": str(QUOTA)}
    running = start_server(str(request.getfixturevalue(f"{request.param}_url")), env=env)
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


def retry_after(said: str) -> int:
    found = re.search(r"slow down: retry in (\d+) s", said)
    assert found is not None, said
    return int(found.group(1))


async def test_a_write_past_the_quota_is_refused_with_a_wait_and_writes_nothing(quota_server: RunningServer) -> None:
    connect, tenant = connector(quota_server), fresh_tenant()
    async with (
        connect(quota_server.token(tenant=tenant)) as owner,
        connect(quota_server.token(tenant=tenant, role="MEMBER")) as writer,
    ):
        account_id = await make_account(owner, opening_balance="100.00")  # the owner's write, not the writer's
        for _ in range(QUOTA):
            ok(await create(writer, account_id))

        said = refusal(await create(writer, account_id))

        assert 1 <= retry_after(said) <= 60
        assert "nothing was changed" in said
        assert await rows_of(writer, account_id) == QUOTA  # reads still work, and the 6th wrote nothing
        assert await balance(writer, account_id) == "37.50"
        ok(await create(owner, account_id))  # another user is not held back


async def test_a_burst_of_simultaneous_writes_gets_exactly_the_quota_through(quota_server: RunningServer) -> None:
    connect = connector(quota_server)
    async with connect(quota_server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="100.00")

        answers = await asyncio.gather(*(create(client, account_id) for _ in range(4 * QUOTA)))

        refused = [refusal(a) for a in answers if a.is_error]
        assert len(answers) - len(refused) == QUOTA - 1  # the account was the first write of the minute
        assert all(retry_after(said) >= 1 for said in refused)
        assert await rows_of(client, account_id) == QUOTA - 1


async def test_a_repeated_keyed_api_key_is_refused_since_its_secret_is_not_kept(
    bridge_server: RunningServer, connect_bridge: Connect
) -> None:
    """The secret is shown once and never stored, not even for a replay: the repeat says what was created."""
    arguments = {"name": "Cursor", "scopes": ["finance:read"], "idempotency_key": "api-1"}
    async with connect_bridge(bridge_server.token(tenant=fresh_tenant())) as client:
        created = ok(await client.call_tool("create_api_key", arguments))

        said = refusal(await client.call_tool("create_api_key", arguments))
        listed = await call(client, "list_api_keys")

    assert "shown only once" in said
    assert f'"id": {created["api_key"]["id"]}' in said
    assert created["key"] not in said
    assert listed["total"] == 1
