"""The HTTP edge around the SDK's app: one Host allowlist for every route, 401s that say why and which
scopes to ask for, and protected-resource metadata that lists the scopes.

* Host: the SDK checks Host (DNS-rebinding protection) only on /mcp. A rebinding page could still drive
  /authorize, /oauth/login, /token and /register, or read the metadata, through a victim's browser. One
  middleware on the whole app answers a wrong Host with the SDK's own 421 `Invalid Host header`. `/health`
  is exempt: load balancers and orchestrators probe it with an IP or internal name as Host, and it tells
  nothing but "healthy", the version and whether the database answers.
* 401: the SDK's middleware says "Authentication required" whatever went wrong and names no scope. Ours
  carries the verifier's reason (expired, revoked, wrong audience, bad signature, malformed claim) in
  `error_description`, and `scope` with every finance scope, so a client that follows the spec asks for
  finance:admin too and an owner can grant it. A lacking scope is refused per tool call (an `isError` that
  names the scope), because one connection carries calls that need different scopes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, RequireAuthMiddleware
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from finance_mcp.domain.principals import FINANCE_SCOPES
from finance_mcp.server.auth import BearerVerifier, Rejected

REASON = "finance_mcp.auth_refusal"
METADATA_PATH = "/.well-known/oauth-protected-resource"
HOST_EXEMPT = frozenset({"/health"})


def host_allowed(host: str | None, allowed: list[str]) -> bool:
    """The SDK's rule (mcp.server.transport_security): an exact match, or `name:*` for any port."""
    if not host:
        return False
    return host in allowed or any(a.endswith(":*") and host.startswith(a[:-1]) for a in allowed)


class HostAllowlist:
    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        checked = scope["type"] in ("http", "websocket") and scope["path"] not in HOST_EXEMPT
        if checked and not host_allowed(Headers(scope=scope).get("host"), self.allowed_hosts):
            await Response("Invalid Host header", status_code=421)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class ExplainingBearerBackend(AuthenticationBackend):
    """The SDK's bearer backend, keeping the verifier's reason for a refusal on the request scope."""

    def __init__(self, verifier: BearerVerifier) -> None:
        self._verifier = verifier

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, AuthenticatedUser] | None:
        header = conn.headers.get("authorization")
        if not header or not header.lower().startswith("bearer "):
            return None
        checked = await self._verifier.check(header[7:])
        if isinstance(checked, Rejected):
            conn.scope[REASON] = checked.reason
            return None
        if checked.expires_at and checked.expires_at < int(time.time()):
            conn.scope[REASON] = "the credential has expired; sign in again for a new one"
            return None
        return AuthCredentials(checked.scopes), AuthenticatedUser(checked)


def _quoted(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


class RequireBearer:
    """/mcp's guard: the SDK's `RequireAuthMiddleware` with the reason and the scopes in the challenge."""

    def __init__(self, app: ASGIApp, resource_metadata_url: AnyHttpUrl) -> None:
        self.app = app
        self.resource_metadata_url = resource_metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if isinstance(scope.get("user"), AuthenticatedUser):
            await self.app(scope, receive, send)
            return
        description = str(scope.get(REASON) or "Authentication required")
        challenge = ", ".join(
            [
                'error="invalid_token"',
                f'error_description="{_quoted(description)}"',
                f'scope="{" ".join(FINANCE_SCOPES)}"',
                f'resource_metadata="{self.resource_metadata_url}"',
            ]
        )
        body = json.dumps({"error": "invalid_token", "error_description": description}).encode()
        headers = {"WWW-Authenticate": f"Bearer {challenge}", "Content-Type": "application/json"}
        await Response(body, status_code=401, headers=headers)(scope, receive, send)


def harden(app: Starlette, verifier: BearerVerifier, *, resource_url: str, issuer: AnyHttpUrl) -> None:
    """Rewire the SDK-built app (before its first request): explaining bearer checks on /mcp, and metadata
    with `scopes_supported`."""
    resource = AnyHttpUrl(resource_url)
    app.user_middleware = [
        Middleware(AuthenticationMiddleware, backend=ExplainingBearerBackend(verifier))
        if m.cls is AuthenticationMiddleware
        else m
        for m in app.user_middleware
    ]
    routes: list[Any] = []
    guarded = 0
    for route in app.router.routes:
        if isinstance(route, Route) and route.path.startswith(METADATA_PATH):
            continue
        if isinstance(route, Route) and isinstance(route.app, RequireAuthMiddleware):
            route.app = RequireBearer(route.app.app, build_resource_metadata_url(resource))
            guarded += 1
        routes.append(route)
    if not guarded:  # the SDK (or a wrapper applied first) moved its auth guard: fail loudly, not silently
        raise RuntimeError("edge.harden found no RequireAuthMiddleware route to rewire")
    routes += create_protected_resource_routes(resource, [issuer], scopes_supported=list(FINANCE_SCOPES))
    app.router.routes = routes
