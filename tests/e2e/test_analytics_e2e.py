"""The analytics tools, report resources and prompts through the real server, on SQLite and PostgreSQL.

One small household with known numbers (a leap day, a transfer between its own accounts, a negative
opening balance, a next-month row), and a second household that must never see or change any of it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from mcp import MCPError

from tests.e2e.helpers import MISSING_ID, MONEY, call, fresh_tenant, make_account, refusal

pytestmark = pytest.mark.anyio

ANALYTICS_TOOLS = {"spending_summary", "cash_flow", "net_worth", "top_merchants", "category_trends"}
PROMPTS = {"monthly_review", "categorize_uncategorized", "spending_alert"}
FEBRUARY = {"start_date": "2024-02-01", "end_date": "2024-02-29"}
INVALID_PARAMS = -32602


async def seed(client) -> dict[str, int]:
    """Checking 1000 and a card at -200; February 2024 spends 1345.50 and earns 3000, transfers aside."""
    checking = await make_account(client, "Checking", opening_balance="1000")
    card = await make_account(client, "Card", opening_balance="-200", account_type="credit_card")
    rows = [
        {"amount": "3000", "date": "2024-02-01", "category": "Salary", "merchant": "Employer"},
        {"amount": "-1200", "date": "2024-02-01", "category": "Rent", "merchant": "Landlord", "der_category": "Home"},
        {"amount": "-20", "date": "2024-02-10", "category": "Food", "merchant": "shop", "tags": ["weekly"]},
        {"amount": "-80", "date": "2024-02-29", "category": "food", "merchant": "Shop"},
        {"amount": "-500", "date": "2024-02-15", "category": "Transfer", "description": "card payment"},
        {"amount": "-99", "date": "2024-03-01", "category": "Food", "merchant": "Shop"},
    ]
    await call(client, "create_transactions_batch", account_id=checking, transactions=rows)
    card_rows = [
        {"amount": "500", "date": "2024-02-15", "category": "TRANSFER"},
        {"amount": "-45.50", "date": "2024-02-20", "category": "Fun", "merchant": "Cinema"},
    ]
    await call(client, "create_transactions_batch", account_id=card, transactions=card_rows)
    return {"checking": checking, "card": card}


def groups(summary: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(g["name"], g["spending"], g["count"], g["share_percent"]) for g in summary["groups"]]


async def read_json(client, uri: str) -> dict[str, Any]:
    (content,) = (await client.read_resource(uri)).contents
    assert content.mime_type == "application/json"
    return json.loads(content.text)


async def prompt_text(client, name: str, **arguments: str) -> str:
    result = await client.get_prompt(name, arguments)
    (message,) = result.messages
    assert message.role == "user"
    return message.content.text


# ---- the catalogue ------------------------------------------------------------------------------


async def test_the_analytics_tools_are_read_only_with_output_schemas_and_money_as_strings(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        prompts = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}

    assert set(tools) >= ANALYTICS_TOOLS
    for name in ANALYTICS_TOOLS:
        tool = tools[name]
        assert tool.annotations is not None, name
        assert tool.annotations.read_only_hint is True, name
        assert tool.annotations.destructive_hint is False, name
        assert "transfer" in (tool.description or "").lower(), name
        assert tool.output_schema, name
        assert tool.output_schema["type"] == "object", name
    totals = tools["spending_summary"].output_schema["$defs"]["Totals"]["properties"]
    assert totals["spending"]["type"] == "string"
    assert set(tools["spending_summary"].input_schema["required"]) == {"start_date", "end_date"}
    assert tools["spending_summary"].input_schema["properties"]["group_by"]["enum"] == [
        "category", "der_category", "merchant", "account", "tag", "month",
    ]  # fmt: skip
    assert set(prompts) >= PROMPTS
    assert [a.name for a in prompts["spending_alert"].arguments] == ["category", "limit_amount"]
    assert "finance://reports/net-worth" in resources
    assert "finance://reports/monthly/{year}-{month}" in templates


# ---- the numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_analytics_tool_gives_the_households_exact_numbers(server, connect, mode):
    async with connect(server.token(tenant=fresh_tenant()), mode=mode) as client:
        ids = await seed(client)

        by_category = await call(client, "spending_summary", **FEBRUARY, group_by="category")
        by_account = await call(client, "spending_summary", **FEBRUARY, group_by="account", include_income=True)
        flow = await call(client, "cash_flow", start_date="2024-02-01", end_date="2024-03-31", interval="month")
        worth = await call(client, "net_worth", as_of="2024-02-29", interval="month", periods=2)
        merchants = await call(client, "top_merchants", **FEBRUARY, limit=2)
        trends = await call(client, "category_trends", categories=["FOOD"], months=2, end_month="2024-03")

    assert by_category["totals"] == {"spending": "1345.50", "income": "0.00", "net": "-1345.50", "count": 4}
    assert groups(by_category) == [
        ("Rent", "1200.00", 1, "89.19"), ("Food", "100.00", 2, "7.43"), ("Fun", "45.50", 1, "3.38"),
    ]  # fmt: skip
    assert by_category["period"] == {**FEBRUARY, "days": 29}
    assert by_category["filters"]["transfers_excluded"] is True
    assert [(g["account_id"], g["net"]) for g in by_account["groups"]] == [
        (ids["checking"], "1700.00"), (ids["card"], "-45.50"),
    ]  # fmt: skip
    assert [(p["label"], p["income"], p["expenses"], p["net"], p["count"]) for p in flow["periods"]] == [
        ("2024-02", "3000.00", "1345.50", "1654.50", 5),
        ("2024-03", "0.00", "99.00", "-99.00", 1),
    ]
    assert {a["name"]: a["balance"] for a in worth["accounts"]} == {"Checking": "2200.00", "Card": "254.50"}
    assert worth["total"] == "2454.50"
    assert [(p["end_date"], p["total"]) for p in worth["history"]] == [
        ("2024-01-31", "800.00"),
        ("2024-02-29", "2454.50"),
    ]
    assert [(m["merchant"], m["spending"], m["count"]) for m in merchants["merchants"]] == [
        ("Landlord", "1200.00", 1), ("Shop", "100.00", 2),
    ]  # fmt: skip
    assert (merchants["merchant_count"], merchants["unattributed_spending"]) == (3, "0.00")
    (food,) = trends["categories"]
    assert food["category"] == "Food"
    assert [(p["month"], p["spending"], p["change"], p["change_percent"]) for p in food["months"]] == [
        ("2024-02", "100.00", "100.00", None), ("2024-03", "99.00", "-1.00", "-1.00"),
    ]  # fmt: skip
    assert all(MONEY.match(p["net"]) for p in flow["periods"])


async def test_a_bad_range_or_unknown_account_is_an_error_that_says_what_to_do(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        backwards = refusal(await client.call_tool("cash_flow", {"start_date": "2024-03-01", "end_date": "2024-02-01"}))
        too_long = refusal(
            await client.call_tool("spending_summary", {"start_date": "2000-01-01", "end_date": "2024-01-01"})
        )
        unknown = refusal(await client.call_tool("top_merchants", {**FEBRUARY, "account_ids": [MISSING_ID]}))
        bad_group = refusal(await client.call_tool("spending_summary", {**FEBRUARY, "group_by": "colour"}))

    assert "swap them" in backwards
    assert "at most 3660" in too_long
    assert f"Account {MISSING_ID} was not found" in unknown
    assert "list_accounts" in unknown
    assert "group_by" in bad_group


# ---- resources and prompts ----------------------------------------------------------------------------


async def test_the_report_resources_summarise_a_month_and_the_net_worth(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        await seed(client)
        month = await read_json(client, "finance://reports/monthly/2024-02")
        worth = await read_json(client, "finance://reports/net-worth")
        with pytest.raises(MCPError) as refused:
            await client.read_resource("finance://reports/monthly/2024-13")

    assert month["month"] == "2024-02"
    assert month["totals"] == {"spending": "1345.50", "income": "3000.00", "net": "1654.50", "count": 5}
    assert [c["name"] for c in month["top_categories"]] == ["Rent", "Food", "Fun"]
    assert [m["merchant"] for m in month["top_merchants"]] == ["Landlord", "Shop", "Cinema"]
    assert worth["total"] == "2355.50"  # every row is in the past, the March one included
    assert len(worth["history"]) == 12
    assert worth["history"][-1]["total"] == "2355.50"
    assert refused.value.error.code == INVALID_PARAMS
    assert "YYYY-MM" in refused.value.error.message


async def test_the_prompts_start_from_the_households_own_numbers(server, connect):
    today = dt.datetime.now(dt.UTC).date()
    async with connect(server.token(tenant=fresh_tenant())) as client:
        ids = await seed(client)
        dining = {"amount": "-60", "date": today.isoformat(), "category": "Dining", "merchant": "Bistro"}
        await call(client, "create_transaction", account_id=ids["checking"], **dining)
        newest = (await call(client, "list_transactions", limit=3))["transactions"]

        review = await prompt_text(client, "monthly_review", month="2024-02")
        categorize = await prompt_text(client, "categorize_uncategorized", limit="2")
        alert = await prompt_text(client, "spending_alert", category="dining", limit_amount="50")
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("spending_alert", {"category": "Dining", "limit_amount": "lots"})

    assert "2024-02" in review
    assert '"spending": "1345.50"' in review
    assert "cash_flow" in review
    assert "8 of my transactions have no derived category" in categorize
    assert "update_transaction" in categorize
    assert "Home" in categorize
    shown = {row["id"] for row in json.loads(categorize.split("```json")[1].split("```")[0])}
    assert shown == {t["id"] for t in newest[:2]}
    assert '"spent": "60.00"' in alert
    assert '"over_limit": true' in alert
    assert refused.value.error.code == INVALID_PARAMS
    assert "limit_amount" in refused.value.error.message


# ---- isolation --------------------------------------------------------------------------------------


async def test_another_household_never_enters_a_total_nor_reaches_an_account(server, connect):
    alice_token = server.token(tenant=fresh_tenant())
    async with connect(alice_token) as alice:
        ids = await seed(alice)
        before = await call(alice, "spending_summary", **FEBRUARY, group_by="merchant", include_income=True)

    async with connect(server.token(tenant=fresh_tenant())) as bob:
        await make_account(bob, "Bob's", opening_balance="5")
        summary = await call(bob, "spending_summary", **FEBRUARY, group_by="category", include_income=True)
        flow = await call(bob, "cash_flow", **FEBRUARY, interval="week")
        worth = await call(bob, "net_worth", as_of="2024-02-29", periods=3)
        merchants = await call(bob, "top_merchants", **FEBRUARY)
        trends = await call(bob, "category_trends", months=3, end_month="2024-03")
        month = await read_json(bob, "finance://reports/monthly/2024-02")
        categorize = await prompt_text(bob, "categorize_uncategorized")
        foreign = refusal(await bob.call_tool("spending_summary", {**FEBRUARY, "account_ids": [ids["checking"]]}))
        missing = refusal(await bob.call_tool("spending_summary", {**FEBRUARY, "account_ids": [MISSING_ID]}))

    assert summary["groups"] == []
    assert summary["totals"]["count"] == 0
    assert {p["count"] for p in flow["periods"]} == {0}
    assert [a["name"] for a in worth["accounts"]] == ["Bob's"]
    assert worth["total"] == "5.00"
    assert {p["total"] for p in worth["history"]} == {"5.00"}
    assert merchants["merchants"] == []
    assert trends["categories"] == []
    assert month["totals"]["count"] == 0
    assert month["top_categories"] == []
    assert "already has a derived category" in categorize
    assert foreign.replace(str(ids["checking"]), "<id>") == missing.replace(str(MISSING_ID), "<id>")

    async with connect(alice_token) as alice:
        after = await call(alice, "spending_summary", **FEBRUARY, group_by="merchant", include_income=True)
    assert after == before
    assert before["totals"]["income"] == "3000.00"
