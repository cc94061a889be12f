"""The MCP tools: thin typed adapters that validate, call one service, and shape the result."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer, Resolve
from mcp.types import ToolAnnotations

from finance_mcp.db.database import Database
from finance_mcp.domain.principals import Principal
from finance_mcp.server.dependencies import current_principal, database
from finance_mcp.server.errors import translate_tool_errors
from finance_mcp.server.sdk_private import registered_tool

CurrentPrincipal = Annotated[Principal, Resolve(current_principal)]
Db = Annotated[Database, Resolve(database)]

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
CREATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
UPDATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DELETE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def tool(mcp: MCPServer, *, title: str, annotations: ToolAnnotations) -> Callable[[F], F]:
    """`@mcp.tool(...)` with the docstring, cleanly dedented, as the description the model reads, and the
    body's domain and validation errors translated once (`server/errors.py`)."""

    def register(fn: F) -> F:
        description = inspect.cleandoc(fn.__doc__ or "")
        mcp.tool(title=title, annotations=annotations, description=description)(translate_tool_errors(fn))
        refuse_unknown_arguments(mcp, fn.__name__)
        return fn

    return register


def refuse_unknown_arguments(mcp: MCPServer, name: str) -> None:
    """Make a tool refuse arguments it does not declare, and publish `additionalProperties: false`.

    The SDK silently drops undeclared arguments, so a misspelt optional filter (`catgory`) would return
    unfiltered data as if it had applied. Refused, the model is told which name was wrong.
    """
    registered = registered_tool(mcp, name)
    if registered is None:
        raise RuntimeError(f"tool {name!r} was not registered")
    arguments = registered.fn_metadata.arg_model
    arguments.model_config["extra"] = "forbid"
    arguments.model_rebuild(force=True)
    registered.parameters = compact_schema(arguments.model_json_schema(by_alias=True))
    # The published schema only: results are still validated against the output model itself.
    registered.fn_metadata.output_schema = compact_schema(registered.fn_metadata.output_schema)


# Keywords pydantic writes that tell a model nothing: a "title" per property and per model (the property
# name says it), and Decimal constraints that are not JSON Schema (the descriptions state them in words).
_NOISE = frozenset({"title", "decimal_places", "max_digits"})
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains")


def compact_schema(schema: Any) -> Any:
    """`schema` without `_NOISE` keywords: `tools/list` is read into every assistant's context window, and
    they were 15 % of it. Property *names* such as a field called "title" are kept; only keywords go."""
    if not isinstance(schema, dict):
        return schema
    compact: dict[str, Any] = {}
    for key, value in schema.items():  # pyright: ignore[reportUnknownVariableType]
        if key in _NOISE:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            compact[key] = {name: compact_schema(sub) for name, sub in value.items()}  # pyright: ignore[reportUnknownVariableType]
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            compact[key] = [compact_schema(sub) for sub in value]  # pyright: ignore[reportUnknownVariableType]
        elif key in _SCHEMA_ONE:
            compact[key] = compact_schema(value)
        else:
            compact[key] = value
    return compact
