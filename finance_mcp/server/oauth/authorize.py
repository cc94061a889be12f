"""GET|POST /authorize: the SDK's handler decides whether the request is valid; this decides how a refusal
reaches the person.

An error may travel back to the client by redirect only when both the client and the redirect URI are
verified: the request names a redirect URI (exactly one the client registered, or one its metadata document
lists) and that URI still passes today's redirect policy (rows registered before it may not). Every other
refusal is a page on this server, saying what went wrong: an error redirect to an unverified address would
make this server an open redirector that forwards people to any site without them seeing anything.
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qs, urlsplit

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from pydantic import AnyUrl, ValidationError
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from finance_mcp.server.oauth.client_metadata import redirect_uri_problem
from finance_mcp.server.oauth.page import render_problem, security_headers
from finance_mcp.server.oauth.provider import LOGIN_PATH, BridgeProvider

TITLE = "This sign-in cannot start"
ADVICE = (
    "The application that sent you here made a request this server cannot accept, so nothing was sent back "
    "to it. Go back to your assistant and connect again; if this keeps happening, tell its maker."
)
MESSAGES = {
    "invalid_request": "The sign-in request is incomplete or names an unknown application or return address.",
    "invalid_scope": "The application asked for permissions it did not register for.",
    "unsupported_response_type": "The application asked for a kind of answer this server does not give.",
    "invalid_target": "The application asked for access to a different server.",
}


class AuthorizePage:
    def __init__(self, provider: BridgeProvider) -> None:
        self._provider = provider
        self._sdk = AuthorizationHandler(provider)

    async def handle(self, request: Request) -> Response:
        params = request.query_params if request.method == "GET" else await request.form()
        response = await self._sdk.handle(request)
        location = response.headers.get("location")
        if location is not None:
            if location.startswith(f"{self._provider.tokens.issuer}{LOGIN_PATH}?") or await self._verified(params):
                return response
            query = parse_qs(urlsplit(location).query)
            return self._page(query.get("error", [""])[0], query.get("error_description", [""])[0])
        if response.status_code >= 400:
            return self._page(*_error_of(bytes(response.body)), client_id=_text(params, "client_id"))
        return response

    async def _verified(self, params: QueryParams | FormData) -> bool:
        """The request names a redirect URI, the client lists exactly that URI, and it is still allowed."""
        client_id, redirect_uri = _text(params, "client_id"), _text(params, "redirect_uri")
        if not client_id or not redirect_uri or redirect_uri_problem(redirect_uri) is not None:
            return False
        client = await self._provider.get_client(client_id)
        try:
            return client is not None and AnyUrl(redirect_uri) in (client.redirect_uris or [])
        except ValidationError:
            return False

    def _page(self, error: str, description: str, *, client_id: str = "") -> Response:
        message = MESSAGES.get(error, "The sign-in request could not be accepted.") + " " + ADVICE
        documents = self._provider.documents
        refusal = documents.refusal(client_id) if documents is not None and client_id else None
        details = f"{error}: {refusal or description}" if error else (refusal or description)
        nonce = secrets.token_urlsafe(16)
        return HTMLResponse(
            render_problem(TITLE, message, nonce, details=details), status_code=400, headers=security_headers(nonce)
        )


def _text(params: QueryParams | FormData, name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""


def _error_of(body: bytes) -> tuple[str, str]:
    """The SDK's JSON error body as (error, error_description)."""
    try:
        content = json.loads(body)
    except ValueError:
        return "server_error", ""
    if not isinstance(content, dict):
        return "server_error", ""
    return str(content.get("error") or ""), str(content.get("error_description") or "")  # type: ignore[union-attr]
