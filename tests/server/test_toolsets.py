"""`tools/list` offers toolsets, fitted to the caller; calling by name still works and is still checked."""

from __future__ import annotations

import asyncio
import json

import pytest
from mcp.shared.exceptions import MCPError

from finance_mcp.server.toolsets import CATALOGUE, CORE, TOOLSETS, Offer
from tests.e2e.helpers import call, fresh_tenant, make_account, refusal
from tests.readme_sections import _server  # pyright: ignore[reportPrivateUsage]
from tests.tool_list_size import tokens

pytestmark = pytest.mark.anyio

CORE_BUDGET = 8_000  # tokens (cl100k_base) of the default list of a new household


@pytest.fixture
def connect(server):
    return server.connector(api_keys=True)  # every tool registered, the key tools too


# Every tool the server registers, in listing order (no caller: nothing left out).
REGISTERED = [tool.name for tool in asyncio.run(_server().list_tools())]


def in_set(toolset: str) -> list[str]:
    return [name for name in REGISTERED if CATALOGUE[name].toolset == toolset]


def test_every_registered_tool_has_a_place_in_the_catalogue_and_the_listing_keeps_its_order() -> None:
    names = REGISTERED
    assert set(names) <= set(CATALOGUE), sorted(set(names) - set(CATALOGUE))
    assert names == [name for name in CATALOGUE if name in names]
    assert TOOLSETS[0] == CORE


async def test_a_new_household_is_offered_core_alone_in_order_and_within_its_token_budget(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        tools = (await client.list_tools()).tools

    assert [tool.name for tool in tools] == in_set(CORE)
    assert tokens(tools) <= CORE_BUDGET
    assert all(len(tool.description or "") <= 600 for tool in tools)


async def test_once_the_household_has_a_change_to_undo_the_default_offers_the_change_log(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        await make_account(client)
        names = [tool.name for tool in (await client.list_tools()).tools]

    assert names == in_set(CORE) + in_set("changes")


@pytest.mark.parametrize(
    ("choice", "sets"),
    [("changes", ["changes"]), (" Core, CHANGES ", [CORE, "changes"]), ("all", list(TOOLSETS))],
)
async def test_a_chosen_list_is_offered_whatever_the_household_uses(server, connect, choice, sets):
    async with connect(server.token(tenant=fresh_tenant()), toolsets=choice) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        # a tool left out of the list is still there to call by name
        me = await call(client, "whoami")

    assert names == [name for name in REGISTERED if CATALOGUE[name].toolset in sets]
    assert me["role"] == "owner"


async def test_an_unknown_toolset_is_refused_with_the_names_that_exist(server, connect):
    async with connect(server.token(tenant=fresh_tenant()), toolsets="core,plannig") as client:
        with pytest.raises(MCPError) as refused:
            await client.list_tools()

    assert "'plannig'" in refused.value.message
    assert all(name in refused.value.message for name in TOOLSETS)


def writes(offer: Offer) -> bool:
    return offer.needs.value != "read"


async def test_a_viewer_is_offered_no_writing_tool_and_is_refused_calling_one_by_name(server, connect):
    tenant = fresh_tenant()
    async with connect(server.token(tenant=tenant, role="OWNER")) as owner:
        account_id = await make_account(owner)
    async with connect(server.token(tenant=tenant, role="VIEWER"), toolsets="all") as viewer:
        names = [tool.name for tool in (await viewer.list_tools()).tools]
        made = await viewer.call_tool(
            "create_transaction", {"account_id": account_id, "amount": "-1", "date": "2026-01-01", "category": "Food"}
        )
        deleted = await viewer.call_tool("delete_account", {"account_id": account_id})

    assert names == [name for name in REGISTERED if not writes(CATALOGUE[name])]
    assert "create_account" not in names
    assert "list_accounts" in names
    assert "role (viewer) does not allow" in refusal(made)
    assert "role (viewer) does not allow" in refusal(deleted)


async def test_a_member_is_offered_writes_but_not_what_needs_an_admin(server, connect):
    async with connect(server.token(tenant=fresh_tenant(), role="MEMBER"), toolsets="all") as member:
        names = [tool.name for tool in (await member.list_tools()).tools]

    assert "create_transaction" in names
    assert "delete_account" not in names
    assert names == [name for name in REGISTERED if CATALOGUE[name].needs.value in ("read", "write")]


async def test_a_read_only_sign_in_is_offered_only_reads(server, connect):
    token = server.token(tenant=fresh_tenant(), role="OWNER", scopes=["finance:read"])
    async with connect(token, toolsets="all") as client:
        names = [tool.name for tool in (await client.list_tools()).tools]

    assert names == [name for name in REGISTERED if not writes(CATALOGUE[name])]


LISTED = asyncio.run(_server().list_tools())


@pytest.mark.parametrize("tool", LISTED, ids=lambda tool: tool.name)
def test_every_description_is_short_and_says_what_to_call_next(tool) -> None:
    description = tool.description or ""
    others = [other.name for other in LISTED if other.name != tool.name]
    assert len(description) <= 600
    assert any(name in description for name in others), "name the tool (or tools) to call next"


def test_no_schema_is_spelt_out_in_two_tools() -> None:
    seen: dict[str, str] = {}
    for tool in LISTED:
        for schema in (tool.input_schema, tool.output_schema or {}):
            for body in schema.get("$defs", {}).values():
                text = json.dumps(body, sort_keys=True)
                if len(text) > 80:  # a couple of fields is cheaper inline than named
                    assert seen.setdefault(text, tool.name) == tool.name, f"{tool.name} repeats {seen[text]}'s {text}"


async def test_once_the_household_plans_the_default_offers_planning(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        await call(client, "set_budget", category="Food", amount="200")  # called by name: not listed yet
        names = [tool.name for tool in (await client.list_tools()).tools]

    assert names == in_set(CORE) + in_set("changes") + in_set("planning")


async def test_once_the_household_has_imported_a_statement_the_default_offers_import(server, connect):
    statement = "Date,Description,Amount\n2026-11-02,Coffee,-3.50\n"
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        await call(client, "import_transactions", account_id=account_id, content=statement, dry_run=False)
        names = [tool.name for tool in (await client.list_tools()).tools]

    assert names == in_set(CORE) + in_set("changes") + in_set("import")
