"""At most N legacy (2025-era, `Mcp-Session-Id`) sessions per principal: the newest evicts the oldest.

The SDK bounds sessions globally (`max_sessions`, then 503 for everyone) and expires idle ones
(`session_idle_timeout`), but not per principal, so one member could fill the global limit alone (issue 11,
item 4). This wraps the /mcp endpoint after authentication and watches the public protocol only: a
successful response that carries a new `Mcp-Session-Id` opens a session for the caller; a DELETE or a 404
for it ends it; the SDK's own idle rule (no request in flight for the idle period) expires it here too.

When a principal opens one more session than allowed, their least-recently-used session with no request
in flight is ended with an ordinary DELETE sent through the SDK (so a client that never says goodbye keeps
working); only if every one of their sessions is busy is the new one refused (HTTP 429). No SDK internals
are used: the principal is the SDK's own `authorization_context`, the one it binds sessions to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, AuthorizationContext, authorization_context
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

SESSION_HEADER = b"mcp-session-id"
VERSION_HEADER = b"mcp-protocol-version"
LEGACY_VERSIONS = frozenset({b"2024-11-05", b"2025-03-26", b"2025-06-18", b"2025-11-25"})
Key = tuple[str, str | None, str | None]


@dataclass
class _Session:
    last_used: float
    in_flight: int = 0


@dataclass
class _Principal:
    sessions: dict[str, _Session] = field(default_factory=dict[str, _Session])
    opening: int = 0  # new-session requests being served right now


def _key(context: AuthorizationContext) -> Key:
    return (context["client_id"], context["issuer"], context["subject"])


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


class SessionsPerPrincipal:
    """ASGI wrapper of the authenticated /mcp endpoint; see the module docstring."""

    def __init__(
        self, app: ASGIApp, *, limit: int, idle_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._app = app
        self._limit = limit
        self._idle = idle_seconds
        self._clock = clock
        self._principals: dict[Key, _Principal] = {}
        self._swept = clock()

    def open_sessions(self, context: AuthorizationContext) -> int:
        """How many sessions this principal holds now (for tests and logs)."""
        found = self._principals.get(_key(context))
        return 0 if found is None else len(self._live(found))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user") if scope["type"] == "http" else None
        version = _header(scope, VERSION_HEADER) if user is not None else None
        if not isinstance(user, AuthenticatedUser) or (version is not None and version not in LEGACY_VERSIONS):
            await self._app(scope, receive, send)  # unauthenticated (401 below) or the sessionless 2026 wire
            return
        self._sweep()
        key = _key(authorization_context(user))
        principal = self._principals.setdefault(key, _Principal())
        session_id = _header(scope, SESSION_HEADER)
        if session_id is None:
            await self._open(principal, scope, receive, send)
        else:
            await self._use(principal, session_id.decode("latin-1"), scope, receive, send)
        if not principal.sessions and not principal.opening:
            self._principals.pop(key, None)

    def _sweep(self) -> None:
        """Once per idle period, forget the principals whose sessions have all expired (who never came back)."""
        if self._clock() - self._swept < self._idle:
            return
        self._swept = self._clock()
        for key in [k for k, p in self._principals.items() if not self._live(p) and not p.opening]:
            del self._principals[key]

    def _live(self, principal: _Principal) -> dict[str, _Session]:
        """Forget sessions the SDK has expired by now (idle for the whole period, nothing in flight)."""
        now = self._clock()
        for sid in [s for s, v in principal.sessions.items() if not v.in_flight and now - v.last_used > self._idle]:
            del principal.sessions[sid]
        return principal.sessions

    async def _open(self, principal: _Principal, scope: Scope, receive: Receive, send: Send) -> None:
        if len(self._live(principal)) + principal.opening >= self._limit and not await self._evict(principal, scope):
            await self._refuse(scope, receive, send)
            return
        opened: list[str] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                opened.extend(v.decode("latin-1") for k, v in message.get("headers", []) if k == SESSION_HEADER)
            await send(message)

        principal.opening += 1
        try:
            await self._app(scope, receive, watch)
        finally:
            principal.opening -= 1
            for sid in opened:
                principal.sessions[sid] = _Session(last_used=self._clock())

    async def _use(self, principal: _Principal, sid: str, scope: Scope, receive: Receive, send: Send) -> None:
        session = principal.sessions.get(sid)
        if session is None:  # not a session this principal opened: the SDK answers 404
            await self._app(scope, receive, send)
            return
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        session.in_flight += 1
        try:
            await self._app(scope, receive, watch)
        finally:
            session.in_flight -= 1
            session.last_used = self._clock()
            ended = status and (status[0] == 404 or (scope["method"] == "DELETE" and status[0] < 400))
            if ended:
                principal.sessions.pop(sid, None)

    async def _evict(self, principal: _Principal, scope: Scope) -> bool:
        """End the principal's least-recently-used idle session with a DELETE; False when all are busy."""
        idle = [(s.last_used, sid) for sid, s in principal.sessions.items() if not s.in_flight]
        if not idle:
            return False
        sid = min(idle)[1]
        logger.info("session limit (%d) reached: ending the caller's least recently used session", self._limit)
        kept = [(k, v) for k, v in scope["headers"] if k in (b"host", b"origin", b"authorization", VERSION_HEADER)]
        headers = [*kept, (SESSION_HEADER, sid.encode("latin-1"))]
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await self._app(dict(scope, method="DELETE", headers=headers), _no_body, watch)
        if not status or (status[0] >= 400 and status[0] != 404):  # 404: it had just expired anyway
            logger.warning("could not end session for the session limit: HTTP %s", status)
            return False
        principal.sessions.pop(sid, None)
        return True

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (
            f"You already have {self._limit} open MCP sessions, each with a request in progress "
            "(MAX_SESSIONS_PER_PRINCIPAL); finish or end one (HTTP DELETE with its Mcp-Session-Id) and try again."
        )
        body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
        await JSONResponse(body, status_code=429, headers={"Retry-After": "5"})(scope, receive, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
