"""The real server as the end-to-end and reliability suites run it: `finance-mcp serve` in a subprocess on a
free loopback port, its log drained, and the SDK's own streamable-HTTP client talking to it with
MCP_Auth-shaped tokens. The fixtures built on these are in `conftest.py`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from finance_mcp.cli.dev import mint_token

SECRET = "e2e-secret-" + "k" * 40
STARTUP_TIMEOUT = 60.0
UNLIMITED_REGISTRATION = {"OAUTH_REGISTRATIONS_PER_ADDRESS": "1000000", "OAUTH_REGISTRATIONS_TOTAL": "1000000"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    base_url: str
    database_url: str
    process: subprocess.Popen[str]
    secret: str = SECRET
    startup_log: list[str] = field(default_factory=list[str])  # stderr up to "Application startup complete"

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    def token(self, *, tenant: str | None = None, sub: str | None = None, role: str | None = "OWNER", **kw: Any) -> str:
        return mint_token(self.secret, sub=sub or str(uuid.uuid4().int % 10**9), tenant=tenant, role=role, **kw)


def start_server(
    database_url: str, *, env: dict[str, str] | None = None, args: list[str] | None = None
) -> RunningServer:
    """Start `finance-mcp serve` and wait (bounded) for uvicorn's start-up line."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        # The suites written before the login bridge and API keys test the server without them; the
        # bridge's own suites turn them on (`bridge_server`).
        "OAUTH_BRIDGE": "false",
        "API_KEYS": "false",
        # Every suite registers clients from 127.0.0.1 into the run's shared databases; only the
        # registration-limit tests ask for a limit (their env overrides this).
        **UNLIMITED_REGISTRATION,
        # Property and fuzz suites write far faster than a person as one user; only the write-quota tests
        # (tests/e2e/test_idempotency.py) ask for a quota (their env overrides this).
        "WRITE_QUOTA_PER_MINUTE": "0",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "finance_mcp", "serve", "--port", str(port), *(args or [])],
        env=environment,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    seen: list[str] = []
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "Application startup complete" in line:
            return RunningServer(f"http://127.0.0.1:{port}", database_url, process, startup_log=seen)
    process.kill()
    raise RuntimeError("server did not start:\n" + "".join(seen))


def stop_server(server: RunningServer) -> None:
    server.process.send_signal(signal.SIGINT)  # uvicorn exits cleanly, so coverage data is saved
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
    if server.process.stderr is not None:
        server.process.stderr.close()


def drain_output(server: RunningServer) -> threading.Thread:
    """Read the server's log in the background so it never blocks on a full pipe."""
    assert server.process.stderr is not None
    thread = threading.Thread(target=server.process.stderr.read, daemon=True)
    thread.start()
    return thread


Connect = Callable[..., AbstractAsyncContextManager[Client]]


def connector(server: RunningServer) -> Connect:
    @asynccontextmanager
    async def open_client(token: str, *, mode: str = "auto", toolsets: str | None = None) -> AsyncIterator[Client]:
        """`toolsets` goes in the MCP URL as `?toolsets=` (None: the default list)."""
        url = server.mcp_url if toolsets is None else f"{server.mcp_url}?toolsets={toolsets}"
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=60))
        async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:  # type: ignore[arg-type]
            yield client

    return open_client
