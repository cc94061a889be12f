"""The one place where domain errors become MCP errors, with messages safe to show to the model.

One mapping per surface, chosen by how MCP reports a failure there: a tool answers an `isError` result the
model reads (`tool_error`); a resource and a prompt answer a JSON-RPC error (`resource_error`,
`prompt_error`), where a missing row and another household's row are the same "not found" (-32602).

The registration helpers apply it: `tools.tool()` to every tool body (and `translate_tool_errors` to the
`Resolve(...)` resolvers in `dependencies`), `resources.resource()` to every resource and `reports.prompt()`
to every prompt, so no body translates anything itself. The SDK validates a tool's arguments before the body
runs; `FinanceServer.call_tool` passes that `ValidationError` through `tool_error` too.

Anything else is a crash and is left to the SDK: it logs the traceback at ERROR and answers with a generic
message that names at most the tool, resource or prompt, so no SQL or stack trace reaches the caller
(`tests/server/test_error_translation.py` holds it to that).
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, ParamSpec, TypeVar

from mcp import MCPError
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS
from pydantic import ValidationError

from finance_mcp.domain.errors import FinanceError, Invalid, NotFound

P = ParamSpec("P")
R = TypeVar("R")
Surface = Literal["tool", "resource", "prompt"]

# Set on every translating wrapper (and copied by `functools.wraps` onto the SDK's own wrappers around it),
# so a test can prove that nothing registered bypasses the helpers.
TRANSLATED = "__finance_mcp_translates__"


# What to write instead, for the errors whose pydantic text does not say it.
_HINTS = {
    "date_from_datetime_parsing": 'write dates as YYYY-MM-DD, e.g. "2026-12-01"',
    "date_parsing": 'write dates as YYYY-MM-DD, e.g. "2026-12-01"',
    "date_type": 'write dates as YYYY-MM-DD, e.g. "2026-12-01"',
    "datetime_parsing": 'write times as ISO 8601 with a zone, e.g. "2026-12-01T09:30:00Z"',
    "datetime_from_date_parsing": 'write times as ISO 8601 with a zone, e.g. "2026-12-01T09:30:00Z"',
    "datetime_type": 'write times as ISO 8601 with a zone, e.g. "2026-12-01T09:30:00Z"',
    "decimal_parsing": 'write amounts as plain digits with a point, e.g. "12.50" or "-1200.00"',
    "decimal_type": 'write amounts as plain digits with a point, e.g. "12.50" or "-1200.00"',
}


def describe_validation(error: ValidationError, known: Sequence[str] = ()) -> str:
    """Pydantic's errors as one sentence per problem, without echoing large inputs back; an undeclared
    argument is answered with the declared names closest to it, when `known` lists them."""
    problems: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "input"
        problem = f"{where}: {item['msg']}"
        if item["type"] in _HINTS:
            problem += f" ({_HINTS[item['type']]})"
        elif item["type"] == "extra_forbidden" and known:
            close = difflib.get_close_matches(str(item["loc"][-1]), known, n=2, cutoff=0.6)
            problem += f" (did you mean {' or '.join(repr(name) for name in close)}?)" if close else ""
        problems.append(problem)
    return (
        "Invalid input, nothing was changed. "
        + "; ".join(problems[:10])
        + ". Correct the arguments named above (see the tool's input schema) and call it again."
    )


def tool_error(error: FinanceError | ValidationError, known: Sequence[str] = ()) -> ToolError:
    """An `isError` result; the SDK puts "Error executing tool <name>: " in front. `known`: the tool's
    argument names, for a "did you mean" when an argument is misspelt."""
    if isinstance(error, ValidationError):
        return ToolError(describe_validation(error, known))
    return ToolError(str(error))


def resource_error(error: FinanceError, uri: str) -> ResourceError | MCPError:
    """Missing and foreign rows are the same "not found" (-32602); a bad URI part says what to fix (-32602);
    other failures say what happened (-32603)."""
    if isinstance(error, NotFound):
        return ResourceNotFoundError(f"Resource not found: {uri}")
    if isinstance(error, Invalid):
        return MCPError(INVALID_PARAMS, f"{uri}: {error}")
    return ResourceError(str(error))


def prompt_error(error: FinanceError) -> MCPError:
    """A JSON-RPC error whose message says what to fix (the SDK would hide it behind a generic one)."""
    code = INVALID_PARAMS if isinstance(error, Invalid | NotFound) else INTERNAL_ERROR
    return MCPError(code, str(error))


def translate_tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """`fn` (a tool body or a resolver) with domain and validation errors raised as `tool_error`.

    The SDK reads the tool's schema from `fn`'s signature and hints, which `functools.wraps` makes the
    wrapper's (`inspect.signature` and `typing.get_type_hints` follow `__wrapped__`).
    """
    _require_async(fn)

    @functools.wraps(fn)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except (FinanceError, ValidationError) as error:
            raise tool_error(error) from None

    return _marked(translated, "tool")


def translate_resource_errors(uri_template: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A resource function with domain errors raised as `resource_error` for the URI that was read."""

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        _require_async(fn)
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        async def translated(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await fn(*args, **kwargs)
            except FinanceError as error:
                uri = uri_template.format_map(signature.bind(*args, **kwargs).arguments)
                raise resource_error(error, uri) from None

        return _marked(translated, "resource")

    return decorate


def translate_prompt_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A prompt function with domain errors raised as `prompt_error`."""
    _require_async(fn)

    @functools.wraps(fn)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except FinanceError as error:
            raise prompt_error(error) from None

    return _marked(translated, "prompt")


def translation_of(fn: Callable[..., Any] | None) -> Surface | None:
    """Which surface's mapping `fn` (as registered with the SDK) applies; None if it applies none."""
    return getattr(fn, TRANSLATED, None)


def _require_async(fn: Callable[..., Any]) -> None:
    # An async wrapper around a sync function would hand the SDK a coroutine where it expects a value.
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"{fn.__qualname__} must be async to be registered")


def _marked(fn: Callable[P, Awaitable[R]], surface: Surface) -> Callable[P, Awaitable[R]]:
    setattr(fn, TRANSLATED, surface)
    return fn
