"""Budgets, rules and recurring series through the real server and the SDK client, on SQLite and
PostgreSQL: the tools, the budgets resource, spending_alert on a budget, refusals and households."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from mcp import MCPError

from tests.e2e.helpers import call, fresh_tenant, make_account, refusal

pytestmark = pytest.mark.anyio

TODAY = dt.datetime.now(dt.UTC).date()
MONTH = f"{TODAY.year:04d}-{TODAY.month:02d}"


async def read_json(client: Any, uri: str) -> dict[str, Any]:
    (content,) = (await client.read_resource(uri)).contents
    assert content.mime_type == "application/json"
    return json.loads(content.text)


async def test_a_budget_is_set_reported_read_as_a_resource_and_used_by_spending_alert(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client)
        await call(
            client, "create_transaction", account_id=account, amount="-30", date=TODAY.isoformat(), category="Dining"
        )
        made = await call(client, "set_budget", category="dining", amount="120.00")
        status = await call(client, "budget_status")
        resource = await read_json(client, f"finance://budgets/{MONTH}")
        prompt = await client.get_prompt("spending_alert", {"category": "DINING"})
        listed = await call(client, "list_budgets")
        with pytest.raises(MCPError):
            await client.get_prompt("spending_alert", {"category": "Travel"})
        deleted = await call(client, "delete_budget", budget_id=made["id"])

    (row,) = status["budgets"]
    assert (row["category"], row["budgeted"], row["spent"], row["remaining"]) == ("dining", "120.00", "30.00", "90.00")
    assert row["status"] in {"under", "near", "over"}
    assert resource["budgets"] == status["budgets"]
    text = prompt.messages[0].content.text
    assert "limit of 120.00" in text
    assert '"rollover_in": "0.00"' in text
    assert listed["total"] == 1
    assert deleted == {"deleted": True, "budget_id": made["id"]}


async def test_budget_refusals_say_what_to_do_and_other_households_cannot_touch_a_budget(server, connect):
    tenant = fresh_tenant()
    async with connect(server.token(tenant=tenant)) as owner:
        made = await call(owner, "set_budget", category="Fun", amount="10")
        zero = refusal(await owner.call_tool("set_budget", {"category": "Fun", "amount": "0"}))
    async with connect(server.token(tenant=fresh_tenant())) as stranger:
        hidden = refusal(await stranger.call_tool("delete_budget", {"budget_id": made["id"]}))
        with pytest.raises(MCPError):
            await read_json(stranger, "finance://budgets/2026-13")
    async with connect(server.token(tenant=tenant, role="VIEWER")) as viewer:
        denied = refusal(await viewer.call_tool("set_budget", {"category": "Fun", "amount": "5"}))
        still = await call(viewer, "list_budgets")

    assert "more than zero" in zero
    assert "list_budgets" in hidden
    assert "role (viewer)" in denied.lower()
    assert still["budgets"][0]["amount"] == "10.00"


async def test_a_rule_made_through_the_tools_categorises_new_transactions_and_apply_rules_previews(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client)
        old = await call(
            client,
            "create_transaction",
            account_id=account,
            amount="-12",
            date="2026-01-02",
            category="Misc",
            merchant="Uber Trip",
        )
        made = await call(
            client,
            "create_rule",
            name="rides",
            conditions=[
                {"field": "merchant", "op": "starts_with", "value": "uber"},
                {"field": "amount", "op": "lt", "value": 0},
            ],
            actions={"der_category": "Transport", "add_tags": ["ride"]},
            priority=5,
        )
        new = await call(
            client,
            "create_transaction",
            account_id=account,
            amount="-9",
            date="2026-01-03",
            category="Misc",
            merchant="UBER *EATS",
        )
        preview = await call(client, "apply_rules", account_id=account)
        runaway = refusal(
            await client.call_tool(
                "create_rule",
                {
                    "name": "bad",
                    "conditions": [{"field": "description", "op": "regex", "value": "(a|aa)+$"}],
                    "actions": {"der_category": "x"},
                },
            )
        )
        rules = await call(client, "list_rules")

    assert made["conditions"][1] == {"field": "amount", "op": "lt", "value": "0"}
    assert (new["transaction"]["der_category"], new["transaction"]["tags"]) == ("Transport", ["ride"])
    assert old["transaction"]["der_category"] is None
    assert (preview["dry_run"], preview["matched"], preview["changed"]) == (True, 2, 1)
    assert preview["sample"][0]["transaction_id"] == old["transaction"]["id"]
    assert "backtracks catastrophically" in runaway
    assert rules["total"] == 1


async def test_recurring_series_are_planned_posted_once_and_found_through_the_tools(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client, opening_balance="500")
        made = await call(
            client, "create_recurring", account_id=account, amount="-9.99", category="Music", frequency="monthly",
            start_date="2026-01-31", merchant="Spotify",
        )  # fmt: skip
        first = await call(client, "post_due_recurring", as_of="2026-04-30")
        again = await call(client, "post_due_recurring", as_of="2026-04-30")
        ahead = await call(client, "upcoming", days=30)
        listed = await call(client, "list_recurring")
        found = await call(client, "detect_recurring", months=12)
        changed = await call(
            client, "update_recurring", recurring_id=made["id"], clear_fields=["merchant"], amount="-10.99"
        )
        stranger_id = made["id"]
    async with connect(server.token(tenant=fresh_tenant())) as stranger:
        hidden = refusal(await stranger.call_tool("delete_recurring", {"recurring_id": stranger_id}))

    assert [t["date"] for t in first["transactions"]] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    assert first["account_balances"] == {str(account): "460.04"}
    assert again["posted"] == 0
    assert ahead["items"][0]["overdue"] == (dt.date.fromisoformat(ahead["items"][0]["due_date"]) < TODAY)
    assert listed["recurring"][0]["next_due"] == "2026-05-31"
    assert found["series"] == []  # four payments, long over: not a running series
    assert (changed["merchant"], changed["amount"]) == (None, "-10.99")
    assert "list_recurring" in hidden
