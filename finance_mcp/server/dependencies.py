"""Per-call dependencies, filled by `Resolve(...)` and hidden from the tools' input schemas."""

from __future__ import annotations

import dataclasses
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import FinanceError
from finance_mcp.domain.principals import Principal
from finance_mcp.server.auth import API_KEY_CLIENT_ID, grant_of, identity_from_token
from finance_mcp.server.errors import translate_tool_errors
from finance_mcp.server.observe import note_principal
from finance_mcp.server.state import ServerState


def server_state(ctx: Context[Any, Any]) -> ServerState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, ServerState)
    return state


async def resolve_principal(state: ServerState) -> Principal:
    """The verified caller, with their household and user created on first sight."""
    token = get_access_token()
    if token is None:
        raise FinanceError("This server needs a bearer token from MCP_Auth; sign in and connect again.")
    principal = await state.identities.resolve(identity_from_token(token))
    if token.client_id == API_KEY_CLIENT_ID:
        return dataclasses.replace(principal, api_key_id=int((token.claims or {})["api_key_id"]))
    if (grant_id := grant_of(token)) is not None:
        return dataclasses.replace(principal, grant_id=grant_id, client_id=token.client_id)
    return principal


@translate_tool_errors  # resolvers run before the tool body, outside the wrapper `tools.tool()` adds
async def current_principal(ctx: Context[Any, Any]) -> Principal:
    principal = await resolve_principal(server_state(ctx))
    note_principal(principal)  # the tool-call log line names the caller by local ids
    return principal


@translate_tool_errors
async def database(ctx: Context[Any, Any]) -> Database:
    """Async on purpose: the SDK runs sync resolvers on a worker thread."""
    return server_state(ctx).db
