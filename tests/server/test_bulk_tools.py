"""The bulk tools through a real MCP client against the real server in this process, on both databases and
both protocol eras: roles, refusals that change nothing, and the question a real bulk delete asks first
(through the SDK client's elicitation callback). No answer but a ticked box deletes."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestFormParams, ElicitRequestParams, ElicitResult

from finance_mcp.schemas.transactions import TransactionFilter
from finance_mcp.server.tools.filters import criteria
from tests.e2e.helpers import call, fresh_tenant, make_account, ok, refusal, snapshot
from tests.server.in_process import Connect, InProcessServer

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]


@dataclass
class Person:
    """Answers every question the same way and remembers what they were asked."""

    action: Literal["accept", "decline", "cancel"] = "accept"
    confirm: bool = True
    questions: list[str] = field(default_factory=list[str])

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        self.questions.append(params.message)
        content: dict[str, str | int | float | bool | list[str] | None] | None = None
        if self.action == "accept":
            content = {"confirm": self.confirm}
        return ElicitResult(action=self.action, content=content)


async def groceries(client: Client) -> int:
    """An account opened with 100.00 and three transactions: two groceries (-10.00, -5.25) and a salary."""
    account_id = await make_account(client, opening_balance="100")
    for amount, category in (("-10", "Groceries"), ("-5.25", "Groceries"), ("200", "Salary")):
        await call(
            client, "create_transaction", account_id=account_id, amount=amount, date="2026-03-01", category=category
        )
    return account_id


@pytest.mark.parametrize("mode", MODES)
async def test_a_real_bulk_delete_asks_in_words_and_a_ticked_box_deletes(
    connect: Connect, server: InProcessServer, mode
):
    person = Person()
    async with connect(server.token(tenant=fresh_tenant()), mode=mode, elicitation_callback=person) as client:
        account_id = await groceries(client)
        preview = await call(client, "bulk_delete_transactions", category="groceries")
        assert person.questions == []  # a preview asks nothing

        done = await call(client, "bulk_delete_transactions", category="groceries", dry_run=False)

        assert (done["dry_run"], done["matched"], done["changed"]) == (False, 2, 2)
        assert done["account_balances"] == {str(account_id): "300.00"} == preview["account_balances"]
        assert (await call(client, "get_account", account_id=account_id))["balance"] == "300.00"
    assert person.questions == [
        f"Delete 2 transactions (2026-03-01, totalling -15.25) from account(s) {account_id}? "
        "It can be undone afterwards with undo_change."
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("answer", "not_confirmed"),
    [(Person("decline"), "declined"), (Person("accept", confirm=False), "declined"), (Person("cancel"), "cancelled")],
    ids=["declined", "accepted-unticked", "cancelled"],
)
async def test_a_person_who_does_not_confirm_a_bulk_delete_keeps_everything(
    connect: Connect, server: InProcessServer, mode, answer, not_confirmed
):
    person = Person(answer.action, answer.confirm)
    async with connect(server.token(tenant=fresh_tenant()), mode=mode, elicitation_callback=person) as client:
        await groceries(client)
        before = await snapshot(client)

        result = ok(await client.call_tool("bulk_delete_transactions", {"category": "Groceries", "dry_run": False}))

        assert await snapshot(client) == before
    assert len(person.questions) == 1
    assert (result["dry_run"], result["matched"], result["changed"]) == (False, 0, 0)
    assert result["not_confirmed"] == not_confirmed
    assert "nothing was changed" in result["note"]


async def test_a_client_without_elicitation_bulk_deletes_as_in_v1(connect: Connect, server: InProcessServer):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await groceries(client)

        done = await call(client, "bulk_delete_transactions", account_id=account_id, dry_run=False)

        assert done["changed"] == 3
        assert (await call(client, "list_transactions", account_id=account_id))["total"] == 0


@pytest.mark.parametrize("mode", MODES)
async def test_a_member_is_refused_a_bulk_delete_before_anyone_is_asked(
    connect: Connect, server: InProcessServer, mode
):
    tenant, person = fresh_tenant(), Person()
    async with connect(server.token(tenant=tenant)) as owner:
        await groceries(owner)
        before = await snapshot(owner)
    async with connect(server.token(tenant=tenant, role="MEMBER"), mode=mode, elicitation_callback=person) as member:
        text = refusal(await member.call_tool("bulk_delete_transactions", {"category": "Groceries", "dry_run": False}))
        assert "role (member)" in text
        assert await snapshot(member) == before
    assert person.questions == []


async def test_a_viewer_is_refused_a_bulk_update_and_nothing_changes(connect: Connect, server: InProcessServer):
    tenant = fresh_tenant()
    async with connect(server.token(tenant=tenant)) as owner:
        await groceries(owner)
        before = await snapshot(owner)
    async with connect(server.token(tenant=tenant, role="VIEWER")) as viewer:
        text = refusal(
            await viewer.call_tool(
                "bulk_update_transactions", {"category": "Groceries", "set": {"category": "Food"}, "dry_run": False}
            )
        )
        assert "role (viewer)" in text
        assert await snapshot(viewer) == before


async def test_a_bulk_update_through_the_tool_is_undone_whole(connect: Connect, server: InProcessServer):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        await groceries(client)
        before = await snapshot(client)
        arguments: dict[str, Any] = {"category": "Groceries", "set": {"der_category": "Food"}, "add_tags": ["home"]}

        preview = await call(client, "bulk_update_transactions", **arguments)
        assert await snapshot(client) == before
        done = await call(client, "bulk_update_transactions", **arguments, dry_run=False)
        tagged = await call(client, "list_transactions", tags=["HOME"])
        undone = await call(client, "undo_change", change_id=done["change_id"])

        assert (preview["matched"], preview["changed"], done["changed"]) == (2, 2, 2)
        assert {t["der_category"] for t in done["sample"]} == {"Food"}
        assert tagged["total"] == 2
        assert undone["rows_restored"] == 2
        assert await snapshot(client) == before


async def test_no_filter_at_all_is_refused_with_what_to_give(connect: Connect, server: InProcessServer):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        await groceries(client)
        before = await snapshot(client)

        deleted = refusal(await client.call_tool("bulk_delete_transactions", {"dry_run": False}))
        updated = refusal(await client.call_tool("bulk_update_transactions", {"set": {"category": "X"}}))

        assert "at least one filter" in deleted
        assert "transaction_ids" in updated
        assert await snapshot(client) == before


async def test_a_repeated_keyed_bulk_delete_deletes_once_and_replays_the_first_result(
    connect: Connect, server: InProcessServer
):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await groceries(client)
        arguments = {"category": "Groceries", "dry_run": False, "idempotency_key": "clean-up-1"}

        first = await call(client, "bulk_delete_transactions", **arguments)
        await call(
            client, "create_transaction", account_id=account_id, amount="-1", date="2026-03-02", category="Groceries"
        )
        again = await call(client, "bulk_delete_transactions", **arguments)

        assert again.pop("replayed") is True
        assert again == first
        assert (await call(client, "list_transactions", category="Groceries"))["total"] == 1
        assert len((await call(client, "list_changes", limit=50))["changes"]) == 6  # 1 account, 4 creates, 1 delete


async def test_the_bulk_and_export_tools_take_exactly_list_transactions_filters(
    connect: Connect, server: InProcessServer
):
    async with connect(server.token(tenant=fresh_tenant()), toolsets="all") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    listing = tools["list_transactions"].input_schema["properties"]
    filters = {name: schema for name, schema in listing.items() if name not in ("limit", "cursor")}
    assert set(filters) == set(TransactionFilter.model_fields)
    assert set(inspect.signature(criteria).parameters) == set(TransactionFilter.model_fields)
    own = {
        "bulk_update_transactions": {"set", "add_tags", "remove_tags", "dry_run", "transaction_ids", "idempotency_key"},
        "bulk_delete_transactions": {"dry_run", "transaction_ids", "idempotency_key"},
        "export_transactions": {"format"},
    }
    for name, extra in own.items():
        properties = tools[name].input_schema["properties"]
        assert set(properties) == set(filters) | extra, name
        for argument, schema in filters.items():  # the same types and bounds (descriptions may be shorter)
            assert {k: v for k, v in properties[argument].items() if k != "description"} == {
                k: v for k, v in schema.items() if k != "description"
            }, (name, argument)
