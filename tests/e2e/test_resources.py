"""The JSON resources (the README's Resources table), on both wires; a missing id reads as "not found" (-32602)."""

from __future__ import annotations

import json

import pytest
from mcp import MCPError

from tests.e2e.helpers import MISSING_ID, call, fresh_sub, fresh_tenant, make_account

pytestmark = pytest.mark.anyio

INVALID_PARAMS = -32602


async def read_json(client, uri: str):
    result = await client.read_resource(uri)
    (content,) = result.contents
    assert content.mime_type == "application/json"
    assert str(content.uri) == uri
    return json.loads(content.text)


async def refused(client, uri: str) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    assert caught.value.error.code == INVALID_PARAMS
    assert uri in caught.value.error.message
    return caught.value


async def test_the_resource_catalogue_lists_the_fixed_uris_and_templates(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
    assert {str(r.uri) for r in resources} == {
        "finance://me",
        "finance://accounts",
        "finance://reports/net-worth",
        "finance://changes/recent",
        "finance://overview",
    }
    assert {t.uri_template for t in templates} == {
        "finance://budgets/{year}-{month}",
        "finance://reports/monthly/{year}-{month}",
        "finance://accounts/{account_id}",
        "finance://accounts/{account_id}/transactions",
        "finance://transactions/{transaction_id}",
        *(f"finance://exports/{fmt}/{{query}}" for fmt in ("csv", "json", "ofx")),
    }
    exported = {"finance://exports/csv/{query}": "text/csv", "finance://exports/ofx/{query}": "application/x-ofx"}
    for item in [*resources, *templates]:
        assert item.mime_type == exported.get(getattr(item, "uri_template", ""), "application/json")
        assert item.description


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_resource_returns_the_households_data_as_json(server, connect, mode):
    tenant, sub = fresh_tenant(), fresh_sub()
    async with connect(server.token(tenant=tenant, sub=sub, role="ADMIN"), mode=mode) as client:
        account_id = await make_account(client, opening_balance="1000")
        other_id = await make_account(client, "Other", opening_balance="0")
        batch = await call(
            client,
            "create_transactions_batch",
            account_id=account_id,
            transactions=[
                {"amount": "-50", "date": "2026-01-01", "category": "Food", "tags": ["a"]},
                {"amount": "-30", "date": "2026-01-02", "category": "Bus"},
            ],
        )
        transaction_id = batch["transactions"][0]["id"]

        me = await read_json(client, "finance://me")
        assert me["user"]["auth_user_id"] == sub
        assert me["role"] == "admin"
        assert tenant in me["household"]["name"]
        assert me == await call(client, "whoami")

        accounts = await read_json(client, "finance://accounts")
        assert accounts["total"] == 2
        assert {a["id"]: a["balance"] for a in accounts["accounts"]} == {account_id: "920.00", other_id: "0.00"}

        account = await read_json(client, f"finance://accounts/{account_id}")
        assert account == await call(client, "get_account", account_id=account_id)
        assert account["balance"] == "920.00"
        assert account["opening_balance"] == "1000.00"

        recent = await read_json(client, f"finance://accounts/{account_id}/transactions")
        assert recent["total"] == 2
        assert [t["amount"] for t in recent["transactions"]] == ["-30.00", "-50.00"]
        assert (await read_json(client, f"finance://accounts/{other_id}/transactions"))["transactions"] == []

        transaction = await read_json(client, f"finance://transactions/{transaction_id}")
        assert transaction == await call(client, "get_transaction", transaction_id=transaction_id)
        assert transaction["amount"] == "-50.00"
        assert transaction["tags"] == ["a"]


async def test_the_account_transactions_resource_holds_the_latest_100(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        items = [{"amount": "-1", "date": f"2026-01-{day:02d}", "category": "C"} for day in range(1, 29)] * 4
        await call(client, "create_transactions_batch", account_id=account_id, transactions=items[:105] + items[:5])
        recent = await read_json(client, f"finance://accounts/{account_id}/transactions")
    assert recent["total"] == 110
    assert len(recent["transactions"]) == 100
    days = [t["date"] for t in recent["transactions"]]
    assert days == sorted(days, reverse=True)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_missing_id_in_a_resource_uri_is_not_found(server, connect, mode):
    async with connect(server.token(tenant=fresh_tenant()), mode=mode) as client:
        account_id = await make_account(client)
        for uri in [
            f"finance://accounts/{MISSING_ID}",
            f"finance://accounts/{MISSING_ID}/transactions",
            f"finance://transactions/{MISSING_ID}",
            f"finance://transactions/{account_id + 10**8}",
            "finance://accounts/0",
            "finance://accounts/-1",
            "finance://accounts/abc",
            "finance://accounts/99999999999999999999999",
            "finance://transactions/1.5",
        ]:
            error = await refused(client, uri)
            assert error.error.data == {"uri": uri}


async def test_a_deleted_account_and_its_transactions_disappear_from_the_resources(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        made = await call(
            client, "create_transaction", account_id=account_id, amount="-1", date="2026-01-01", category="C"
        )
        await call(client, "delete_account", account_id=account_id)
        await refused(client, f"finance://accounts/{account_id}")
        await refused(client, f"finance://accounts/{account_id}/transactions")
        await refused(client, f"finance://transactions/{made['transaction']['id']}")
        assert (await read_json(client, "finance://accounts"))["accounts"] == []


async def test_an_unknown_resource_uri_is_not_found(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        await refused(client, "finance://budgets")
        await refused(client, "file:///etc/passwd")
