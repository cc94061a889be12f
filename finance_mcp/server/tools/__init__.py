"""The MCP tools: thin typed adapters that validate, call one service, and shape the result."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast, get_args, get_origin

from mcp.server.mcpserver import MCPServer, Resolve
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import ToolAnnotations
from pydantic import model_validator

from finance_mcp.db.database import Database
from finance_mcp.domain.principals import Principal
from finance_mcp.server.dependencies import current_principal, database
from finance_mcp.server.errors import translate_tool_errors
from finance_mcp.server.idempotency import KEY as IDEMPOTENCY_KEY
from finance_mcp.server.idempotency import guarded, publish_replayed
from finance_mcp.server.sdk_private import registered_tool
from finance_mcp.server.tools.shapes import FIELDS_AS, arguments_schema, described_once, result_schema

CurrentPrincipal = Annotated[Principal, Resolve(current_principal)]
Db = Annotated[Database, Resolve(database)]

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
CREATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
UPDATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DELETE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def tool(mcp: MCPServer, *, title: str, annotations: ToolAnnotations) -> Callable[[F], F]:
    """`@mcp.tool(...)` with the docstring, cleanly dedented, as the description the model reads, and the
    body's domain and validation errors translated once (`server/errors.py`). A tool that writes (annotations
    not read-only) is `guarded`: the write quota and the optional `idempotency_key` (`server/idempotency.py`)."""

    def register(fn: F) -> F:
        description = inspect.cleandoc(fn.__doc__ or "")
        writes = not annotations.read_only_hint
        body = guarded(fn, tool=fn.__name__) if writes else fn
        mcp.tool(title=title, annotations=annotations, description=description)(translate_tool_errors(body))
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
    parameters = arguments_schema(compact_schema(arguments.model_json_schema(by_alias=True)), tool=name)
    registered.parameters = described_once(parameters, registered_tool(mcp, FIELDS_AS.get(name, name)), tool=name)
    registered.fn_metadata.arg_model = null_means_default(arguments)
    # The published schema only: results are still validated against the output model itself.
    output_schema = compact_schema(result_schema(registered.fn_metadata.output_schema, tool=name))
    if IDEMPOTENCY_KEY in arguments.model_fields:  # a repeat of a keyed call answers `replayed: true`
        output_schema = publish_replayed(output_schema)
    registered.fn_metadata.output_schema = output_schema


def null_means_default(arguments: type[ArgModelBase]) -> type[ArgModelBase]:
    """`arguments`, where an explicit `null` for an optional argument means its default, as it does for the
    arguments whose default is null: models send `"limit": null` for "I don't mind", and a refusal of that
    ("Input should be a valid integer") costs a round trip and teaches nothing. An argument that may really
    be null (`Interval | None`) keeps its null."""
    defaulted = frozenset(
        name
        for name, field in arguments.model_fields.items()
        if not field.is_required() and field.default is not None and not _admits_none(field.annotation)
    )
    if not defaulted:
        return arguments

    class Arguments(arguments):
        @model_validator(mode="before")
        @classmethod
        def _drop_nulls_that_mean_the_default(cls, data: Any) -> Any:
            if not isinstance(data, dict):
                return data
            given = cast(dict[str, Any], data)
            if all(given.get(name, _MISSING) is not None for name in defaulted):
                return given
            return {name: value for name, value in given.items() if value is not None or name not in defaulted}

    Arguments.__name__ = Arguments.__qualname__ = arguments.__name__
    return Arguments


_MISSING = object()


def _admits_none(annotation: Any) -> bool:
    return (
        annotation is None
        or type(None) in get_args(annotation)
        or any(_admits_none(arg) for arg in get_args(annotation) if get_origin(arg) is not None)
    )


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
    if "default" in compact and compact["default"] is None:  # not required already says it may be left out
        del compact["default"]
    return _fold_union(compact)


def _fold_union(schema: dict[str, Any]) -> dict[str, Any]:
    """`{"anyOf": [{"type": "string", "maxLength": 9}, {"type": "null"}]}` as the equivalent, shorter
    `{"type": ["string", "null"], "maxLength": 9}`: a union of plain types (each branch a `type` and
    constraints of that type only) becomes one `type` list. A branch with a `$ref`, or constraints of two
    branches that would meet, keeps the `anyOf`. The outer description wins over a branch's own."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or not branches:
        return schema
    types: list[str] = []
    constraints: dict[str, Any] = {}
    for each in cast(list[Any], branches):
        if not isinstance(each, dict):
            return schema
        branch = cast(dict[str, Any], each)
        kind = branch.get("type")
        if not isinstance(kind, str | list):
            return schema
        types += [kind] if isinstance(kind, str) else cast(list[str], kind)
        for key, value in branch.items():
            if key == "type" or (key == "description" and "description" in schema):
                continue
            if key in constraints or key in schema or key in ("$ref", "anyOf", "enum", "const"):
                return schema
            constraints[key] = value
    if len(set(types)) != len(types):
        return schema
    folded = {key: value for key, value in schema.items() if key != "anyOf"}
    return {"type": types, **constraints, **folded}
