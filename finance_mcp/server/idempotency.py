"""What every writing tool does before its body: the write quota, then the optional `idempotency_key`.

`guarded(fn, tool=...)` is applied by `tools.tool()` to every tool whose annotations are not read-only. It
adds `idempotency_key` to the tool's signature (so it is in that tool's input schema, and only there) and:

* counts the call against the caller's write quota (`services/write_quota.py`), in memory, refusing it with
  "slow down: retry in N s" before anything is read or written;
* without a key, calls the body as it is: no extra statement, no extra transaction (the hot path);
* with a key, runs the body through the ledger (`services/idempotency.py`): one transaction that claims the
  key, runs the body on it and stores the result. A repeat returns the stored result with `replayed: true`.

The key is per user and household; the request is the tool's name and its validated arguments (minus the
key) as canonical JSON, SHA-256. A result holding a secret (create_api_key's key, shown once) is never
stored: its model lists the fields in `SECRET_FIELDS`, the ledger keeps the rest, and a repeat is refused
with what was created, since the secret cannot be shown again.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import typing
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any

import pydantic_core
from mcp.server.mcpserver import Context, Resolve
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Conflict
from finance_mcp.domain.principals import Principal
from finance_mcp.repositories.idempotency import StoredCall
from finance_mcp.server.dependencies import server_state

KEY = "idempotency_key"
REPLAYED = "replayed"
WITHHELD = "_withheld_secrets"  # in a stored result: the secret fields left out of it
_CONTEXT = "write_context"  # the Context parameter added when a tool declares none

IdempotencyKey = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        description="New UUID per request, resent on a retry",
    ),
]
REPLAYED_SCHEMA = {
    "type": "boolean",
    "description": "Only on a retry",
}


def guarded(fn: Callable[..., Awaitable[Any]], *, tool: str) -> Callable[..., Awaitable[Any]]:
    """`fn` behind the write quota and the optional idempotency key (see the module's docstring)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    signature = inspect.signature(fn, eval_str=True)
    principal_name = _parameter_of(signature, hints, Principal, tool=tool)
    db_name = _parameter_of(signature, hints, Database, tool=tool)
    context_name = next((name for name, hint in hints.items() if _is_context(hint)), None)
    arguments = [name for name in signature.parameters if not _hidden(hints.get(name))]

    @functools.wraps(fn)
    async def call(**kwargs: Any) -> Any:
        key: str | None = kwargs.pop(KEY, None)
        ctx: Context[Any, Any] = kwargs[context_name] if context_name else kwargs.pop(_CONTEXT)
        state = server_state(ctx)
        principal: Principal = kwargs[principal_name]
        state.write_quota.admit(principal.user_id)
        if key is None:
            return await fn(**kwargs)
        outcome = await state.idempotency.run(
            principal,
            key,
            tool=tool,
            request_hash=request_hash(tool, {name: kwargs[name] for name in arguments}),
            body=lambda held: fn(**{**kwargs, db_name: held}),
            stored=stored_result,
        )
        return replayed(outcome, key=key) if isinstance(outcome, StoredCall) else outcome

    added = [inspect.Parameter(KEY, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=IdempotencyKey)]
    if context_name is None:
        added.append(inspect.Parameter(_CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    call.__signature__ = signature.replace(parameters=[*_keyword_only(signature), *added])  # type: ignore[attr-defined]
    call.__annotations__ = {**hints, **{p.name: p.annotation for p in added}}
    return call


def publish_replayed(output_schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The tool's output schema with the optional `replayed` flag a repeat carries."""
    if output_schema is None or not isinstance(output_schema.get("properties"), dict):
        return output_schema
    return {**output_schema, "properties": {**output_schema["properties"], REPLAYED: REPLAYED_SCHEMA}}


def request_hash(tool: str, arguments: dict[str, Any]) -> str:
    """SHA-256 of the tool's name and its validated arguments as canonical JSON (sorted keys, no spaces,
    amounts without trailing zeros: "-12.5" and "-12.50" are one request)."""
    canonical = json.dumps(
        pydantic_core.to_jsonable_python(_canonical(arguments)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{tool}\n{canonical}".encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _canonical(value.model_dump())
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return value


def stored_result(result: Any) -> dict[str, Any]:
    """What the ledger keeps of a result: its wire form, without any secret field."""
    assert isinstance(result, BaseModel), "a writing tool returns a pydantic model"
    wire = result.model_dump(mode="json", by_alias=True)
    secrets: tuple[str, ...] = getattr(result, "SECRET_FIELDS", ())
    if secrets:
        wire = {name: value for name, value in wire.items() if name not in secrets} | {WITHHELD: list(secrets)}
    return wire


def replayed(call: StoredCall, *, key: str) -> CallToolResult:
    """The first call's result again, marked `replayed`; refused when it held a secret shown only once."""
    result = dict(call.result)
    withheld = result.pop(WITHHELD, None)
    if withheld:
        raise Conflict(
            f"The first call with idempotency_key {key!r} succeeded; nothing was written now. Its result held "
            f"a secret ({', '.join(withheld)}) that is shown only once and not kept, so it cannot be shown "
            f"again. What it created: {json.dumps(result)}. If the secret was lost, revoke that and call "
            "again with a new idempotency_key."
        )
    result[REPLAYED] = True
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(result, indent=2))], structured_content=result
    )


def _parameter_of(signature: inspect.Signature, hints: dict[str, Any], kind: type, *, tool: str) -> str:
    for name in signature.parameters:
        hint = hints.get(name)
        if typing.get_origin(hint) is Annotated and typing.get_args(hint)[0] is kind:
            return name
    raise TypeError(f"the writing tool {tool} needs a {kind.__name__} parameter resolved per call")


def _hidden(hint: Any) -> bool:
    """A parameter the SDK fills itself (a `Resolve(...)` value or the Context): not one of the arguments."""
    if _is_context(hint):
        return True
    return typing.get_origin(hint) is Annotated and any(isinstance(m, Resolve) for m in typing.get_args(hint)[1:])


def _is_context(hint: Any) -> bool:
    base = typing.get_origin(hint) or hint
    return inspect.isclass(base) and issubclass(base, Context)


def _keyword_only(signature: inspect.Signature) -> list[inspect.Parameter]:
    """The body's parameters, keyword-only (the SDK passes every argument by name), so the added ones with
    defaults may follow required ones."""
    return [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in signature.parameters.values()]
