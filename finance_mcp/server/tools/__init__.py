"""The MCP tools: thin typed adapters that validate, call one service, and shape the result."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer, Resolve
from mcp.types import ToolAnnotations

from finance_mcp.db.database import Database
from finance_mcp.identity import Principal
from finance_mcp.server.dependencies import current_principal, database

CurrentPrincipal = Annotated[Principal, Resolve(current_principal)]
Db = Annotated[Database, Resolve(database)]

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
CREATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
UPDATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DELETE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)

F = TypeVar("F", bound=Callable[..., Any])


def tool(mcp: MCPServer, *, title: str, annotations: ToolAnnotations) -> Callable[[F], F]:
    """`@mcp.tool(...)` with the docstring, cleanly dedented, as the description the model reads."""

    def register(fn: F) -> F:
        mcp.tool(title=title, annotations=annotations, description=inspect.cleandoc(fn.__doc__ or ""))(fn)
        return fn

    return register
