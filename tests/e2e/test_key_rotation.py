"""Rotating SECRET_KEY without signing anyone out, on the real server: a person signs in through the login
bridge, the server restarts with SECRET_KEY=new and SECRET_KEY_PREVIOUS=old, and their bridge access token,
its refresh, and an MCP_Auth token signed with the old key all keep working. Without SECRET_KEY_PREVIOUS
the old tokens get 401, which is what a rotation did to everyone before."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.e2e.helpers import bearer, post_tool_call
from tests.e2e.mcp_auth_stand_in import McpAuthStandIn
from tests.e2e.oauth_helpers import new_household, refresh, register, tokens_for
from tests.e2e.servers import SECRET, UNLIMITED_REGISTRATION, RunningServer, drain_output, start_server, stop_server

pytestmark = pytest.mark.anyio

NEW = secrets.token_urlsafe(48)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@contextmanager
def running(database_url: str, env: dict[str, str], port: str | None = None) -> Iterator[RunningServer]:
    """The server, on `port` when given: the bridge's tokens name the server's URL, so a restart that
    should accept them must come back at the same address."""
    server = start_server(database_url, env=env, args=["--port", port] if port else [])
    if port:  # the last --port wins
        server = dataclasses.replace(server, base_url=f"http://127.0.0.1:{port}")
    drain = drain_output(server)
    try:
        wait_until_listening(server)
        yield server
    finally:
        stop_server(server)
        drain.join(timeout=10)


def wait_until_listening(server: RunningServer) -> None:
    """uvicorn logs "Application startup complete" before it binds its socket: poll, bounded, until it
    answers, so the first request after a restart does not race the bind."""
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx2.get(f"{server.base_url}/health", timeout=5)
            return
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                raise


async def whoami(http: httpx2.AsyncClient, server: RunningServer, token: str) -> int:
    return (await post_tool_call(http, server.mcp_url, "whoami", {}, bearer(token))).status_code


async def test_a_rotation_with_the_previous_key_keeps_people_signed_in(database: str, mcp_auth: McpAuthStandIn) -> None:
    database_url = database
    env = {"OAUTH_BRIDGE": "true", "API_KEYS": "true", "AUTH_SERVER_URL": mcp_auth.url, **UNLIMITED_REGISTRATION}
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        with running(database_url, env) as before:
            port = str(urlsplit(before.base_url).port)
            client = await register(http, before.base_url)
            signed_in = await tokens_for(http, before.base_url, client, owner)
            login = await http.post(
                f"{mcp_auth.url}/auth/login-user",
                json={"tenant_email": owner.tenant_email, "username": owner.username, "password": owner.password},
            )
            mcp_auth_token = login.json()["access_token"]  # signed with the old key (SECRET)
            assert await whoami(http, before, signed_in["access_token"]) == 200

        rotating = {**env, "SECRET_KEY": NEW, "SECRET_KEY_PREVIOUS": SECRET}
        with running(database_url, rotating, port) as during:
            bridge_status = await whoami(http, during, signed_in["access_token"])
            mcp_auth_status = await whoami(http, during, mcp_auth_token)
            # The bridge opens the old-sealed MCP_Auth refresh token, refreshes it, and seals the new one
            # with the new key; MCP_Auth (the stand-in) still signs with the old key here.
            refreshed = await refresh(http, during.base_url, client, signed_in["refresh_token"])
            assert refreshed.status_code == 200, refreshed.text
            fresh_status = await whoami(http, during, refreshed.json()["access_token"])

        mcp_auth.secret = NEW  # MCP_Auth switches too; then the previous key is dropped
        try:
            with running(database_url, {**env, "SECRET_KEY": NEW, "SECRET_KEY_PREVIOUS": ""}, port) as after:
                old_bridge_status = await whoami(http, after, signed_in["access_token"])
                old_mcp_auth_status = await whoami(http, after, mcp_auth_token)
                new_bridge_status = await whoami(http, after, refreshed.json()["access_token"])
                # The refresh token from during the rotation was sealed with the new key: it still works.
                refreshed_again = await refresh(http, after.base_url, client, refreshed.json()["refresh_token"])
        finally:
            mcp_auth.secret = SECRET

    assert (bridge_status, mcp_auth_status, fresh_status) == (200, 200, 200)
    assert (old_bridge_status, old_mcp_auth_status) == (401, 401)
    assert new_bridge_status == 200
    assert refreshed_again.status_code == 200, refreshed_again.text
