"""API keys over real HTTP: made with the tool or the CLI (which signs in at MCP_Auth), used as a bearer
header, listed without their secret, scope-limited, and refused the moment they are revoked."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx2
import pytest

from tests.e2e.helpers import bearer, call, fresh_tenant, jsonrpc_message, post_tool_call, refusal
from tests.e2e.mcp_auth_stand_in import McpAuthStandIn
from tests.e2e.oauth_helpers import new_household, new_member
from tests.e2e.servers import SECRET, Connect, RunningServer

pytestmark = pytest.mark.anyio

KEY_TOOLS = {"create_api_key", "list_api_keys", "revoke_api_key"}


async def make_key(connect: Connect, token: str, *scopes: str, name: str = "Cursor") -> dict:
    async with connect(token) as client:
        return await call(client, "create_api_key", name=name, scopes=list(scopes or ["finance:read"]))


async def test_a_key_works_as_a_bearer_header_and_acts_as_its_creator(
    bridge_server: RunningServer, connect_bridge: Connect
) -> None:
    tenant = fresh_tenant()
    token = bridge_server.token(tenant=tenant, role="MEMBER", email="member@example.com")
    created = await make_key(connect_bridge, token, "finance:read", "finance:write")

    async with connect_bridge(created["key"]) as client:
        me = await call(client, "whoami")
        account = await call(client, "create_account", name="Groceries", account_type="cash")
        listed = await call(client, "list_accounts")

    assert created["key"].startswith("fmcp_")
    assert created["api_key"]["status"] == "active"
    assert "Authorization: Bearer" in created["usage"]
    assert me["role"] == "member"
    assert me["user"]["email"] == "member@example.com"
    assert me["scopes"] == ["finance:read", "finance:write"]
    assert me["household"]["name"] == f"Household {tenant}"
    assert listed["accounts"][0]["id"] == account["id"]


async def test_listing_keys_never_shows_a_secret_again(bridge_server: RunningServer, connect_bridge: Connect) -> None:
    token = bridge_server.token(tenant=fresh_tenant())
    created = await make_key(connect_bridge, token)

    async with connect_bridge(token) as client:
        listed = await call(client, "list_api_keys")

    assert listed["total"] == 1
    assert listed["api_keys"][0]["prefix"] == created["key"][:22] + "…"
    assert created["key"] not in str(listed)
    assert created["key"][22:] not in str(listed)


async def test_a_revoked_key_is_refused_with_401_at_once(bridge_server: RunningServer, connect_bridge: Connect) -> None:
    token = bridge_server.token(tenant=fresh_tenant())
    created = await make_key(connect_bridge, token)
    async with httpx2.AsyncClient() as http:
        before = await post_tool_call(http, bridge_server.mcp_url, "whoami", {}, bearer(created["key"]))
        async with connect_bridge(token) as client:
            revoked = await call(client, "revoke_api_key", key_id=created["api_key"]["id"])
        after = await post_tool_call(http, bridge_server.mcp_url, "whoami", {}, bearer(created["key"]))

    assert before.status_code == 200
    assert revoked["api_key"]["status"] == "revoked"
    assert after.status_code == 401
    assert "resource_metadata=" in after.headers["www-authenticate"]


async def test_a_read_only_key_can_read_but_not_write(bridge_server: RunningServer, connect_bridge: Connect) -> None:
    token = bridge_server.token(tenant=fresh_tenant())
    created = await make_key(connect_bridge, token, "finance:read")

    async with connect_bridge(created["key"]) as client:
        listed = await call(client, "list_accounts")
        refused = refusal(await client.call_tool("create_account", {"name": "No", "account_type": "cash"}))

    assert listed["total"] == 0
    assert "finance:write scope" in refused


async def test_a_key_cannot_be_made_beyond_the_creators_role(
    bridge_server: RunningServer, connect_bridge: Connect
) -> None:
    token = bridge_server.token(tenant=fresh_tenant(), role="MEMBER")

    async with connect_bridge(token) as client:
        refused = refusal(await client.call_tool("create_api_key", {"name": "Too much", "scopes": ["finance:admin"]}))
        listed = await call(client, "list_api_keys")

    assert "finance:admin is beyond your role (member)" in refused
    assert listed["total"] == 0


async def test_a_key_cannot_manage_keys(bridge_server: RunningServer, connect_bridge: Connect) -> None:
    token = bridge_server.token(tenant=fresh_tenant())
    created = await make_key(connect_bridge, token, "finance:read", "finance:write", "finance:admin")

    async with connect_bridge(created["key"]) as client:
        refusals = [
            refusal(await client.call_tool("create_api_key", {"name": "child", "scopes": ["finance:read"]})),
            refusal(await client.call_tool("list_api_keys", {})),
            refusal(await client.call_tool("revoke_api_key", {"key_id": created["api_key"]["id"]})),
        ]

    assert all("API keys cannot create, list or revoke API keys" in text for text in refusals)


async def test_another_households_key_cannot_be_revoked_and_reads_as_not_found(
    bridge_server: RunningServer, connect_bridge: Connect
) -> None:
    theirs = await make_key(connect_bridge, bridge_server.token(tenant=fresh_tenant()))

    async with connect_bridge(bridge_server.token(tenant=fresh_tenant())) as client:
        refused = refusal(await client.call_tool("revoke_api_key", {"key_id": theirs["api_key"]["id"]}))
    async with connect_bridge(theirs["key"]) as client:
        still_works = await call(client, "whoami")

    assert f"API key {theirs['api_key']['id']} was not found" in refused
    assert still_works["role"] == "owner"


@pytest.mark.parametrize(
    "mangled",
    ["fmcp_", "fmcp_0123456789abcdef_" + "A" * 43, "fmcp_nothex!!nothex!!_" + "A" * 43, "fmcp_" + "x" * 200],
)
async def test_unknown_or_mangled_keys_get_401(bridge_server: RunningServer, mangled: str) -> None:
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(http, bridge_server.mcp_url, "whoami", {}, bearer(mangled))

    assert response.status_code == 401


async def test_without_api_keys_the_tools_are_absent_and_keys_are_refused(
    server: RunningServer, connect: Connect
) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(http, server.mcp_url, "whoami", {}, bearer("fmcp_0123456789abcdef_" + "A" * 43))

    assert not names & KEY_TOOLS
    assert response.status_code == 401


# ---- the command line ----------------------------------------------------------------------------------


def run_cli(
    server: RunningServer, mcp_auth: McpAuthStandIn, *args: str, password: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **{
            k: v for k, v in os.environ.items() if k not in {"PUBLIC_URL", "HOST", "PORT", "JWT_AUDIENCE", "JWT_ISSUER"}
        },
        "DATABASE_URL": server.database_url,
        "SECRET_KEY": SECRET,
        "AUTH_SERVER_URL": mcp_auth.url,
    }
    command = [sys.executable, "-m", "finance_mcp", "api-key", "create", "--password-stdin", *args]
    return subprocess.run(
        command, input=password + "\n", env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_the_cli_signs_in_at_mcp_auth_and_prints_a_key_that_works(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn, connect_bridge: Connect
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    logins = mcp_auth.calls.count("/auth/login")

    done = run_cli(
        bridge_server,
        mcp_auth,
        "--tenant-email",
        member.tenant_email,
        "--username",
        member.username,
        "--name",
        "Zed on my laptop",
        "--scope",
        "finance:read",
        password=member.password,
    )

    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("fmcp_")
    assert "shown only once" in done.stderr
    async with connect_bridge(key) as client:
        me = await call(client, "whoami")
    assert me["user"]["auth_user_id"] == str(member.user.id)
    assert me["role"] == "member"
    assert me["scopes"] == ["finance:read"]
    assert mcp_auth.calls.count("/auth/login") == logins


async def test_the_cli_refuses_a_wrong_password_without_saying_which_part_was_wrong(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)

    done = run_cli(
        bridge_server,
        mcp_auth,
        *("--tenant-email", owner.tenant_email, "--username", owner.username, "--name", "x", "--scope", "finance:read"),
        password="wrong",
    )

    assert done.returncode != 0
    assert done.stdout == ""
    assert "sign-in failed: check the household email, username, password and one-time code" in done.stderr


async def test_a_key_used_on_the_wire_directly_is_a_plain_bearer_header(
    bridge_server: RunningServer, connect_bridge: Connect
) -> None:
    created = await make_key(connect_bridge, bridge_server.token(tenant=fresh_tenant()))
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(http, bridge_server.mcp_url, "list_accounts", {}, bearer(created["key"]))

    assert jsonrpc_message(response)["result"]["structuredContent"] == {"accounts": [], "total": 0}


async def test_a_revoked_key_is_told_it_was_revoked(bridge_server: RunningServer, connect_bridge: Connect) -> None:
    token = bridge_server.token(tenant=fresh_tenant())
    created = await make_key(connect_bridge, token)
    async with connect_bridge(token) as client:
        await call(client, "revoke_api_key", key_id=created["api_key"]["id"])
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(http, bridge_server.mcp_url, "whoami", {}, bearer(created["key"]))

    assert response.status_code == 401
    assert "revoked" in response.json()["error_description"]
    assert created["key"] not in response.text
