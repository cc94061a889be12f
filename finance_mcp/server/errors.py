"""The one place where domain errors become MCP errors, with messages safe to show to the model."""

from __future__ import annotations

import contextlib
from collections.abc import Generator

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from pydantic import ValidationError

from finance_mcp.domain.errors import FinanceError, NotFound


def describe_validation(error: ValidationError) -> str:
    """Pydantic's errors as one sentence per problem, without echoing large inputs back."""
    problems: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "input"
        problems.append(f"{where}: {item['msg']}")
    return (
        "Invalid input, nothing was changed. "
        + "; ".join(problems[:10])
        + ". Correct the arguments named above (see the tool's input schema) and call it again."
    )


@contextlib.contextmanager
def tool_errors() -> Generator[None]:
    """Turn domain and validation errors raised inside a tool into `isError` results."""
    try:
        yield
    except FinanceError as error:
        raise ToolError(str(error)) from None
    except ValidationError as error:
        raise ToolError(describe_validation(error)) from None


@contextlib.contextmanager
def resource_errors(uri: str) -> Generator[None]:
    """Missing and foreign rows are the same "not found" (-32602); other failures say what happened."""
    try:
        yield
    except NotFound:
        raise ResourceNotFoundError(f"Resource not found: {uri}") from None
    except FinanceError as error:
        raise ResourceError(str(error)) from None
