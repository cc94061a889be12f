"""API key tools: keys for clients that can only send a fixed Authorization header."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from finance_mcp.schemas.api_keys import (
    DEFAULT_EXPIRY_DAYS,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyRevoked,
    ExpiresInDays,
    KeyName,
    KeyScopes,
    KeyToolsets,
)
from finance_mcp.server.tools import CREATE, DELETE, READ, CurrentPrincipal, Db, tool
from finance_mcp.services import api_keys


def register(mcp: MCPServer, *, unchecked_max_days: int) -> None:
    @tool(mcp, title="Create API key", annotations=CREATE)
    async def create_api_key(
        name: KeyName,
        scopes: KeyScopes,
        principal: CurrentPrincipal,
        db: Db,
        expires_in_days: ExpiresInDays = DEFAULT_EXPIRY_DAYS,
        toolsets: KeyToolsets = None,
    ) -> ApiKeyCreated:
        """Create an API key for a client that can only send a fixed header (Authorization: Bearer <key>).

        The key acts as you, in this household, limited to the scopes chosen (never more than your role).
        It is shown ONCE in the result: tell the user to copy it into the client's secret store now.
        Only create one when the user asks for it; prefer read-only keys (finance:read) when enough.
        The result says whether the key is re-checked with MCP_Auth (follows the person's role): pass on
        its `notice` to the user when there is one. list_api_keys shows it later, without the secret.
        """
        data = ApiKeyCreate(name=name, scopes=scopes, expires_in_days=expires_in_days, toolsets=toolsets)
        return await api_keys.create_api_key(db, principal, data, unchecked_max_days=unchecked_max_days)

    @tool(mcp, title="List API keys", annotations=READ)
    async def list_api_keys(principal: CurrentPrincipal, db: Db) -> ApiKeyList:
        """List your API keys (admins and owners: every key of the household) with scopes and status.

        Secrets are never shown again; the prefix helps recognise a key. Use an id with revoke_api_key.
        """
        return await api_keys.list_api_keys(db, principal)

    @tool(mcp, title="Revoke API key", annotations=DELETE)
    async def revoke_api_key(
        key_id: Annotated[int, Field(ge=1, description="The key's id, from list_api_keys")],
        principal: CurrentPrincipal,
        db: Db,
    ) -> ApiKeyRevoked:
        """Revoke an API key at once: every later request with it is refused. Cannot be undone.

        Admins and owners may revoke any key of the household, e.g. one of a member who left. Ids come
        from list_api_keys; create_api_key makes a replacement.
        """
        return await api_keys.revoke_api_key(db, principal, key_id)
