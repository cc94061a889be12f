"""create_transfer and split_transaction through a real MCP client, on SQLite and PostgreSQL: results on the
wire, refusals as isError text that says what to do, another household's ids "not found", and undo_change."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import balance, call, fresh_tenant, make_account, refusal

pytestmark = pytest.mark.anyio


async def test_a_transfer_and_a_split_through_the_tools_and_their_undo(server, connect) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as client:
        checking = await make_account(client, "Checking", "1000")
        savings = await make_account(client, "Savings", "0", account_type="savings")

        made = await call(
            client, "create_transfer", from_account_id=checking, to_account_id=savings, amount="250", date="2026-01-02"
        )
        assert made["from_transaction"]["amount"] == "-250.00"
        assert made["to_transaction"]["amount"] == "250.00"
        assert made["to_transaction"]["transfer_id"] == made["transfer_id"]
        assert made["account_balances"] == {str(checking): "750.00", str(savings): "250.00"}

        receipt = await call(
            client, "create_transaction", account_id=checking, amount="-100", date="2026-01-03", category="Shop"
        )
        receipt_id = receipt["transaction"]["id"]
        split = await call(
            client,
            "split_transaction",
            transaction_id=receipt_id,
            parts=[{"amount": "-60", "category": "Groceries"}, {"amount": "-40.00", "category": "Household"}],
        )
        assert [(p["amount"], p["category"]) for p in split["transaction"]["splits"]] == [
            ("-60.00", "Groceries"),
            ("-40.00", "Household"),
        ]
        summary = await call(
            client, "spending_summary", start_date="2026-01-01", end_date="2026-01-31", group_by="category"
        )
        assert [(g["name"], g["spending"]) for g in summary["groups"]] == [
            ("Groceries", "60.00"),
            ("Household", "40.00"),
        ]

        off = refusal(
            await client.call_tool(
                "split_transaction",
                {
                    "transaction_id": receipt_id,
                    "parts": [{"amount": "-60", "category": "A"}, {"amount": "-40.01", "category": "B"}],
                },
            )
        )
        assert "off by 0.01" in off
        same = refusal(
            await client.call_tool(
                "create_transfer",
                {"from_account_id": checking, "to_account_id": checking, "amount": "1", "date": "2026-01-02"},
            )
        )
        assert "the same account" in same

        changes = await call(client, "list_changes", limit=5)
        transfer_change = next(c for c in changes["changes"] if c["tool"] == "create_transfer")
        split_change = next(c for c in changes["changes"] if c["tool"] == "split_transaction")
        await call(client, "undo_change", change_id=split_change["id"])
        fetched = await call(client, "get_transaction", transaction_id=receipt_id)
        assert fetched["splits"] == []
        await call(client, "undo_change", change_id=transfer_change["id"])
        assert await balance(client, checking) == "900.00"
        assert await balance(client, savings) == "0.00"


async def test_another_households_accounts_and_transactions_read_not_found(server, connect) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as theirs:
        their_account = await make_account(theirs, "Theirs", "100")
        their_row = await call(
            theirs, "create_transaction", account_id=their_account, amount="-10", date="2026-01-02", category="X"
        )
    async with connect(server.token(tenant=fresh_tenant())) as mine:
        my_account = await make_account(mine, "Mine", "100")
        moved = refusal(
            await mine.call_tool(
                "create_transfer",
                {"from_account_id": my_account, "to_account_id": their_account, "amount": "5", "date": "2026-01-02"},
            )
        )
        split = refusal(
            await mine.call_tool(
                "split_transaction",
                {
                    "transaction_id": their_row["transaction"]["id"],
                    "parts": [{"amount": "-5", "category": "A"}, {"amount": "-5", "category": "B"}],
                },
            )
        )
        assert f"Account {their_account} was not found in your household" in moved
        assert "was not found in your household" in split
        assert await balance(mine, my_account) == "100.00"
