"""Toolsets over real HTTP: chosen with `?toolsets=` on the MCP URL or the `X-Finance-Toolsets` header, on
both protocol eras, and a read-only API key offered only what it may call."""

from __future__ import annotations

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.e2e.helpers import call, fresh_tenant
from tests.e2e.servers import Connect, RunningServer

pytestmark = pytest.mark.anyio

CHANGE_LOG = ["list_changes", "undo_change"]
KEY_TOOLS = {"create_api_key", "list_api_keys", "revoke_api_key"}


async def listed(client: Client) -> list[str]:
    return [tool.name for tool in (await client.list_tools()).tools]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_url_query_chooses_the_toolsets(server: RunningServer, connect: Connect, mode: str) -> None:
    token = server.token(tenant=fresh_tenant())
    async with connect(token, mode=mode, toolsets="changes") as client:
        names = await listed(client)
        me = await call(client, "whoami")  # not listed, still callable
    async with connect(token, mode=mode) as client:
        default = await listed(client)

    assert names == CHANGE_LOG
    assert me["role"] == "owner"
    assert "whoami" in default
    assert not set(CHANGE_LOG) & set(default)  # a new household has nothing to undo yet


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_header_chooses_the_toolsets_too(server: RunningServer, mode: str) -> None:
    headers = {"Authorization": f"Bearer {server.token(tenant=fresh_tenant())}", "X-Finance-Toolsets": "core,changes"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(server.mcp_url, http_client=http)
        async with Client(transport, mode=mode) as client:  # type: ignore[arg-type]
            names = await listed(client)

    assert names[0] == "whoami"
    assert names[-2:] == CHANGE_LOG


async def test_an_unknown_toolset_in_the_url_is_refused_by_name(server: RunningServer, connect: Connect) -> None:
    async with connect(server.token(tenant=fresh_tenant()), toolsets="core,budgets") as client:
        with pytest.raises(MCPError) as refused:
            await client.list_tools()

    assert "'budgets'" in refused.value.message
    assert "planning" in refused.value.message


async def test_a_read_only_api_key_is_offered_neither_writes_nor_key_management(
    bridge_server: RunningServer, connect_bridge: Connect
) -> None:
    owner = bridge_server.token(tenant=fresh_tenant(), role="OWNER")
    async with connect_bridge(owner) as client:
        created = await call(client, "create_api_key", name="Reader", scopes=["finance:read"])
    async with connect_bridge(owner, toolsets="all") as client:
        everything = await listed(client)
    async with connect_bridge(created["key"], toolsets="all") as client:
        names = await listed(client)
        refused = await client.call_tool("create_account", {"name": "X", "account_type": "cash"})

    assert set(everything) >= KEY_TOOLS
    assert "create_account" in everything
    assert "list_accounts" in names
    assert "get_overview" in names
    assert not {"create_account", "create_transaction", "delete_account", "undo_change"} & set(names)
    assert not KEY_TOOLS & set(names)
    assert refused.is_error


async def test_an_api_key_carries_its_own_default_and_the_url_still_chooses(
    bridge_server: RunningServer, connect_bridge: Connect
) -> None:
    owner = bridge_server.token(tenant=fresh_tenant(), role="OWNER")
    async with connect_bridge(owner) as client:
        created = await call(
            client, "create_api_key", name="Planner", scopes=["finance:read", "finance:write"], toolsets=["planning"]
        )
        plain = await call(client, "create_api_key", name="Plain", scopes=["finance:read"])
    async with connect_bridge(created["key"]) as client:
        default = await listed(client)
    async with connect_bridge(created["key"], toolsets="core") as client:
        chosen = await listed(client)
    async with connect_bridge(plain["key"]) as client:
        household_default = await listed(client)

    assert created["api_key"]["toolsets"] == ["planning"]
    assert plain["api_key"]["toolsets"] is None
    assert "set_budget" in default
    assert "create_transaction" not in default  # the key's default is exactly what it carries
    assert "create_transaction" in chosen
    assert "set_budget" not in chosen
    assert "list_accounts" in household_default
