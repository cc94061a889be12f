"""The v1 contract walked end to end by one owner, every result checked: what the deployment tests run
through PgBouncer, a replica and a failover to show the product still behaves as the README's Tools section
says there."""

from __future__ import annotations

from mcp import Client

from tests.e2e.helpers import call


async def walk_contract(client: Client, sub: str) -> None:
    """Every v1 tool once, with the balances they must leave; and the analytics read that follows."""
    me = await call(client, "whoami")
    assert me["user"]["auth_user_id"] == sub
    account_id = (
        await call(client, "create_account", name="Checking", account_type="checking", opening_balance="1000")
    )["id"]
    spent = await call(
        client, "create_transaction", account_id=account_id, amount="-50", date="2026-01-05", category="Food"
    )
    assert spent["account_balance"] == "950.00"
    transaction_id = spent["transaction"]["id"]
    changed = await call(client, "update_transaction", transaction_id=transaction_id, amount="-100")
    assert changed["account_balances"] == {str(account_id): "900.00"}
    assert (await call(client, "get_transaction", transaction_id=transaction_id))["amount"] == "-100.00"
    page = await call(client, "list_transactions", account_id=account_id)
    assert [t["id"] for t in page["transactions"]] == [transaction_id]
    summary = await call(client, "spending_summary", start_date="2026-01-01", end_date="2026-01-31")
    assert summary["totals"]["spending"] == "100.00"
    deleted = await call(client, "delete_transaction", transaction_id=transaction_id)
    assert deleted["account_balance"] == "1000.00"
    savings_id = (await call(client, "create_account", name="Savings", account_type="savings"))["id"]
    items = [
        {"amount": "100", "date": "2026-01-01", "category": "Salary"},
        {"amount": "-30.5", "date": "2026-01-02", "category": "Fees"},
    ]
    batch = await call(client, "create_transactions_batch", account_id=savings_id, transactions=items)
    assert batch["account_balance"] == "69.50"
    assert (await call(client, "update_account", account_id=savings_id, name="Rainy day"))["name"] == "Rainy day"
    assert (await call(client, "get_account", account_id=savings_id))["balance"] == "69.50"
    listed = await call(client, "list_accounts")
    assert {a["id"]: a["balance"] for a in listed["accounts"]} == {account_id: "1000.00", savings_id: "69.50"}
    gone = await call(client, "delete_account", account_id=savings_id)
    assert gone == {"deleted": True, "account_id": savings_id, "transactions_deleted": 2}
