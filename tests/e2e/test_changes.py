"""The change log and undo through the real server on SQLite and PostgreSQL: each write tool's change,
undone, leaves a database dump byte for byte as it was (but for the log); blocked undos name the blocker;
households are isolated; viewers cannot undo; an undo of many rows asks the person first."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client

from tests.changelog_dumps import data_dump
from tests.e2e.helpers import MISSING_ID, call, fresh_tenant, make_account, ok, refusal
from tests.e2e.test_elicitation import MODES, Person, asking

pytestmark = pytest.mark.anyio

Scene = dict[str, int]


async def _scene(client: Client) -> Scene:
    checking = await make_account(client, "Checking", "1000")
    savings = await make_account(client, "Savings", "50", account_type="savings")
    day = {"date": "2026-03-01", "category": "Groceries"}
    first = await call(client, "create_transaction", account_id=checking, amount="-12.50", tags=["Food"], **day)
    await call(client, "create_transaction", account_id=savings, amount="7", tags=["gift", "Cash"], **day)
    return {"checking": checking, "savings": savings, "first": int(first["transaction"]["id"])}


WRITES: dict[str, Callable[[Client, Scene], Awaitable[Any]]] = {
    "create_account": lambda c, s: make_account(c, "New", "3"),
    "update_account": lambda c, s: call(c, "update_account", account_id=s["checking"], name="Main"),
    "delete_account": lambda c, s: call(c, "delete_account", account_id=s["checking"]),
    "create_transaction": lambda c, s: call(
        c, "create_transaction", account_id=s["checking"], amount="-3", date="2026-03-02", category="C", tags=["x"]
    ),
    "create_transactions_batch": lambda c, s: call(
        c,
        "create_transactions_batch",
        account_id=s["savings"],
        transactions=[
            {"amount": "1", "date": "2026-03-03", "category": "A"},
            {"amount": "-2.25", "date": "2026-03-04", "category": "B", "tags": ["t"]},
        ],
    ),
    "update_transaction": lambda c, s: call(
        c, "update_transaction", transaction_id=s["first"], account_id=s["savings"], amount="-1", tags=["New"]
    ),
    "delete_transaction": lambda c, s: call(c, "delete_transaction", transaction_id=s["first"]),
}


async def _latest(client: Client) -> dict[str, Any]:
    return (await call(client, "list_changes", limit=1))["changes"][0]


@pytest.mark.parametrize("write", list(WRITES))
async def test_undoing_each_write_tool_restores_the_database_byte_for_byte(server, connect, write):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        scene = await _scene(client)
        before = await data_dump(server.database_url)

        await WRITES[write](client, scene)
        change = await _latest(client)
        undone = await call(client, "undo_change", change_id=change["id"])

        assert change["tool"] == write
        assert undone["undone"] is True
        assert await data_dump(server.database_url) == before


async def test_a_blocked_undo_names_the_blocker_and_works_once_the_blocker_is_undone(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        scene = await _scene(client)
        before = await data_dump(server.database_url)
        await call(client, "update_transaction", transaction_id=scene["first"], category="Dining")
        edited = await _latest(client)
        await call(client, "delete_transaction", transaction_id=scene["first"])
        deleted = await _latest(client)

        text = refusal(await client.call_tool("undo_change", {"change_id": edited["id"]}))
        assert f"change {deleted['id']} (Deleted transaction {scene['first']}" in text
        await call(client, "undo_change", change_id=deleted["id"])
        await call(client, "undo_change", change_id=edited["id"])

        assert await data_dump(server.database_url) == before


async def test_an_undo_is_itself_a_change_and_undoing_it_redoes(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        scene = await _scene(client)
        await call(client, "delete_transaction", transaction_id=scene["first"])
        deleted = await _latest(client)
        after_delete = await data_dump(server.database_url)
        undone = await call(client, "undo_change", change_id=deleted["id"])

        again = refusal(await client.call_tool("undo_change", {"change_id": deleted["id"]}))
        assert f"already undone by change {undone['undo_change_id']}" in again
        await call(client, "undo_change", change_id=undone["undo_change_id"])
        listed = (await call(client, "list_changes", limit=3))["changes"]

        assert await data_dump(server.database_url) == after_delete
    assert [c["tool"] for c in listed] == ["undo_change", "undo_change", "delete_transaction"]
    assert listed[1]["undoes_change_id"] == deleted["id"]
    assert listed[2]["undone_by_change_id"] == listed[1]["id"]


async def test_another_households_change_is_not_found_like_a_missing_one(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as other:
        await _scene(other)
        theirs = await _latest(other)
    async with connect(server.token(tenant=fresh_tenant())) as client:
        await call(client, "whoami")  # the household is created on first sight
        their_dump = await data_dump(server.database_url)
        for change_id in (theirs["id"], MISSING_ID):
            text = refusal(await client.call_tool("undo_change", {"change_id": change_id}))
            assert f"Change {change_id} was not found in your household" in text
        assert (await call(client, "list_changes"))["changes"] == []
        assert await data_dump(server.database_url) == their_dump


async def test_a_viewer_can_read_the_log_but_cannot_undo(server, connect):
    tenant = fresh_tenant()
    async with connect(server.token(tenant=tenant, role="OWNER")) as owner:
        await _scene(owner)
        latest = await _latest(owner)
    async with connect(server.token(tenant=tenant, role="VIEWER")) as viewer:
        assert (await _latest(viewer))["id"] == latest["id"]
        text = refusal(await viewer.call_tool("undo_change", {"change_id": latest["id"]}))
    assert "Your role (viewer) does not allow" in text


async def test_the_recent_changes_resource_lists_the_households_changes(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        await _scene(client)
        read = await client.read_resource("finance://changes/recent")
    listed = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert [c["tool"] for c in listed["changes"]] == ["create_transaction"] * 2 + ["create_account"] * 2


@pytest.mark.parametrize("mode", MODES)
async def test_an_undo_of_many_rows_asks_first_and_a_decline_changes_nothing(server, mode):
    person = Person("decline")
    async with asking(server, server.token(tenant=fresh_tenant()), person, mode=mode) as client:
        scene = await _scene(client)
        await WRITES["create_transactions_batch"](client, scene)
        batch = await _latest(client)
        before = await data_dump(server.database_url)

        result = ok(await client.call_tool("undo_change", {"change_id": batch["id"]}))

        assert await data_dump(server.database_url) == before
    assert (result["undone"], result["not_confirmed"]) == (False, "declined")
    [question] = person.questions
    assert question.message.startswith(f"Undo change {batch['id']} (Recorded 2 transactions")
    assert "puts 2 rows back" in question.message


@pytest.mark.parametrize("mode", MODES)
async def test_an_undo_of_many_rows_goes_ahead_when_the_person_agrees_and_one_row_is_not_asked(server, mode):
    person = Person("accept")
    async with asking(server, server.token(tenant=fresh_tenant()), person, mode=mode) as client:
        scene = await _scene(client)
        before = await data_dump(server.database_url)
        await WRITES["create_transactions_batch"](client, scene)
        batch = await _latest(client)
        await call(client, "undo_change", change_id=batch["id"])
        assert await data_dump(server.database_url) == before
        assert len(person.questions) == 1

        await WRITES["create_transaction"](client, scene)
        await call(client, "undo_change", change_id=(await _latest(client))["id"])
    assert len(person.questions) == 1  # one row: not asked
