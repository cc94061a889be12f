"""Two households never see or touch each other's rows, by any tool or resource, even with guessed ids.

Another household's id must read exactly like an id that does not exist: same message, only the number
differs. And the other household's data must be unchanged afterwards.
"""

from __future__ import annotations

import json

import pytest
from mcp import MCPError

from tests.e2e.helpers import MISSING_ID, call, fresh_sub, fresh_tenant, make_account, refusal, snapshot

pytestmark = pytest.mark.anyio


def shape(text: str, ident: int) -> str:
    return text.replace(str(ident), "<id>")


async def seed(client, *, opening: str = "1000", marker: str = "alice") -> tuple[int, int]:
    account_id = await make_account(client, "Joint", opening_balance=opening)
    made = await call(
        client,
        "create_transaction",
        account_id=account_id,
        amount="-50",
        date="2026-01-05",
        category="Rent",
        description=f"{marker} description",
        merchant=f"{marker} merchant",
        tags=[marker],
    )
    return account_id, made["transaction"]["id"]


async def resource_error(client, uri: str) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    assert caught.value.error.code == -32602
    return caught.value


def attempts(their_account: int, their_transaction: int, my_account: int, my_transaction: int):
    """(tool, arguments, the argument holding the foreign id) for every way to reach another household's row."""
    new = {"amount": "-1", "date": "2026-01-06", "category": "X"}
    return [
        ("get_account", {"account_id": their_account}, "account_id"),
        ("update_account", {"account_id": their_account, "name": "Mine now"}, "account_id"),
        ("delete_account", {"account_id": their_account}, "account_id"),
        ("create_transaction", {"account_id": their_account, **new}, "account_id"),
        ("create_transactions_batch", {"account_id": their_account, "transactions": [new, new]}, "account_id"),
        ("list_transactions", {"account_id": their_account}, "account_id"),
        ("get_transaction", {"transaction_id": their_transaction}, "transaction_id"),
        ("update_transaction", {"transaction_id": their_transaction, "amount": "-5000"}, "transaction_id"),
        ("update_transaction", {"transaction_id": their_transaction, "account_id": my_account}, "transaction_id"),
        ("update_transaction", {"transaction_id": their_transaction, "clear_fields": ["tags"]}, "transaction_id"),
        ("update_transaction", {"transaction_id": my_transaction, "account_id": their_account}, "account_id"),
        ("delete_transaction", {"transaction_id": their_transaction}, "transaction_id"),
    ]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_another_households_ids_read_exactly_like_missing_ids_and_change_nothing(server, connect, mode):
    alice_token = server.token(tenant=fresh_tenant(), role="OWNER")
    async with connect(alice_token, mode=mode) as alice:
        their_account, their_transaction = await seed(alice)
        alice_before = await snapshot(alice)

    async with connect(server.token(tenant=fresh_tenant(), role="OWNER"), mode=mode) as bob:
        my_account, my_transaction = await seed(bob, opening="10", marker="bobs")
        bob_before = await snapshot(bob)
        for tool, arguments, key in attempts(their_account, their_transaction, my_account, my_transaction):
            foreign = arguments[key]
            foreign_text = refusal(await bob.call_tool(tool, arguments))
            missing = arguments | {key: MISSING_ID}
            missing_text = refusal(await bob.call_tool(tool, missing))
            assert shape(foreign_text, foreign) == shape(missing_text, MISSING_ID), tool
            assert "not found" in foreign_text, tool

        for template, foreign in [
            ("finance://accounts/{}", their_account),
            ("finance://accounts/{}/transactions", their_account),
            ("finance://transactions/{}", their_transaction),
        ]:
            foreign_error = await resource_error(bob, template.format(foreign))
            missing_error = await resource_error(bob, template.format(MISSING_ID))
            assert shape(foreign_error.error.message, foreign) == shape(missing_error.error.message, MISSING_ID)

        assert await snapshot(bob) == bob_before

    async with connect(alice_token, mode=mode) as alice:
        assert await snapshot(alice) == alice_before
        assert alice_before["accounts"]["accounts"][0]["balance"] == "950.00"


async def test_a_household_lists_and_searches_only_its_own_rows(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as alice:
        their_account, their_transaction = await seed(alice, marker="alicesecret")
    async with connect(server.token(tenant=fresh_tenant())) as bob:
        my_account, my_transaction = await seed(bob, marker="bobsecret")
        accounts = await call(bob, "list_accounts")
        assert [a["id"] for a in accounts["accounts"]] == [my_account]
        assert accounts["total"] == 1
        everything = await call(bob, "list_transactions", limit=500)
        assert [t["id"] for t in everything["transactions"]] == [my_transaction]
        assert everything["total"] == 1
        for filters in [
            {"search": "alicesecret"},
            {"merchant": "alicesecret"},
            {"tags": ["alicesecret"]},
            {"category": "Rent", "min_amount": "-50", "max_amount": "-50"},
        ]:
            page = await call(bob, "list_transactions", **filters)
            assert their_transaction not in [t["id"] for t in page["transactions"]], filters
        listed = json.loads((await bob.read_resource("finance://accounts")).contents[0].text)
        assert [a["id"] for a in listed["accounts"]] == [my_account]
        assert their_account != my_account


async def test_the_same_user_id_in_two_tenants_gets_two_separate_households(server, connect):
    sub = fresh_sub()
    first_tenant, second_tenant = fresh_tenant(), fresh_tenant()
    async with connect(server.token(tenant=first_tenant, sub=sub)) as first:
        account_id, transaction_id = await seed(first)
        first_household = (await call(first, "whoami"))["household"]["id"]
    async with connect(server.token(tenant=second_tenant, sub=sub)) as second:
        assert (await call(second, "whoami"))["household"]["id"] != first_household
        assert (await call(second, "list_accounts"))["total"] == 0
        assert "not found" in refusal(await second.call_tool("get_account", {"account_id": account_id}))
        assert "not found" in refusal(await second.call_tool("delete_transaction", {"transaction_id": transaction_id}))
    async with connect(server.token(tenant=first_tenant, sub=sub)) as first:
        assert (await call(first, "get_transaction", transaction_id=transaction_id))["amount"] == "-50.00"


async def test_a_token_without_a_tenant_gets_a_personal_household_of_its_own(server, connect):
    sub = fresh_sub()
    async with connect(server.token(tenant=None, sub=sub, role=None, email="solo@example.com")) as solo:
        me = await call(solo, "whoami")
        assert me["role"] == "owner"
        account_id, _ = await seed(solo)
    async with connect(server.token(tenant=None, sub=sub, role=None)) as again:
        assert (await call(again, "whoami"))["household"]["id"] == me["household"]["id"]
        assert (await call(again, "get_account", account_id=account_id))["balance"] == "950.00"
    async with connect(server.token(tenant=None, sub=fresh_sub(), role=None)) as stranger:
        assert (await call(stranger, "list_accounts"))["total"] == 0
        assert "not found" in refusal(await stranger.call_tool("get_account", {"account_id": account_id}))
    async with connect(server.token(tenant=fresh_tenant(), sub=sub)) as same_person_in_a_tenant:
        assert (await call(same_person_in_a_tenant, "list_accounts"))["total"] == 0
