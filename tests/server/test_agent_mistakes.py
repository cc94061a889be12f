"""What an assistant hears when it makes the mistakes assistants make: each refusal says what to write
instead, and the arguments it leaves to their defaults may be sent as null."""

from __future__ import annotations

import pytest
from mcp import MCPError

from tests.e2e.helpers import balance, call, fresh_tenant, make_account, refusal

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("amount", ["$12.50", "1,200.00", "12,50 €", "USD 10", "1 200.50"])
async def test_an_amount_with_a_currency_sign_or_separators_is_refused_with_how_to_write_it(server, connect, amount):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client, opening_balance="100")
        result = await client.call_tool(
            "create_transaction", {"account_id": account, "amount": amount, "date": "2026-12-01", "category": "x"}
        )
        text = refusal(result)
        after = await balance(client, account)

    assert "drop the currency symbol and the thousands separators" in text
    assert '"12.50"' in text
    assert after == "100.00"


@pytest.mark.parametrize("day", ["12/01/2026", "1 Dec 2026", "2026.12.01"])
async def test_a_date_in_another_layout_is_refused_with_the_layout_to_use(server, connect, day):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client)
        result = await client.call_tool(
            "create_transaction", {"account_id": account, "amount": "-1", "date": day, "category": "x"}
        )
        listed = await client.call_tool("list_transactions", {"start_date": day})

    for text in (refusal(result), refusal(listed)):
        assert "YYYY-MM-DD" in text
        assert "2026-12-01" in text


async def test_null_for_an_argument_with_a_default_means_the_default(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await call(
            client, "create_account", name="Cash", account_type="cash", currency=None, opening_balance=None
        )
        await call(client, "create_transaction", account_id=account["id"], amount="-5", date="2026-12-01", category="x")
        page = await call(client, "list_transactions", limit=None)
        summary = await call(
            client, "spending_summary", start_date="2026-12-01", end_date="2026-12-31", group_by=None,
            include_income=None, limit=None,
        )  # fmt: skip
        flow = await call(client, "cash_flow", start_date="2026-12-01", end_date="2026-12-31", interval=None)
        merchants = await call(client, "top_merchants", start_date="2026-12-01", end_date="2026-12-31", limit=None)

    assert (account["currency"], account["opening_balance"]) == ("USD", "0.00")
    assert page["total"] == 1
    assert (summary["group_by"], [group["name"] for group in summary["groups"]]) == ("category", ["x"])
    assert (flow["interval"], len(flow["periods"])) == ("month", 1)
    assert merchants["merchants"] == []


async def test_a_misspelt_argument_is_refused_with_the_name_it_was_probably_meant_to_be(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        result = await client.call_tool("list_transactions", {"catgory": "Food"})

    text = refusal(result)
    assert "catgory" in text
    assert "did you mean 'category'" in text


async def test_a_misspelt_tool_is_answered_with_the_tool_it_was_probably_meant_to_be(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        try:
            result = await client.call_tool("list_transaction", {})
        except MCPError as error:
            text = error.error.message
        else:
            text = refusal(result)

    assert "list_transaction" in text
    assert "Did you mean 'list_transactions'" in text
    assert "tools/list" in text


async def test_a_cursor_from_another_query_is_refused_instead_of_shifting_the_page(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client)
        rows = [
            {"amount": "-1", "date": f"2026-11-{day:02d}", "category": "Food" if day % 2 else "Rent"}
            for day in range(1, 21)
        ]
        await call(client, "create_transactions_batch", account_id=account, transactions=rows)
        first = await call(client, "list_transactions", category="Food", limit=3)
        elsewhere = await client.call_tool("list_transactions", {"category": "Rent", "cursor": first["next_cursor"]})
        resized = await call(client, "list_transactions", category="Food", limit=5, cursor=first["next_cursor"])

    text = refusal(elsewhere)
    assert "different query" in text
    assert "omit" in text
    assert [row["category"] for row in resized["transactions"]] == ["Food"] * 5
    assert not {row["id"] for row in resized["transactions"]} & {row["id"] for row in first["transactions"]}


async def test_a_misspelt_category_filter_says_so_and_names_the_closest_categories(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client)
        rows = [{"amount": "-1", "date": "2026-11-02", "category": name} for name in ("Groceries", "Gifts", "Rent")]
        await call(client, "create_transactions_batch", account_id=account, transactions=rows)
        misspelt = await call(client, "list_transactions", category="Grocries")
        other_case = await call(client, "list_transactions", category="groceries")
        empty_month = await call(client, "list_transactions", category="Rent", start_date="2026-12-01")
        trends = await call(client, "category_trends", categories=["Grocries", "Rent"], end_month="2026-11", months=2)
        right = await call(client, "category_trends", categories=["groceries"], end_month="2026-11", months=2)

    assert (misspelt["transactions"], misspelt["total"]) == ([], 0)
    assert "'Grocries'" in misspelt["note"]
    assert "closest existing are 'Groceries'" in misspelt["note"]
    assert "Rent" not in misspelt["note"]
    assert other_case["total"] == 1
    assert "note" not in other_case
    assert "note" not in empty_month  # a real category with nothing in the range is not a misspelling
    assert "closest existing are 'Groceries'" in trends["note"]
    assert "Rent" not in trends["note"]
    assert "note" not in right


async def test_limit_0_answers_how_many_match_without_the_rows(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client)
        rows = [{"amount": "-1", "date": "2026-11-02", "category": "Food"}] * 3
        await call(client, "create_transactions_batch", account_id=account, transactions=rows)
        counted = await call(client, "list_transactions", account_id=account, limit=0)
        filtered = await call(client, "list_transactions", category="food", limit=0)

    assert counted == {"transactions": [], "total": 3, "next_cursor": None}
    assert filtered == {"transactions": [], "total": 3, "next_cursor": None}
