"""Domain errors are translated once (`server/errors.py`), by the helpers every tool, resolver, resource and
prompt is registered with; each surface's errors reach the SDK's own client as that surface's MCP error.

In process (`Client(server)`): the mapping is the same over HTTP, which `tests/e2e` drives already.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.mcpserver import MCPServer
from pydantic import TypeAdapter, ValidationError

from finance_mcp.cli.dev import mint_token
from finance_mcp.domain.errors import Conflict, Invalid, NotFound
from finance_mcp.server.app import FinanceServer, build_server
from finance_mcp.server.auth import JwtVerifier
from finance_mcp.server.errors import translation_of
from finance_mcp.server.prompts import prompt
from finance_mcp.server.resources import resource
from finance_mcp.server.tools import READ, refuse_unknown_arguments, tool
from finance_mcp.settings import Settings
from tests.e2e.helpers import MISSING_ID, assert_safe, fresh_tenant, refusal

pytestmark = pytest.mark.anyio

SECRET = "translation-secret-" + "k" * 40
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
NO_TOKEN = "This server needs a bearer token from MCP_Auth; sign in and connect again."
SQL = "SELECT secret FROM accounts WHERE household_id = 2"


def untranslated(mcp: MCPServer) -> list[str]:
    """What is registered without the mapping of its surface; the SDK has no public accessor for the
    registered functions, hence its managers."""
    tools = mcp._tool_manager.list_tools()  # pyright: ignore[reportPrivateUsage]
    resources = mcp._resource_manager  # pyright: ignore[reportPrivateUsage]
    prompts = mcp._prompt_manager.list_prompts()  # pyright: ignore[reportPrivateUsage]
    missing = [f"tool {t.name}" for t in tools if translation_of(t.fn) != "tool"]
    missing += [
        f"resolver {marker.fn.__name__} of {t.name}"
        for t in tools
        for marker, _ in t.resolved_params.values()
        if translation_of(marker.fn) != "tool"
    ]
    fixed = resources.list_resources()
    missing += [f"resource {r.uri}" for r in fixed if translation_of(getattr(r, "fn", None)) != "resource"]
    missing += [f"resource {r.uri_template}" for r in resources.list_templates() if translation_of(r.fn) != "resource"]
    return missing + [f"prompt {p.name}" for p in prompts if translation_of(p.fn) != "prompt"]


def settings(database_url: str = "sqlite://", **values: Any) -> Settings:
    return Settings(secret_key=SECRET, database_url=database_url, _env_file=None, **values)  # pyright: ignore[reportCallIssue]


@asynccontextmanager
async def signed_in(mcp: MCPServer, *, tenant: str | None = None, role: str = "OWNER") -> AsyncGenerator[Client]:
    """An in-process client whose calls carry a verified MCP_Auth token, as the HTTP auth middleware sets it."""
    raw = mint_token(SECRET, sub=str(uuid.uuid4().int % 10**9), tenant=tenant or fresh_tenant(), role=role)
    token = JwtVerifier(SECRET, resource_url=settings().resource_url).verify(raw)
    assert token is not None
    reset = auth_context_var.set(AuthenticatedUser(token))
    try:
        async with Client(mcp) as client:
            yield client
    finally:
        auth_context_var.reset(reset)


@pytest.fixture
def server(database_url: str) -> FinanceServer:
    mcp, _state = build_server(settings(database_url))
    return mcp


async def protocol_error(read: Any) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await read
    assert_safe(caught.value.error.message)
    return caught.value


# ---- every registration goes through a helper ------------------------------------------------------------


@pytest.mark.parametrize("api_keys", [True, False])
async def test_every_tool_resolver_resource_and_prompt_is_registered_with_the_one_mapping(api_keys: bool) -> None:
    mcp, _state = build_server(settings(api_keys=api_keys))

    assert untranslated(mcp) == []
    # list_changes, undo_change; bulk edits, export and import; budgets, rules and recurring (16)
    assert len(await mcp.list_tools()) == (45 if api_keys else 42)
    # finance://changes/recent; finance://exports/{csv,json,ofx}/{query}; finance://budgets/{year}-{month}
    # ... and finance://overview
    assert len(await mcp.list_resources()) + len(await mcp.list_resource_templates()) == 13
    assert len(await mcp.list_prompts()) == 3


def test_a_tool_resource_or_prompt_registered_around_the_helpers_is_caught() -> None:
    mcp, _state = build_server(settings())

    @mcp.tool()
    async def rogue_tool() -> str:
        return "no mapping"

    @mcp.resource("finance://rogue")
    async def rogue_resource() -> str:
        return "no mapping"

    @mcp.prompt()
    async def rogue_prompt() -> str:
        return "no mapping"

    assert untranslated(mcp) == ["tool rogue_tool", "resource finance://rogue", "prompt rogue_prompt"]


@pytest.mark.parametrize("api_keys", [True, False])
def test_the_wrapper_publishes_exactly_the_schema_of_the_bare_function(api_keys: bool) -> None:
    mcp, _state = build_server(settings(api_keys=api_keys))
    bare = MCPServer("bare")
    for registered in mcp._tool_manager.list_tools():  # pyright: ignore[reportPrivateUsage]
        body: Callable[..., Any] = registered.fn.__wrapped__  # pyright: ignore[reportFunctionMemberAccess]
        assert translation_of(body) is None
        bare.tool(description=registered.description)(body)
        refuse_unknown_arguments(bare, registered.name)
        again = bare._tool_manager.get_tool(registered.name)  # pyright: ignore[reportPrivateUsage]
        assert again is not None
        assert registered.is_async
        assert registered.parameters == again.parameters, registered.name
        assert registered.output_schema == again.output_schema, registered.name
        assert registered.resolved_params.keys() == again.resolved_params.keys(), registered.name


# ---- tools: an isError result the model reads ------------------------------------------------------------


async def test_a_domain_error_in_a_tool_body_is_an_is_error_result_with_its_message(server: FinanceServer) -> None:
    async with signed_in(server) as client:
        missing = refusal(await client.call_tool("get_account", {"account_id": MISSING_ID}))
        account = await client.call_tool("create_account", {"name": "Cash", "account_type": "cash"})
        assert account.structured_content is not None
        unchanged = refusal(await client.call_tool("update_account", {"account_id": account.structured_content["id"]}))

    assert missing.startswith(f"Error executing tool get_account: Account {MISSING_ID} was not found")
    assert unchanged.startswith("Error executing tool update_account: Nothing to change")


async def test_another_households_row_reads_as_missing_in_a_tool(server: FinanceServer) -> None:
    async with signed_in(server) as owner:
        account = await owner.call_tool("create_account", {"name": "Mine", "account_type": "cash"})
        assert account.structured_content is not None
        theirs = account.structured_content["id"]
    async with signed_in(server) as stranger:
        foreign = refusal(await stranger.call_tool("get_account", {"account_id": theirs}))
        missing = refusal(await stranger.call_tool("get_account", {"account_id": MISSING_ID}))

    assert foreign == missing.replace(str(MISSING_ID), str(theirs))


async def test_a_domain_error_in_a_resolver_is_the_tools_is_error_result(server: FinanceServer) -> None:
    async with Client(server) as anonymous:  # no token: the principal resolver refuses before the body
        text = refusal(await anonymous.call_tool("whoami", {}))

    assert text == f"Error executing tool whoami: {NO_TOKEN}"


async def test_an_argument_the_sdk_refuses_reads_like_every_other_error(server: FinanceServer) -> None:
    async with signed_in(server) as client:
        text = refusal(await client.call_tool("create_account", {"name": "", "account_type": "cash"}))

    assert text.startswith("Error executing tool create_account: Invalid input, nothing was changed. name: ")
    assert text.endswith("Correct the arguments named above (see the tool's input schema) and call it again.")


# ---- resources: JSON-RPC errors, "not found" for missing and foreign alike -------------------------------


async def test_a_missing_or_foreign_resource_is_not_found(server: FinanceServer) -> None:
    async with signed_in(server) as owner:
        account = await owner.call_tool("create_account", {"name": "Mine", "account_type": "cash"})
        assert account.structured_content is not None
        uri = f"finance://accounts/{account.structured_content['id']}"
    async with signed_in(server) as stranger:
        foreign = await protocol_error(stranger.read_resource(uri))
        missing = await protocol_error(stranger.read_resource(f"finance://transactions/{MISSING_ID}"))

    assert (foreign.error.code, foreign.error.message) == (INVALID_PARAMS, f"Resource not found: {uri}")
    assert missing.error.code == INVALID_PARAMS
    assert missing.error.message == f"Resource not found: finance://transactions/{MISSING_ID}"


async def test_an_invalid_part_of_a_resource_uri_is_invalid_params_naming_the_uri(server: FinanceServer) -> None:
    async with signed_in(server) as client:
        refused = await protocol_error(client.read_resource("finance://reports/monthly/2026-13"))

    assert refused.error.code == INVALID_PARAMS
    assert refused.error.message.startswith("finance://reports/monthly/2026-13: month '2026-13' is not a month")


async def test_any_other_domain_error_in_a_resource_is_an_internal_error_with_its_message(
    server: FinanceServer,
) -> None:
    async with Client(server) as anonymous:
        refused = await protocol_error(anonymous.read_resource("finance://me"))

    assert (refused.error.code, refused.error.message) == (INTERNAL_ERROR, NO_TOKEN)


# ---- prompts: JSON-RPC errors that say what to fix ------------------------------------------------------


async def test_a_bad_prompt_argument_is_invalid_params_with_its_message(server: FinanceServer) -> None:
    async with signed_in(server) as client:
        month = await protocol_error(client.get_prompt("monthly_review", {"month": "March"}))
        limit = await protocol_error(client.get_prompt("categorize_uncategorized", {"limit": "many"}))

    assert month.error.code == INVALID_PARAMS
    assert month.error.message == "month 'March' is not a month; write it as YYYY-MM, e.g. 2026-03"
    assert limit.error.code == INVALID_PARAMS
    assert limit.error.message == "limit must be a whole number from 1 to 100, got 'many'"


async def test_any_other_domain_error_in_a_prompt_is_an_internal_error_with_its_message(
    server: FinanceServer,
) -> None:
    async with Client(server) as anonymous:
        refused = await protocol_error(anonymous.get_prompt("monthly_review", {"month": "2026-01"}))

    assert (refused.error.code, refused.error.message) == (INTERNAL_ERROR, NO_TOKEN)


# ---- the helpers on a bare server: the rest of the mapping, and crashes -----------------------------------


def failing_server(error: Exception) -> MCPServer:
    """A tool, a resource template and a prompt that raise `error`, each registered through its helper."""
    mcp = MCPServer("failing")

    @tool(mcp, title="Fail", annotations=READ)
    async def fail() -> str:
        """Fails."""
        raise error

    @resource(mcp, "finance://failing/{part}", name="failing", title="Failing", mime_type="application/json")
    async def failing(part: str) -> str:
        """Fails."""
        raise error

    @prompt(mcp, title="Fail")
    async def failing_prompt() -> str:
        """Fails."""
        raise error

    return mcp


async def test_a_validation_error_inside_a_tool_body_is_described_not_dumped() -> None:
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(int).validate_python("ten")
    async with Client(failing_server(raised.value)) as client:
        text = refusal(await client.call_tool("fail", {}))

    assert text.startswith("Error executing tool fail: Invalid input, nothing was changed. input: ")
    assert "pydantic" not in text


async def test_a_conflict_is_the_tools_message_and_an_internal_error_elsewhere() -> None:
    async with Client(failing_server(Conflict("That name is taken; choose another."))) as client:
        text = refusal(await client.call_tool("fail", {}))
        read = await protocol_error(client.read_resource("finance://failing/x"))
        rendered = await protocol_error(client.get_prompt("failing_prompt", {}))

    assert text == "Error executing tool fail: That name is taken; choose another."
    assert (read.error.code, read.error.message) == (INTERNAL_ERROR, "That name is taken; choose another.")
    assert (rendered.error.code, rendered.error.message) == (INTERNAL_ERROR, "That name is taken; choose another.")


async def test_the_resource_uri_in_an_error_is_the_one_that_was_read() -> None:
    async with Client(failing_server(NotFound("row 7"))) as client:
        missing = await protocol_error(client.read_resource("finance://failing/7"))
    async with Client(failing_server(Invalid("part must be a number"))) as client:
        bad = await protocol_error(client.read_resource("finance://failing/x"))

    assert (missing.error.code, missing.error.message) == (INVALID_PARAMS, "Resource not found: finance://failing/7")
    assert (bad.error.code, bad.error.message) == (INVALID_PARAMS, "finance://failing/x: part must be a number")


async def test_an_unexpected_exception_is_logged_with_its_traceback_and_answered_without_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        async with Client(failing_server(RuntimeError(SQL))) as client:
            text = refusal(await client.call_tool("fail", {}))
            read = await protocol_error(client.read_resource("finance://failing/x"))
            rendered = await protocol_error(client.get_prompt("failing_prompt", {}))

    assert text == "Error executing tool fail"
    assert read.error.code == INTERNAL_ERROR
    assert read.error.message == "Error creating resource from template finance://failing/x"
    assert rendered.error.code == INTERNAL_ERROR
    assert SQL not in rendered.error.message
    logged = [r for r in caplog.records if r.exc_info is not None]
    assert any("fail" in r.getMessage() and "unexpected" in r.getMessage() for r in logged)
    assert any("finance://failing/x" in r.getMessage() for r in logged)


def test_a_sync_function_cannot_be_registered() -> None:
    mcp = MCPServer("sync")

    def sync_tool() -> str:
        return "would hand the SDK a coroutine"

    with pytest.raises(TypeError, match="must be async"):
        tool(mcp, title="Sync", annotations=READ)(sync_tool)  # pyright: ignore[reportArgumentType]
