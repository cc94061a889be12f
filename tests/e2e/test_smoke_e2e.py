import pytest

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_new_owner_records_spending_and_sees_the_balance(server, connect, mode):
    token = server.token(tenant=f"t{mode}{id(server)}")
    async with connect(token, mode=mode) as client:
        made = await client.call_tool(
            "create_account", {"name": "Checking", "account_type": "checking", "opening_balance": "1000"}
        )
        assert not made.is_error, made.content
        account_id = made.structured_content["id"]
        spent = await client.call_tool(
            "create_transaction", {"account_id": account_id, "amount": "-50", "date": "2026-01-05", "category": "Food"}
        )
        assert spent.structured_content["account_balance"] == "950.00"
        res = await client.read_resource(f"finance://accounts/{account_id}")
        assert '"950.00"' in res.contents[0].text
