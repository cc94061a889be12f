"""The JSON error body of RFC 6749 §5.2 / RFC 7591 §3.2.2, built one way for every bridge endpoint."""

from __future__ import annotations

from starlette.responses import JSONResponse


def oauth_error(
    error: str, description: str | None, status_code: int, *, retry_after: int | None = None
) -> JSONResponse:
    """`{"error", "error_description"}`, never cached; `Retry-After` when the client should come back later."""
    headers = {"Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse({"error": error, "error_description": description}, status_code, headers=headers)
