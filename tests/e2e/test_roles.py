"""What each role (and each narrowing scope) may do; every refusal names the role or scope and changes nothing."""

from __future__ import annotations

import json

import httpx2
import pytest

from tests.e2e.helpers import bearer, call, fresh_tenant, make_account, post_tool_call, refusal, snapshot

pytestmark = pytest.mark.anyio

NEW = {"amount": "-1", "date": "2026-07-01", "category": "X"}


async def household(connect, server, tenant: str) -> tuple[int, int]:
    """An owner sets up an account of 1000 with one -50 transaction."""
    async with connect(server.token(tenant=tenant, role="OWNER")) as owner:
        account_id = await make_account(owner, opening_balance="1000")
        made = await call(
            owner, "create_transaction", account_id=account_id, amount="-50", date="2026-07-01", category="Food"
        )
    return account_id, made["transaction"]["id"]


def writes(account_id: int, transaction_id: int) -> list[tuple[str, dict]]:
    return [
        ("create_account", {"name": "New", "account_type": "cash"}),
        ("update_account", {"account_id": account_id, "name": "Renamed"}),
        ("delete_account", {"account_id": account_id}),
        ("create_transaction", {"account_id": account_id, **NEW}),
        ("create_transactions_batch", {"account_id": account_id, "transactions": [NEW]}),
        ("update_transaction", {"transaction_id": transaction_id, "amount": "-500"}),
        ("update_transaction", {"transaction_id": transaction_id, "clear_fields": ["merchant"]}),
        ("delete_transaction", {"transaction_id": transaction_id}),
    ]


async def owners_view(connect, server, tenant: str) -> dict:
    async with connect(server.token(tenant=tenant, role="OWNER")) as owner:
        return await snapshot(owner)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_viewer_can_read_but_cannot_create_update_or_delete_anything(server, connect, mode):
    tenant = fresh_tenant()
    account_id, transaction_id = await household(connect, server, tenant)
    before = await owners_view(connect, server, tenant)
    async with connect(server.token(tenant=tenant, role="VIEWER"), mode=mode) as viewer:
        for tool, arguments in writes(account_id, transaction_id):
            text = refusal(await viewer.call_tool(tool, arguments))
            assert "Your role (viewer) does not allow" in text, tool
            assert "ask a household owner or admin" in text, tool

        me = await call(viewer, "whoami")
        assert me["role"] == "viewer"
        assert me["permissions"] == ["read"]
        assert (await call(viewer, "list_accounts"))["total"] == 1
        assert (await call(viewer, "get_account", account_id=account_id))["balance"] == "950.00"
        assert (await call(viewer, "list_transactions"))["total"] == 1
        assert (await call(viewer, "get_transaction", transaction_id=transaction_id))["amount"] == "-50.00"
        shown = json.loads((await viewer.read_resource(f"finance://accounts/{account_id}")).contents[0].text)
        assert shown["balance"] == "950.00"
    assert await owners_view(connect, server, tenant) == before


async def test_a_member_cannot_delete_an_account_but_can_do_everything_else(server, connect):
    tenant = fresh_tenant()
    account_id, transaction_id = await household(connect, server, tenant)
    async with connect(server.token(tenant=tenant, role="MEMBER")) as member:
        text = refusal(await member.call_tool("delete_account", {"account_id": account_id}))
        assert "Your role (member) does not allow deleting accounts" in text
        assert (await call(member, "get_account", account_id=account_id))["balance"] == "950.00"

        second = await make_account(member, "Member's", opening_balance="0")
        await call(member, "update_account", account_id=second, account_type="cash")
        made = await call(member, "create_transaction", account_id=account_id, **NEW)
        await call(member, "create_transactions_batch", account_id=second, transactions=[NEW, NEW])
        moved = await call(member, "update_transaction", transaction_id=transaction_id, account_id=second)
        assert moved["account_balances"] == {str(account_id): "999.00", str(second): "-52.00"}
        await call(member, "delete_transaction", transaction_id=made["transaction"]["id"])
        assert (await call(member, "get_account", account_id=account_id))["balance"] == "1000.00"


@pytest.mark.parametrize("role", ["ADMIN", "OWNER"])
async def test_an_admin_or_owner_can_delete_an_account(server, connect, role):
    tenant = fresh_tenant()
    account_id, _ = await household(connect, server, tenant)
    async with connect(server.token(tenant=tenant, role=role)) as admin:
        gone = await call(admin, "delete_account", account_id=account_id)
        assert gone == {"deleted": True, "account_id": account_id, "transactions_deleted": 1}
        assert (await call(admin, "list_accounts"))["total"] == 0


