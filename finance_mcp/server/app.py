"""The server factory: `build_server(settings)` and `build_app(settings)`; nothing is built at import."""

from __future__ import annotations

import difflib
import hashlib
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.request_state import RequestStateSecurity
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, InputRequiredResult
from mcp.types import Tool as MCPTool
from pydantic import AnyHttpUrl, ValidationError
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from finance_mcp import __version__
from finance_mcp.domain.errors import FinanceError, Unavailable
from finance_mcp.domain.principals import Principal
from finance_mcp.logs import configure_logging
from finance_mcp.server import edge, prompts, resources
from finance_mcp.server import toolsets as toolset_choice
from finance_mcp.server.api_key_checks import recheck_policy
from finance_mcp.server.auth import API_KEY_CLIENT_ID, BearerVerifier, JwtVerifier
from finance_mcp.server.dependencies import resolve_principal
from finance_mcp.server.errors import tool_error
from finance_mcp.server.oauth.bridge import LoginBridge, build_bridge
from finance_mcp.server.observe import CURRENT_CALL, CallObserver, CallRecord, ToolMetrics, metrics_endpoint
from finance_mcp.server.sdk_private import registered_tool
from finance_mcp.server.sessions import SessionsPerPrincipal
from finance_mcp.server.state import ServerState
from finance_mcp.server.tools import (
    accounts,
    analytics,
    api_keys,
    budgets,
    bulk,
    changes,
    exports,
    households,
    imports,
    overview,
    recurring,
    rules,
    transactions,
    transfers,
)
from finance_mcp.services.toolsets import toolsets_in_use
from finance_mcp.settings import Settings

NAME = "finance-mcp"
INSTRUCTIONS = """\
Personal and household finance: accounts and their transactions, shared by the members of a household.
Start with get_overview: balances, this month against last, and what to call next (whoami: your role).
Amounts are exact decimal strings with two places; negative = money out, positive = money in. Dates are
YYYY-MM-DD. Lists say how many there are in all (total) and page with next_cursor.
For "where did the money go" questions use spending_summary, cash_flow, net_worth, top_merchants and
category_trends: they compute totals in the database in one call (category "transfer" is never spending).
Writing tools take an optional idempotency_key: send a new UUID per request and the same one on a retry.
Every write can be undone (list_changes, undo_change). Tools come in toolsets (core, changes, import,
planning, keys); a tool not listed can still be called by name.
Errors say what was wrong and what to do next; nothing is changed when a call fails."""

LOCAL_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"]
LOCAL_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
CORS_HEADERS = ["Authorization", "Content-Type", "Mcp-Session-Id", "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name"]


