"""The real MCP server in this process, for tests of what the tools do, where HTTP adds nothing.

`build_server` is the same server `finance-mcp serve` runs (every tool, resource and prompt, the error
mapping, the lifespan that opens the database); the SDK's `Client(server)` talks to it in memory, on the
2026-07-28 protocol ("auto") or the 2025-11-25 stream loop ("legacy"). The bearer token is still verified
by the server's own verifier; what the HTTP edge would do next, binding the verified token to the request,
is done here by setting the SDK's auth context before the client starts the server's tasks. HTTP itself,
authentication failures, sessions and faults are the subprocess suites' business (`tests/e2e`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mcp import Client
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from finance_mcp.cli.dev import mint_token
from finance_mcp.server.app import FinanceServer, build_server
from finance_mcp.server.toolsets import CHOSEN
from finance_mcp.settings import Settings

SECRET = "in-process-secret-" + "k" * 40

Connect = Callable[..., AbstractAsyncContextManager[Client]]


@dataclass
class InProcessServer:
    """What a test needs of a server: tokens it accepts, and clients connected to it."""

    database_url: str
    secret: str = SECRET

    def token(self, *, tenant: str | None = None, sub: str | None = None, role: str | None = "OWNER", **kw: Any) -> str:
        return mint_token(self.secret, sub=sub or str(uuid.uuid4().int % 10**9), tenant=tenant, role=role, **kw)

    def build(self, **settings: Any) -> FinanceServer:
        """A fresh server on this database; `settings` as `Settings` fields (`scan_timeout_seconds=...`)."""
        configured = Settings(
            _env_file=None,  # pyright: ignore[reportCallIssue]  # pydantic-settings' constructor-only option
            database_url=self.database_url,
            secret_key=self.secret,
            # as the end-to-end servers: no quota, no API keys and no login bridge unless asked
            **({"write_quota_per_minute": 0, "api_keys": False, "oauth_bridge": False} | settings),
        )
        mcp, _state = build_server(configured)
        return mcp

    def connector(self, **settings: Any) -> Connect:
        mcp = self.build(**settings)

        @asynccontextmanager
        async def open_client(
            token: str, *, mode: str = "auto", toolsets: str | None = None, **options: Any
        ) -> AsyncIterator[Client]:
            """`toolsets` as a client would put it in `?toolsets=` (None: the default list); `options` for `Client`."""
            assert mcp.bearer is not None
            verified = await mcp.bearer.verify_token(token)
            assert verified is not None, "the server refused the test's own token"
            bound = auth_context_var.set(AuthenticatedUser(verified))
            chosen = CHOSEN.set(toolsets)
            try:
                async with Client(mcp, mode=mode, **options) as client:  # pyright: ignore[reportArgumentType]
                    yield client
            finally:
                CHOSEN.reset(chosen)
                auth_context_var.reset(bound)

        return open_client
