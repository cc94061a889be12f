"""A stand-in for MCP_Auth's sign-in endpoints that follows MCP_Auth's contract exactly (its access-token
claims, its `/auth/*` endpoints and their error shapes): the same request bodies, the same 200 body, the
same status codes and `detail` strings (with their stray "401: " prefix), refresh-token rotation and
revocation, deactivation.

Where that contract is silent (`/auth/totp/validate` for an unknown email or a user without TOTP), the
stand-in's answer is marked as an assumption. Tests change its "database" directly, as one would with
the real service (insert users, change roles, deactivate).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

ACCESS_TOKEN_SECONDS = 900
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
SPECIAL_USE = (".test", ".local", ".localhost", ".invalid")


def totp(secret: bytes, at: float) -> str:
    """RFC 6238: HMAC-SHA1 over the 30-second step, 6 digits (what authenticator apps compute)."""
    digest = hmac.new(secret, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


@dataclass
class Tenant:
    id: int
    email: str
    password: str
    active: bool = True
    name: str | None = None


@dataclass
class User:
    id: int
    tenant: Tenant
    username: str
    email: str
    password: str
    role: str = "MEMBER"
    active: bool = True
    totp_secret: bytes | None = None


@dataclass
class McpAuthStandIn:
    secret: str
    url: str = ""
    tenants: dict[str, Tenant] = field(default_factory=dict[str, Tenant])
    users: dict[int, User] = field(default_factory=dict[int, User])
    refresh_tokens: dict[str, tuple[int, bool]] = field(default_factory=dict[str, tuple[int, bool]])
    calls: list[str] = field(default_factory=list[str])
    # Who each sign-in call was about, (tenant email or "", username or email), and whose one-time code was
    # compared: what the sign-in throttle's tests count.
    sign_ins: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    totp_checks: list[int] = field(default_factory=list[int])
    # Paths that answer with the given status instead (an outage, or a proxy in front answering for it).
    outages: dict[str, int] = field(default_factory=dict[str, int])
    down: bool = False  # while True, /auth/refresh answers 503 (an outage)
    clock: Callable[[], float] = time.time
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(2, 10**9)))

    # ---- the "database", changed directly by tests -----------------------------------------------------

    def add_tenant(self, email: str, password: str) -> User:
        """A tenant and its OWNER (username = email = tenant email), as the first /auth/login makes them."""
        tenant = Tenant(next(self._ids), email.lower(), password)
        self.tenants[tenant.email] = tenant
        return self.add_user(tenant, username=tenant.email, email=tenant.email, password=password, role="OWNER")

    def add_user(self, tenant: Tenant, *, username: str, email: str, password: str, role: str = "MEMBER") -> User:
        user = User(next(self._ids), tenant, username, email, password, role)
        self.users[user.id] = user
        return user

    def set_role(self, user: User, role: str) -> None:
        """An owner changes a user's role (MCP_Auth: an UPDATE of users.role); later tokens carry it."""
        user.role = role

    def enable_totp(self, user: User) -> bytes:
        user.totp_secret = secrets.token_bytes(20)
        return user.totp_secret

    def code_for(self, user: User) -> str:
        assert user.totp_secret is not None
        return totp(user.totp_secret, self.clock())

    # ---- behaviour ----------------------------------------------------------------------------------

    def _tokens(self, user: User) -> JSONResponse:
        now = int(self.clock())
        claims = {
            "sub": str(user.id),
            "email": user.email,
            "tenant_id": str(user.tenant.id),
            "role": user.role,
            "exp": now + ACCESS_TOKEN_SECONDS,
            "iat": now,
            "scopes": [],
        }
        refresh = secrets.token_urlsafe(32)
        self.refresh_tokens[refresh] = (user.id, False)
        body = {
            "access_token": jwt.encode(claims, self.secret, algorithm="HS256"),
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": 900,
        }
        return JSONResponse(body)

    async def _body(self, request: Request, names: tuple[str, ...]) -> dict[str, str] | JSONResponse:
        """FastAPI's validation: JSON only, 422 in its list format for a missing field or a bad email."""
        try:
            body: Any = await request.json()
        except ValueError:
            return _unprocessable("json_invalid", ["body"], "JSON decode error")
        missing = [n for n in names if not isinstance(body, dict) or not isinstance(body.get(n), str)]
        if missing:
            return _unprocessable("missing", ["body", missing[0]], "Field required")
        for name in ("tenant_email", "email"):
            value = body.get(name)
            invalid = not isinstance(value, str) or not EMAIL.match(value) or value.lower().endswith(SPECIAL_USE)
            if name in names and invalid:
                return _unprocessable("value_error", ["body", name], f"value is not a valid email address: {value}")
        return {n: body[n] for n in names}

    async def login(self, request: Request) -> Response:
        """Never to be called by finance-mcp: it creates a tenant for an unknown email. Counted."""
        self.calls.append("/auth/login")
        body = await self._body(request, ("tenant_email", "password"))
        if isinstance(body, JSONResponse):
            return body
        tenant = self.tenants.get(body["tenant_email"].lower())
        if tenant is None:
            return self._tokens(self.add_tenant(body["tenant_email"], body["password"]))
        if tenant.password != body["password"]:
            return _detail(401, "401: Invalid email or password")
        return self._tokens(next(u for u in self.users.values() if u.tenant is tenant and u.role == "OWNER"))

    async def login_user(self, request: Request) -> Response:
        self.calls.append("/auth/login-user")
        if "/auth/login-user" in self.outages:
            return _detail(self.outages["/auth/login-user"], "Service Unavailable")
        body = await self._body(request, ("tenant_email", "username", "password"))
        if isinstance(body, JSONResponse):
            return body
        self.sign_ins.append((body["tenant_email"].lower(), body["username"]))
        tenant = self.tenants.get(body["tenant_email"].lower())
        if tenant is None:
            return _detail(401, "401: Invalid credentials")
        user = next((u for u in self.users.values() if u.tenant is tenant and u.username == body["username"]), None)
        if user is None or user.password != body["password"]:
            return _detail(401, "401: Invalid username or password")
        if not tenant.active:
            return _detail(401, "401: Tenant account is disabled")
        if not user.active:
            return _detail(401, "401: User account is disabled")
        return self._second_factor(user, await request.json()) or self._tokens(user)

    def _second_factor(self, user: User, body: dict[str, Any]) -> JSONResponse | None:
        """`/auth/login-user` with TOTP on (MCP_Auth 76fa393, app/routes/auth.py): the optional `totp_code`
        of `TenantUserLoginRequest` is required and checked against the current step."""
        if user.totp_secret is None:
            return None
        code = body.get("totp_code")
        if not code:
            return _detail(403, "TOTP verification required. Provide totp_code in the request.")
        self.totp_checks.append(user.id)
        return None if code == self.code_for(user) else _detail(401, "Invalid TOTP code.")

    async def tenants_me(self, request: Request) -> Response:
        """`GET /tenants/me` (any role): the tenant of the bearer token's user."""
        self.calls.append("/tenants/me")
        if "/tenants/me" in self.outages:
            return _detail(self.outages["/tenants/me"], "Service Unavailable")
        header = request.headers.get("authorization")
        if header is None:
            return _unprocessable("missing", ["header", "authorization"], "Field required")
        try:
            claims = jwt.decode(header.removeprefix("Bearer "), self.secret, algorithms=["HS256"])
            tenant = self.users[int(claims["sub"])].tenant
        except (jwt.PyJWTError, KeyError, ValueError):
            return _detail(401, "401: Invalid token: Signature verification failed")
        body = {"id": tenant.id, "email": tenant.email, "tenant_name": tenant.name, "is_active": tenant.active}
        return JSONResponse({**body, "created_at": "2026-11-25T16:19:49.077823", "updated_at": None})

    async def totp_validate(self, request: Request) -> Response:
        self.calls.append("/auth/totp/validate")
        body = await self._body(request, ("email", "password", "totp_code"))
        if isinstance(body, JSONResponse):
            return body
        self.sign_ins.append(("", body["email"]))
        user = next((u for u in self.users.values() if u.email == body["email"]), None)
        if user is None or user.password != body["password"]:
            return _detail(401, "401: Invalid email or password")  # assumption: not in the reference
        if not user.active or not user.tenant.active:
            return _detail(401, "401: User account is disabled")
        if user.totp_secret is None:
            return _detail(400, "400: TOTP is not enabled for this account")  # assumption
        self.totp_checks.append(user.id)
        if body["totp_code"] != self.code_for(user):
            return _detail(401, "Invalid TOTP code.")
        return self._tokens(user)

    async def refresh(self, request: Request) -> Response:
        self.calls.append("/auth/refresh")
        if "/auth/refresh" in self.outages:
            return _detail(self.outages["/auth/refresh"], "Service Unavailable")
        if self.down:
            return _detail(503, "Service Unavailable")
        body = await self._body(request, ("refresh_token",))
        if isinstance(body, JSONResponse):
            return body
        known = self.refresh_tokens.get(body["refresh_token"])
        if known is None:
            return _detail(401, "401: Invalid refresh token")
        user_id, revoked = known
        if revoked:
            return _detail(401, "401: Refresh token has been revoked")
        user = self.users[user_id]
        if not user.active or not user.tenant.active:
            return _detail(401, "401: User account is disabled")
        self.refresh_tokens[body["refresh_token"]] = (user_id, True)
        return self._tokens(user)

    async def logout(self, request: Request) -> Response:
        self.calls.append("/auth/logout")
        body = await self._body(request, ("refresh_token",))
        if isinstance(body, dict) and body["refresh_token"] in self.refresh_tokens:
            self.refresh_tokens[body["refresh_token"]] = (self.refresh_tokens[body["refresh_token"]][0], True)
        return Response(status_code=204)

    async def callback(self, request: Request) -> Response:
        """Not MCP_Auth: a page for a browser to land on after the sign-in redirect."""
        return HTMLResponse("<!doctype html><title>Signed in</title><p>You can close this tab.</p>")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/auth/login", self.login, methods=["POST"]),
                Route("/auth/login-user", self.login_user, methods=["POST"]),
                Route("/auth/totp/validate", self.totp_validate, methods=["POST"]),
                Route("/auth/refresh", self.refresh, methods=["POST"]),
                Route("/auth/logout", self.logout, methods=["POST"]),
                Route("/callback", self.callback, methods=["GET"]),
                Route("/tenants/me", self.tenants_me, methods=["GET"]),
            ]
        )


def _detail(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _unprocessable(kind: str, loc: list[str], message: str) -> JSONResponse:
    return JSONResponse({"detail": [{"type": kind, "loc": loc, "msg": message, "input": None}]}, status_code=422)


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a thread. The socket listens before the thread
    starts, so clients can connect at once (their connections wait in the backlog): no start-up wait."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
