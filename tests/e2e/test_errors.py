"""Failed calls are `isError` results that say what was wrong and what to do next, and change nothing.

No message may carry SQL, a traceback or a driver's name (`helpers.refusal` checks every one).
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import MISSING_ID, balance, call, fresh_tenant, make_account, refusal, snapshot

pytestmark = pytest.mark.anyio

NEXT_STEP = "call it again"


def transaction(**fields) -> dict:
    return {"amount": "-1", "date": "2026-06-01", "category": "Food"} | fields


@pytest.mark.parametrize(
    ("fields", "named", "problem"),
    [
        ({"amount": "1.234"}, "amount", "2 decimal places"),
        ({"amount": "NaN"}, "amount", "finite"),
        ({"amount": "Infinity"}, "amount", "finite"),
        ({"amount": "-inf"}, "amount", "finite"),
        ({"amount": "ten"}, "amount", "decimal"),
        ({"amount": "10000000000000"}, "amount", "digits"),
        ({"amount": 0.001}, "amount", "2 decimal places"),
        ({"category": ""}, "category", "at least 1 character"),
        ({"category": "   "}, "category", "at least 1 character"),
        ({"category": "c" * 101}, "category", "at most 100 characters"),
        ({"description": "d" * 1001}, "description", "at most 1000 characters"),
        ({"merchant": "m" * 256}, "merchant", "at most 255 characters"),
        ({"date": "2026-13-01"}, "date", "date"),
        ({"date": "yesterday"}, "date", "date"),
        ({"tags": ["ok", ""]}, "tags.1", "at least 1 character"),
    ],
)
async def test_a_bad_transaction_argument_is_named_with_the_problem_and_the_next_step(
    server, connect, fields, named, problem
):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="1000")
        text = refusal(
            await client.call_tool("create_transaction", {"account_id": account_id, **transaction(**fields)})
        )
        assert text.startswith("Error executing tool create_transaction: Invalid input, nothing was changed.")
        assert named in text
        assert problem in text
        assert NEXT_STEP in text
        assert "pydantic" not in text
        assert "Arguments" not in text
        assert await balance(client, account_id) == "1000.00"
        assert (await call(client, "list_transactions"))["total"] == 0


async def test_a_huge_input_is_not_echoed_back_in_the_error(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        text = refusal(
            await client.call_tool(
                "create_transaction", {"account_id": account_id, **transaction(description="x" * 5000)}
            )
        )
    assert "xxxxxxxxxx" not in text
    assert len(text) < 500


@pytest.mark.parametrize(
    ("arguments", "named", "problem"),
    [
        ({"name": "", "account_type": "checking"}, "name", "at least 1 character"),
        ({"name": "A", "account_type": "bank"}, "account_type", "'checking'"),
        ({"name": "A", "account_type": "checking", "currency": "EURO"}, "currency", "pattern"),
        ({"name": "A", "account_type": "checking", "opening_balance": "1.234"}, "opening_balance", "2 decimal places"),
        ({"name": "A", "account_type": "checking", "opening_balance": "NaN"}, "opening_balance", "finite"),
        ({"account_type": "checking"}, "name", "required"),
    ],
)
async def test_a_bad_account_argument_is_named_with_the_problem_and_the_next_step(
    server, connect, arguments, named, problem
):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        text = refusal(await client.call_tool("create_account", arguments))
        assert named in text
        assert problem in text
        assert NEXT_STEP in text
        assert (await call(client, "list_accounts"))["total"] == 0


async def test_an_unknown_account_says_so_and_points_to_list_accounts(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        for tool, arguments in [
            ("create_transaction", {"account_id": MISSING_ID, **transaction()}),
            ("create_transactions_batch", {"account_id": MISSING_ID, "transactions": [transaction()]}),
            ("get_account", {"account_id": MISSING_ID}),
            ("update_account", {"account_id": MISSING_ID, "name": "New"}),
            ("delete_account", {"account_id": MISSING_ID}),
            ("list_transactions", {"account_id": MISSING_ID}),
        ]:
            text = refusal(await client.call_tool(tool, arguments))
            assert f"Account {MISSING_ID} was not found in your household" in text, tool
            assert "call list_accounts" in text, tool


async def test_an_unknown_transaction_says_so_and_points_to_list_transactions(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        for tool, arguments in [
            ("get_transaction", {"transaction_id": MISSING_ID}),
            ("update_transaction", {"transaction_id": MISSING_ID, "amount": "1"}),
            ("delete_transaction", {"transaction_id": MISSING_ID}),
        ]:
            text = refusal(await client.call_tool(tool, arguments))
            assert f"Transaction {MISSING_ID} was not found in your household" in text, tool
            assert "call list_transactions" in text, tool


async def test_moving_a_transaction_to_an_unknown_account_changes_nothing(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="1000")
        made = await call(client, "create_transaction", account_id=account_id, **transaction(amount="-50"))
        before = await snapshot(client)
        text = refusal(
            await client.call_tool(
                "update_transaction", {"transaction_id": made["transaction"]["id"], "account_id": MISSING_ID}
            )
        )
        assert f"Account {MISSING_ID} was not found" in text
        assert await snapshot(client) == before


@pytest.mark.parametrize("huge", [2**63, 10**30])
async def test_an_id_too_large_for_any_row_reads_as_not_found_not_as_a_crash(server, connect, huge):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        for tool, arguments in [
            ("get_account", {"account_id": huge}),
            ("get_transaction", {"transaction_id": huge}),
            ("delete_transaction", {"transaction_id": huge}),
        ]:
            text = refusal(await client.call_tool(tool, arguments))
            assert f"{huge} was not found in your household" in text, (tool, text)


async def test_an_update_with_nothing_to_change_says_how_to_change_something(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        made = await call(client, "create_transaction", account_id=account_id, **transaction())
        text = refusal(await client.call_tool("update_transaction", {"transaction_id": made["transaction"]["id"]}))
    assert "Nothing to change" in text
    assert "clear_fields" in text


async def test_a_balance_beyond_the_supported_size_is_refused_and_nothing_changes(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="9999999999999.99")
        text = refusal(
            await client.call_tool("create_transaction", {"account_id": account_id, **transaction(amount="0.01")})
        )
        assert "beyond the supported size" in text
        assert "nothing was changed" in text
        assert await balance(client, account_id) == "9999999999999.99"
        assert (await call(client, "list_transactions"))["total"] == 0


async def test_an_unknown_tool_is_an_error_result(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        text = refusal(await client.call_tool("transfer_all_money", {}))
    assert "Unknown tool" in text