class FinanceServer(MCPServer):
    """`MCPServer` whose argument-validation errors read like every other error: what and what next.

    The SDK validates arguments before the tool body runs and reports pydantic's raw text (class
    names, echoed inputs, a URL, no next step); this rewrites that one case through `tool_error`, the
    mapping the tool bodies' wrapper applies (`server/errors.py`).
    """

    state: ServerState | None = None  # what the lifespan opens: the database, the identities
    login_bridge: LoginBridge | None = None  # the OAuth authorization server's routes, when it is on
    observer: CallObserver = CallObserver()  # one log line per call; build_server adds metrics when asked
    bearer: BearerVerifier | None = None  # every credential's verifier, for the HTTP edge (server/edge.py)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Every tool call passes here: time it, and log and count it under a registered tool's name."""
        started = time.perf_counter()
        record = CallRecord()
        reset = CURRENT_CALL.set(record)
        ok = False
        try:
            result = await self._call_checked(name, arguments, context)
            ok = not (isinstance(result, CallToolResult) and result.is_error)
            return result
        finally:
            CURRENT_CALL.reset(reset)
            known = registered_tool(self, name) is not None
            self.observer.finish(name if known else "unknown", record, ok=ok, seconds=time.perf_counter() - started)

    async def _call_checked(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as error:
            registered = registered_tool(self, name)
            if registered is None:
                raise ToolError(await self._unknown_tool(name)) from None
            if not isinstance(error.__cause__, ValidationError):
                raise
            known = list(registered.parameters.get("properties", {}))
            raise ToolError(f"Error executing tool {name}: {tool_error(error.__cause__, known)}") from error.__cause__

    async def list_tools(self) -> list[MCPTool]:
        """The tools offered to this caller: the chosen toolsets, and of those what the caller may call
        (`server/toolsets.py`). Without a verified caller (in memory, unauthenticated), every tool."""
        tools = sorted(
            await super().list_tools(), key=lambda tool: toolset_choice.ORDER.get(tool.name, len(toolset_choice.ORDER))
        )
        token = get_access_token()
        if self.state is None or token is None:
            return tools
        try:
            principal = await resolve_principal(self.state)
            key_default = (token.claims or {}).get("toolsets") if token.client_id == API_KEY_CLIENT_ID else None
            in_use = await self._in_use(self.state, principal) if key_default is None else frozenset[str]()
            toolsets = toolset_choice.chosen(in_use, key_default=key_default)
        except FinanceError as error:
            raise MCPError(INVALID_PARAMS, str(error)) from None
        by_name = {tool.name: tool for tool in tools}
        return [by_name[name] for name in toolset_choice.offered(by_name, principal, toolsets)]

    @staticmethod
    async def _in_use(state: ServerState, principal: Principal) -> frozenset[str]:
        """The toolsets the household uses; none while the database is unreachable, so that tools/list (which
        clients also call to check a result) still answers, with the default list, during an outage."""
        try:
            return await toolsets_in_use(state.db, principal)
        except Unavailable:
            return frozenset()

    async def _unknown_tool(self, name: str) -> str:
        names = [tool.name for tool in await super().list_tools()]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(n) for n in close)}?" if close else ""
        return f"Unknown tool: {name[:100]!r}.{hint} tools/list names every tool this server offers."


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection is on unless ALLOWED_HOSTS is `*` (a proxy in front owns Host)."""
    if "*" in settings.allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = [*LOCAL_HOSTS, *settings.allowed_hosts]
    if settings.public_url:
        netloc = urlsplit(settings.public_url).netloc
        hosts += [netloc, f"{netloc.split(':')[0]}:*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[*LOCAL_ORIGINS, *settings.cors_origins],
    )


def build_server(settings: Settings) -> tuple[FinanceServer, ServerState]:
    state = ServerState(settings)

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncGenerator[ServerState]:
        state.open()
        try:
            await state.require_schema()
            yield state
        finally:
            await state.close()

    verifier = JwtVerifier(
        settings.secret_key,
        resource_url=settings.resource_url,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        leeway=settings.jwt_leeway_seconds,
        previous=settings.secret_key_previous,
    )
    bridge = build_bridge(settings, lambda: state.db, verifier) if settings.bridge_enabled else None
    bearer = BearerVerifier(
        verifier,
        bridge=bridge.tokens if bridge else None,
        key_store=(lambda: state.db) if settings.api_keys else None,
        resource_url=settings.resource_url,
        recheck=recheck_policy(settings, verifier) if settings.api_keys else None,
    )
    # Every worker and replica derives the same key, so multi-round-trip state survives load balancing.
    # The SDK seals with the first key and opens with any: the previous SECRET_KEY's state still opens.
    state_keys = [hashlib.sha256(f"finance-mcp request state:{key}".encode()).digest() for key in settings.secret_keys]
    mcp = FinanceServer(
        NAME,
        title="Finance",
        instructions=INSTRUCTIONS,
        version=__version__,
        token_verifier=bearer,
        auth=AuthSettings(
            issuer_url=bridge.issuer_url if bridge else AnyHttpUrl(settings.auth_server_url),
            resource_server_url=AnyHttpUrl(settings.resource_url),
            required_scopes=None,
            validate_token_resource=False,
        ),
        lifespan=lifespan,
        log_level="DEBUG" if settings.debug else "WARNING",
        request_state_security=RequestStateSecurity(keys=state_keys, audience=NAME),
    )
    mcp.login_bridge = bridge
    mcp.state = state
    if settings.metrics:
        metrics = ToolMetrics()
        mcp.observer = CallObserver(metrics)
        mcp.custom_route("/metrics", methods=["GET"], include_in_schema=False)(metrics_endpoint(settings, metrics))
    mcp.bearer = bearer
    households.register(mcp)
    overview.register(mcp)
    accounts.register(mcp)
    transactions.register(mcp)
    transfers.register(mcp)
    bulk.register(mcp)
    exports.register(mcp)
    analytics.register(mcp)
    changes.register(mcp)
    budgets.register(mcp)
    rules.register(mcp)
    recurring.register(mcp)
    imports.register(mcp, max_bytes=settings.max_request_body_bytes)
    if settings.api_keys:
        api_keys.register(mcp, unchecked_max_days=settings.api_key_unchecked_max_days)
    resources.register(mcp, state)
    prompts.register(mcp, state)

    @mcp.custom_route("/health", methods=["GET"], include_in_schema=False)
    async def health(_request: Request) -> Response:
        database = await state.database_health()  # "ok", "unavailable" or "schema not migrated: ..."
        ok = database == "ok"
        body = {"status": "healthy" if ok else "unhealthy", "version": __version__, "database": database}
        return JSONResponse(body, status_code=200 if ok else 503)

    return mcp, state


def build_app(settings: Settings) -> Starlette:
    mcp, _state = build_server(settings)
    return serve_http(mcp, settings)


def serve_http(mcp: FinanceServer, settings: Settings, *, json_response: bool = False) -> Starlette:
    """The ASGI app around a built server: streamable HTTP at /mcp, the login bridge's routes, CORS."""
    app = mcp.streamable_http_app(
        json_response=json_response,
        stateless_http=settings.stateless_http,
        max_request_body_size=settings.max_request_body_bytes,
        session_idle_timeout=settings.session_idle_seconds,
        max_sessions=settings.max_sessions,
        transport_security=transport_security(settings),
        host=settings.host,
    )
    if mcp.login_bridge is not None:
        app.router.routes.extend(mcp.login_bridge.routes())
    if mcp.bearer is not None and mcp.settings.auth is not None:
        # Before the session limit wraps /mcp: `harden` finds the SDK's auth guard as the route's app.
        edge.harden(app, mcp.bearer, resource_url=settings.resource_url, issuer=mcp.settings.auth.issuer_url)
    choose_toolsets(app)
    if not settings.stateless_http:
        limit_sessions_per_principal(app, settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=CORS_HEADERS,
            expose_headers=["Mcp-Session-Id"],
        )
    security = transport_security(settings)
    if security.enable_dns_rebinding_protection:  # outermost: every route, CORS preflights included
        app.add_middleware(edge.HostAllowlist, allowed_hosts=security.allowed_hosts)
    return app


def choose_toolsets(app: Starlette) -> None:
    """Wrap /mcp so that each request's `?toolsets=` or `X-Finance-Toolsets` reaches tools/list."""
    (route,) = [r for r in app.router.routes if isinstance(r, Route) and r.path == "/mcp"]
    route.app = toolset_choice.ToolsetChoice(route.app)


def limit_sessions_per_principal(app: Starlette, settings: Settings) -> None:
    """Wrap the authenticated /mcp endpoint (a public `Route.app`) in the per-principal session limit."""
    (route,) = [r for r in app.router.routes if isinstance(r, Route) and r.path == "/mcp"]
    route.app = SessionsPerPrincipal(
        route.app, limit=settings.max_sessions_per_principal, idle_seconds=settings.session_idle_seconds
    )


def create_app() -> Starlette:
    """Entry point for uvicorn's `--factory`: settings from the environment and `.env`."""
    settings = Settings()
    configure_logging(settings)
    return build_app(settings)