async def test_a_token_scoped_to_finance_read_cannot_write_even_as_owner(server, connect):
    tenant = fresh_tenant()
    account_id, transaction_id = await household(connect, server, tenant)
    before = await owners_view(connect, server, tenant)
    async with connect(server.token(tenant=tenant, role="OWNER", scopes=["finance:read"])) as reader:
        for tool, arguments in writes(account_id, transaction_id):
            text = refusal(await reader.call_tool(tool, arguments))
            assert "lacks the finance:" in text, tool
            assert "scope" in text, tool
            assert "sign in again" in text, tool
        me = await call(reader, "whoami")
        assert me["scopes"] == ["finance:read"]
        assert me["permissions"] == ["read"]
        assert (await call(reader, "list_transactions"))["total"] == 1
    assert await owners_view(connect, server, tenant) == before


async def test_a_write_scope_allows_writes_but_not_deleting_accounts(server, connect):
    tenant = fresh_tenant()
    account_id, _ = await household(connect, server, tenant)
    token = server.token(tenant=tenant, role="OWNER", scopes=["finance:read", "finance:write"])
    async with connect(token) as writer:
        await call(writer, "create_transaction", account_id=account_id, **NEW)
        text = refusal(await writer.call_tool("delete_account", {"account_id": account_id}))
        assert "finance:admin" in text
        assert (await call(writer, "get_account", account_id=account_id))["balance"] == "949.00"


async def test_an_oauth_scope_string_narrows_like_the_scopes_list(server, connect):
    tenant = fresh_tenant()
    account_id, _ = await household(connect, server, tenant)
    async with connect(server.token(tenant=tenant, role="ADMIN", extra={"scope": "openid finance:read"})) as reader:
        assert "finance:write" in refusal(
            await reader.call_tool("create_transaction", {"account_id": account_id, **NEW})
        )
        assert (await call(reader, "get_account", account_id=account_id))["balance"] == "950.00"


async def test_scopes_never_widen_a_role(server, connect):
    tenant = fresh_tenant()
    account_id, _ = await household(connect, server, tenant)
    scopes = ["finance:read", "finance:write", "finance:admin"]
    async with connect(server.token(tenant=tenant, role="VIEWER", scopes=scopes)) as viewer:
        assert "viewer" in refusal(await viewer.call_tool("create_transaction", {"account_id": account_id, **NEW}))
    async with connect(server.token(tenant=tenant, role="MEMBER", scopes=scopes)) as member:
        assert "member" in refusal(await member.call_tool("delete_account", {"account_id": account_id}))


async def test_scopes_outside_finance_do_not_narrow_anything(server, connect):
    tenant = fresh_tenant()
    account_id, _ = await household(connect, server, tenant)
    async with connect(server.token(tenant=tenant, role="ADMIN", scopes=["openid", "profile"])) as admin:
        assert (await call(admin, "whoami"))["permissions"] == ["admin", "read", "write"]
        await call(admin, "delete_account", account_id=account_id)


async def test_roles_are_read_in_any_case(server, connect):
    tenant = fresh_tenant()
    account_id, _ = await household(connect, server, tenant)
    async with connect(server.token(tenant=tenant, extra={"role": "Viewer"})) as viewer:
        assert (await call(viewer, "whoami"))["role"] == "viewer"
        assert "viewer" in refusal(await viewer.call_tool("create_transaction", {"account_id": account_id, **NEW}))
    async with connect(server.token(tenant=tenant, extra={"role": "admin"})) as admin:
        assert (await call(admin, "whoami"))["role"] == "admin"


async def test_a_token_without_a_role_is_a_member_of_its_tenant(server, connect):
    tenant = fresh_tenant()
    account_id, _ = await household(connect, server, tenant)
    async with connect(server.token(tenant=tenant, role=None)) as member:
        assert (await call(member, "whoami"))["role"] == "member"
        await call(member, "create_transaction", account_id=account_id, **NEW)
        assert "member" in refusal(await member.call_tool("delete_account", {"account_id": account_id}))


async def test_an_unknown_role_is_refused_with_the_valid_roles_named(server, connect):
    """A role outside the four is a malformed claim: 401 at the door (issue 11 item 8), nothing written."""
    tenant = fresh_tenant()
    account_id, _ = await household(connect, server, tenant)
    before = await owners_view(connect, server, tenant)
    stranger = server.token(tenant=tenant, extra={"role": "SUPERUSER"})
    async with httpx2.AsyncClient() as http:
        for tool, arguments in [("whoami", {}), ("delete_account", {"account_id": account_id})]:
            response = await post_tool_call(http, server.mcp_url, tool, arguments, bearer(stranger))
            assert response.status_code == 401
            assert "OWNER, ADMIN, MEMBER or VIEWER" in response.json()["error_description"]
    assert await owners_view(connect, server, tenant) == before


async def test_a_role_change_takes_effect_with_the_next_token(server, connect):
    """Roles are read per request from the token, never cached from an earlier call."""
    tenant = fresh_tenant()
    account_id, _ = await household(connect, server, tenant)
    sub = "7001"
    async with connect(server.token(tenant=tenant, sub=sub, role="ADMIN")) as admin:
        assert (await call(admin, "whoami"))["role"] == "admin"
    async with connect(server.token(tenant=tenant, sub=sub, role="VIEWER")) as demoted:
        assert "viewer" in refusal(await demoted.call_tool("delete_account", {"account_id": account_id}))
