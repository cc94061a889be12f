"""End-to-end fixtures: the real server (`servers.py`) on each backend, and clients connected to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.mcp_auth_stand_in import McpAuthStandIn, serving
from tests.e2e.servers import (
    SECRET,
    UNLIMITED_REGISTRATION,
    Connect,
    RunningServer,
    connector,
    drain_output,
    start_server,
    stop_server,
)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """One real server per backend for the whole run; tests isolate themselves by household."""
    running = start_server(str(request.getfixturevalue(f"{request.param}_url")))
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


@pytest.fixture
def connect(server: RunningServer) -> Connect:
    """`async with connect(token, mode="legacy") as client:`; modes: "auto" (2026-07-28) or "legacy"."""
    return connector(server)


# ---- the login bridge and API keys, against a stand-in for MCP_Auth ------------------------------------


@pytest.fixture(scope="session")
def mcp_auth() -> Iterator[McpAuthStandIn]:
    """MCP_Auth's sign-in endpoints (tests/e2e/mcp_auth_stand_in.py), served on a free loopback port."""
    stand_in = McpAuthStandIn(SECRET)
    with serving(stand_in.app()) as url:
        stand_in.url = url
        yield stand_in


# Every suite registers its clients from 127.0.0.1; the registration limit has its own tests
# (tests/reliability/abuse/test_oauth_register.py).


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def bridge_server(request: pytest.FixtureRequest, mcp_auth: McpAuthStandIn) -> Iterator[RunningServer]:
    """The real server with the OAuth login bridge and API keys on, signing people in at the stand-in."""
    env = {"OAUTH_BRIDGE": "true", "API_KEYS": "true", "AUTH_SERVER_URL": mcp_auth.url, **UNLIMITED_REGISTRATION}
    running = start_server(str(request.getfixturevalue(f"{request.param}_url")), env=env)
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


@pytest.fixture
def connect_bridge(bridge_server: RunningServer) -> Connect:
    """`connect`, to the server with the bridge and API keys on."""
    return connector(bridge_server)
