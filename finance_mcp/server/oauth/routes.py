"""The bridge's HTTP surface, built from the SDK's own handlers (metadata, /register, /authorize, /token,
/revoke) plus the sign-in page.

We assemble the routes instead of passing `auth_server_provider=` to `MCPServer` for two reasons: the SDK's
`ClientAuthenticator` compares a client secret with a stored plaintext one, and we store only its hash; and
the metadata should also advertise public clients (`none`) and the RFC 9207 `iss` response parameter.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.handlers.revoke import RevocationErrorResponse
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.json_response import PydanticJSONResponse
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.routes import build_metadata
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.server.transport_security import RequestBodyLimitMiddleware
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from pydantic import AnyHttpUrl
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp

from finance_mcp.crypto import matches
from finance_mcp.domain.principals import FINANCE_SCOPES
from finance_mcp.server.oauth.authorize import AuthorizePage
from finance_mcp.server.oauth.login import SignInPage
from finance_mcp.server.oauth.provider import LOGIN_PATH, BridgeProvider, UpstreamUnavailable
from finance_mcp.server.oauth.registration import Registration
from finance_mcp.server.oauth.responses import oauth_error

# A real registration is well under 2 KB; the stored metadata is capped at 8 KB (client_metadata.py).
REGISTRATION_BODY_LIMIT = 16 * 1024
FORM_BODY_LIMIT = 64 * 1024
DEFAULT_SCOPES = ["finance:read", "finance:write"]

Handler = Callable[[Request], Awaitable[Response]]


class HashedSecretAuthenticator(ClientAuthenticator):
    """The SDK's client authentication at /token and /revoke, checking the secret against its hash."""

    def __init__(self, provider: BridgeProvider) -> None:
        super().__init__(provider)
        self._bridge = provider

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        form = await request.form()
        client_id = form.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationError("Missing client_id")
        record = await self._bridge.client_record(client_id)
        if record is None:
            raise AuthenticationError("Invalid client_id")
        client, secret_hash = record
        method = client.token_endpoint_auth_method
        if method == "none":
            return client
        presented = _basic_secret(request, client_id) if method == "client_secret_basic" else form.get("client_secret")
        if secret_hash is None or not isinstance(presented, str) or not matches(presented, secret_hash):
            raise AuthenticationError("Invalid client_secret")
        expires = client.client_secret_expires_at
        if expires and expires < int(time.time()):
            raise AuthenticationError("Client secret has expired")
        return client


def _basic_secret(request: Request, client_id: str) -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        raise AuthenticationError("Missing or invalid Basic authentication in Authorization header")
    try:
        basic_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise AuthenticationError("Invalid Basic authentication header") from None
    if unquote(basic_id) != client_id:
        raise AuthenticationError("Client ID mismatch in Basic auth")
    return unquote(secret)


class Revocation:
    """RFC 7009 revocation. The SDK's handler requires a `client_secret` field even from public clients
    (its model has no default), which public clients do not send; this is the same logic without that."""

    def __init__(self, provider: BridgeProvider, authenticator: ClientAuthenticator) -> None:
        self._provider = provider
        self._authenticator = authenticator

    async def handle(self, request: Request) -> Response:
        try:
            client = await self._authenticator.authenticate_request(request)
        except AuthenticationError as error:
            content = RevocationErrorResponse(error="unauthorized_client", error_description=error.message)
            return PydanticJSONResponse(status_code=401, content=content)
        token = (await request.form()).get("token")
        if not isinstance(token, str) or not token:
            content = RevocationErrorResponse(error="invalid_request", error_description="token is required")
            return PydanticJSONResponse(status_code=400, content=content)
        found = await self._provider.load_refresh_token(client, token) or await self._provider.load_access_token(token)
        if found is not None and found.client_id == client.client_id:
            await self._provider.revoke_token(found)
        # An unknown or foreign token gets the same 200 (RFC 7009 §2.2): nothing to learn from it.
        return Response(status_code=200, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def metadata(issuer: AnyHttpUrl, *, client_documents: bool = False) -> OAuthMetadata:
    built = build_metadata(
        issuer,
        None,
        ClientRegistrationOptions(enabled=True, valid_scopes=list(FINANCE_SCOPES), default_scopes=DEFAULT_SCOPES),
        RevocationOptions(enabled=True),
    )
    methods = ["none", "client_secret_post", "client_secret_basic"]
    return built.model_copy(
        update={
            "token_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
            "authorization_response_iss_parameter_supported": True,
            "client_id_metadata_document_supported": client_documents or None,
        }
    )


def _api(handler: Handler, methods: list[str], *, body_limit: int = FORM_BODY_LIMIT) -> ASGIApp:
    """Endpoints a browser-based client calls directly: CORS for any origin (no cookies), bounded bodies."""
    app: Any = RequestBodyLimitMiddleware(request_response(handler), body_limit)
    return CORSMiddleware(app, allow_origins=["*"], allow_methods=methods, allow_headers=[MCP_PROTOCOL_VERSION_HEADER])


def _retry_later(handler: Handler) -> Handler:
    """A refresh MCP_Auth could not check answers 503 with Retry-After: on a 400 clients drop the grant."""

    async def handle(request: Request) -> Response:
        try:
            return await handler(request)
        except UpstreamUnavailable as unavailable:
            return oauth_error(
                "temporarily_unavailable", unavailable.description, 503, retry_after=unavailable.retry_after
            )

    return handle


def bridge_routes(provider: BridgeProvider, *, issuer_url: AnyHttpUrl, secure_cookie: bool) -> list[Route]:
    authenticator = HashedSecretAuthenticator(provider)
    options = ClientRegistrationOptions(enabled=True, valid_scopes=list(FINANCE_SCOPES), default_scopes=DEFAULT_SCOPES)
    page = SignInPage(provider, secure_cookie=secure_cookie)
    token = TokenHandler(provider, authenticator)
    return [
        Route(
            "/.well-known/oauth-authorization-server",
            endpoint=_api(
                MetadataHandler(metadata(issuer_url, client_documents=provider.documents is not None)).handle,
                ["GET", "OPTIONS"],
            ),
            methods=["GET", "OPTIONS"],
        ),
        Route(
            "/register",
            endpoint=_api(
                Registration(provider, options).handle, ["POST", "OPTIONS"], body_limit=REGISTRATION_BODY_LIMIT
            ),
            methods=["POST", "OPTIONS"],
        ),
        Route(
            "/authorize",
            endpoint=RequestBodyLimitMiddleware(request_response(AuthorizePage(provider).handle), FORM_BODY_LIMIT),
            methods=["GET", "POST"],
        ),
        Route("/token", endpoint=_api(_retry_later(token.handle), ["POST", "OPTIONS"]), methods=["POST", "OPTIONS"]),
        Route(
            "/revoke",
            endpoint=_api(Revocation(provider, authenticator).handle, ["POST", "OPTIONS"]),
            methods=["POST", "OPTIONS"],
        ),
        Route(LOGIN_PATH, endpoint=page.show, methods=["GET"]),
        Route(
            LOGIN_PATH,
            endpoint=RequestBodyLimitMiddleware(request_response(page.submit), FORM_BODY_LIMIT),
            methods=["POST"],
        ),
    ]
