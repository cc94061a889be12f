"""The real server with small limits (sessions, quotas, slow clients), once per backend, and raw-HTTP helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx2
import pytest

from tests.e2e.helpers import LEGACY_WIRE, bearer, jsonrpc_message, legacy_headers
from tests.e2e.servers import RunningServer, drain_output, start_server, stop_server

SESSIONS_PER_PRINCIPAL = 4
ALL_SESSIONS = 20
ACCOUNTS = 3
TRANSACTIONS = 10
API_KEYS = 2
STORED_BYTES = 5000
CONCURRENCY = 40
LIMITS = {
    "MAX_SESSIONS_PER_PRINCIPAL": SESSIONS_PER_PRINCIPAL,
    "MAX_SESSIONS": ALL_SESSIONS,
    "MAX_ACCOUNTS_PER_HOUSEHOLD": ACCOUNTS,
    "MAX_TRANSACTIONS_PER_HOUSEHOLD": TRANSACTIONS,
    "MAX_API_KEYS_PER_HOUSEHOLD": API_KEYS,
    "MAX_STORED_BYTES_PER_HOUSEHOLD": STORED_BYTES,
    "LIMIT_CONCURRENCY": CONCURRENCY,
    "HEADER_TIMEOUT_SECONDS": 1,
    "BODY_TIMEOUT_SECONDS": 2,
    "API_KEYS": "true",
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": LEGACY_WIRE, "capabilities": {}, "clientInfo": {"name": "abuse", "version": "1"}},
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def limited(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """The real server with the small limits above, on each backend."""
    env = {name: str(value) for name, value in LIMITS.items()}
    running = start_server(str(request.getfixturevalue(f"{request.param}_url")), env=env)
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


def rss_mb(pid: int) -> float:
    """The process's resident set size, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def initialize(http: httpx2.AsyncClient, url: str, token: str) -> httpx2.Response:
    """A 2025-11-25 `initialize` without a session id: what opens a session."""
    return await http.post(url, json=INITIALIZE, headers=legacy_headers(extra=bearer(token)))


async def session_answers(http: httpx2.AsyncClient, url: str, token: str, session_id: str) -> int:
    """The HTTP status a `tools/list` in the session gets (200 while it lives, 404 once it is gone)."""
    body = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    response = await http.post(url, json=body, headers=legacy_headers(session_id, bearer(token)))
    if response.status_code == 200:
        assert "result" in jsonrpc_message(response)
    return response.status_code


async def poll(check: Callable[[], Awaitable[bool]], *, within: float, every: float = 0.1) -> bool:
    """Whether `check` came true within `within` seconds (a bounded poll; `every` is its interval)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every)  # the polling interval, not a wait for something to happen
    return await check()
