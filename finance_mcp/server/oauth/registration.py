"""POST /register: RFC 7591 dynamic registration (the SDK's handler), behind a limit on how many clients
may register from one address and from everyone per window (counted in the database, so shared by every
worker and replica). Refused with 429 and Retry-After; nothing is stored."""

from __future__ import annotations

import json
from typing import Any, cast

from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.provider import RegistrationError
from mcp.server.auth.settings import ClientRegistrationOptions
from starlette.requests import Request
from starlette.responses import Response

from finance_mcp.server.oauth.client_metadata import check_redirect_uris
from finance_mcp.server.oauth.provider import BridgeProvider
from finance_mcp.server.oauth.responses import oauth_error


def _raw_redirect_uris(body: bytes) -> list[str] | None:
    """The redirect URIs as sent, when they are a list of strings (anything else is the SDK's to refuse)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    uris = cast(dict[str, Any], document).get("redirect_uris") if isinstance(document, dict) else None
    if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in cast(list[Any], uris)):
        return None
    return cast(list[str], uris)


class Registration:
    def __init__(self, provider: BridgeProvider, options: ClientRegistrationOptions) -> None:
        self._provider = provider
        self._sdk = RegistrationHandler(provider, options)

    async def handle(self, request: Request) -> Response:
        retry_after = await self._provider.admit_registration(request.client.host if request.client else None)
        if retry_after is not None:
            description = (
                f"too many client registrations; try again in {retry_after} seconds, or "
                "use a client ID metadata document (an https client_id), which needs no registration"
            )
            return oauth_error("temporarily_unavailable", description, 429, retry_after=retry_after)
        # Checked as sent, before URL parsing can turn `javascript:` into a generic metadata error.
        uris = _raw_redirect_uris(await request.body())
        if uris:
            try:
                check_redirect_uris(uris)
            except RegistrationError as error:
                return oauth_error(error.error, error.error_description, 400)
        return await self._sdk.handle(request)
