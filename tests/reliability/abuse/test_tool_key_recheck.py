"""Issue 11 item 5, its last gap: an API key made with the create_api_key TOOL re-checks its person with
MCP_Auth too. Under an OAuth sign-in through this server it re-checks through the sign-in's grant (and stops
when the sign-in ends); with a bare MCP_Auth token nothing can re-check it, so it lives at most a day and says
so. Against the real server on both databases, with the stand-in MCP_Auth; re-checks at every use
(API_KEY_RECHECK_SECONDS=0) and no grace, as the CLI keys' tests in test_auth_edge.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx2
import jwt
import pytest

from finance_mcp.db.database import open_database
from finance_mcp.repositories.oauth import OAuthRepository
from tests.e2e.conftest import mcp_auth
from tests.e2e.helpers import fresh_tenant
from tests.e2e.mcp_auth_stand_in import McpAuthStandIn
from tests.e2e.oauth_helpers import Client, Person, new_household, new_member, refresh, register, tokens_for
from tests.e2e.servers import UNLIMITED_REGISTRATION, RunningServer, drain_output, start_server, stop_server
from tests.reliability.abuse.test_auth_edge import NEW_ACCOUNT, refused_because, structured, tool

__all__ = ["mcp_auth"]

pytestmark = pytest.mark.anyio

WRITE = ["finance:read", "finance:write"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def bridge(request: pytest.FixtureRequest, mcp_auth: McpAuthStandIn) -> Iterator[RunningServer]:
    env = {
        "OAUTH_BRIDGE": "true",
        "API_KEYS": "true",
        "AUTH_SERVER_URL": mcp_auth.url,
        "API_KEY_RECHECK_SECONDS": "0",
        "API_KEY_RECHECK_GRACE_SECONDS": "0",
        **UNLIMITED_REGISTRATION,
    }
    running = start_server(str(request.getfixturevalue(f"{request.param}_url")), env=env)
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


async def signed_in(server: RunningServer, person: Person) -> tuple[Client, dict[str, Any]]:
    """A client registered at the bridge and the tokens of the person's sign-in through it."""
    async with httpx2.AsyncClient(timeout=30) as http:
        client = await register(http, server.base_url)
        return client, await tokens_for(http, server.base_url, client, person, scopes=WRITE)


async def key_under_sign_in(server: RunningServer, person: Person) -> tuple[Client, dict[str, Any], dict[str, Any]]:
    client, tokens = await signed_in(server, person)
    arguments = {"name": "header-only client", "scopes": WRITE}
    created = structured(await tool(server.mcp_url, tokens["access_token"], "create_api_key", arguments))
    return client, tokens, created


async def test_a_tool_key_made_under_an_oauth_sign_in_says_it_is_rechecked(
    bridge: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    _, tokens, created = await key_under_sign_in(bridge, member)
    listed = structured(await tool(bridge.mcp_url, tokens["access_token"], "list_api_keys"))

    assert created["api_key"]["rechecked_with_mcp_auth"] is True
    assert "OAuth sign-in" in created["api_key"]["recheck"]
    assert created["notice"] is None
    assert listed["api_keys"][0]["rechecked_with_mcp_auth"] is True


async def test_a_tool_keys_writes_are_refused_once_mcp_auth_demotes_its_person(
    bridge: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    _, _, created = await key_under_sign_in(bridge, member)
    structured(await tool(bridge.mcp_url, created["key"], "create_account", NEW_ACCOUNT))

    mcp_auth.set_role(member.user, "VIEWER")
    refused = await tool(bridge.mcp_url, created["key"], "create_account", NEW_ACCOUNT)
    again = await tool(bridge.mcp_url, created["key"], "list_accounts")

    assert "role at MCP_Auth is now viewer" in refused_because(refused)
    assert "revoked" in refused_because(again)


async def test_a_tool_key_stops_when_its_person_leaves_the_tenant(
    bridge: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    _, _, created = await key_under_sign_in(bridge, member)
    structured(await tool(bridge.mcp_url, created["key"], "whoami"))

    member.user.tenant = new_household(mcp_auth).user.tenant  # moved to another tenant at MCP_Auth
    refused = await tool(bridge.mcp_url, created["key"], "whoami")

    assert "no longer in this household" in refused_because(refused)


async def test_while_mcp_auth_is_down_past_the_grace_a_tool_key_is_refused_but_not_stopped(
    bridge: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    _, _, created = await key_under_sign_in(bridge, member)

    mcp_auth.down = True
    try:
        during = await tool(bridge.mcp_url, created["key"], "whoami")
    finally:
        mcp_auth.down = False
    after = await tool(bridge.mcp_url, created["key"], "whoami")

    assert "MCP_Auth is unreachable" in refused_because(during)
    assert structured(after)["role"] == "member"


async def test_signing_out_of_the_oauth_sign_in_stops_the_keys_made_under_it(
    bridge: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    client, tokens, created = await key_under_sign_in(bridge, member)
    structured(await tool(bridge.mcp_url, created["key"], "whoami"))

    async with httpx2.AsyncClient(timeout=30) as http:
        revoked = await http.post(
            f"{bridge.base_url}/revoke", data={"token": tokens["refresh_token"], **client.credentials()}
        )
    refused = await tool(bridge.mcp_url, created["key"], "whoami")

    assert revoked.status_code == 200
    assert "OAuth sign-in it was made under has ended" in refused_because(refused)


async def test_the_sign_ins_client_and_its_key_take_turns_with_one_mcp_auth_refresh_token(
    bridge: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    client, tokens, created = await key_under_sign_in(bridge, member)

    async with httpx2.AsyncClient(timeout=30) as http:
        first = await refresh(http, bridge.base_url, client, tokens["refresh_token"])
        structured(await tool(bridge.mcp_url, created["key"], "create_account", NEW_ACCOUNT))
        second = await refresh(http, bridge.base_url, client, first.json()["refresh_token"])
    structured(await tool(bridge.mcp_url, created["key"], "create_account", NEW_ACCOUNT))
    mcp_auth.set_role(member.user, "VIEWER")
    refused = await tool(bridge.mcp_url, created["key"], "create_account", NEW_ACCOUNT)

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert "role at MCP_Auth is now viewer" in refused_because(refused)


async def hold_the_mcp_auth_token(database_url: str, grant_id: int, *, held: bool) -> None:
    """Claim (or let go of) the grant's MCP_Auth refresh token, as a key's re-check does around its call."""
    db = open_database(database_url)
    try:
        async with db.connect(write=True) as conn:
            repo = OAuthRepository(conn)
            if held:
                now = dt.datetime.now(dt.UTC)
                assert (await repo.claim_upstream(grant_id, now=now, until=now + dt.timedelta(minutes=5)))[0]
            else:
                await repo.release_upstream(grant_id)
            await conn.commit()
    finally:
        await db.dispose()


async def test_a_client_refresh_while_a_key_is_rechecked_is_told_to_retry_and_loses_nothing(
    bridge: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    client, tokens, _ = await key_under_sign_in(bridge, member)
    grant_id = jwt.decode(tokens["access_token"], options={"verify_signature": False})["gid"]

    await hold_the_mcp_auth_token(bridge.database_url, grant_id, held=True)
    async with httpx2.AsyncClient(timeout=30) as http:
        busy = await refresh(http, bridge.base_url, client, tokens["refresh_token"])
        await hold_the_mcp_auth_token(bridge.database_url, grant_id, held=False)
        retried = await refresh(http, bridge.base_url, client, tokens["refresh_token"])

    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"] == "temporarily_unavailable"
    assert retried.status_code == 200, retried.text


async def test_a_tool_key_made_with_a_bare_mcp_auth_token_lives_a_day_and_says_it_is_not_rechecked(
    bridge: RunningServer,
) -> None:
    token = bridge.token(tenant=fresh_tenant(), role="MEMBER")
    arguments = {"name": "bare", "scopes": ["finance:read"], "expires_in_days": 90}

    created = structured(await tool(bridge.mcp_url, token, "create_api_key", arguments))
    lifetime = dt.datetime.fromisoformat(created["api_key"]["expires_at"]) - dt.datetime.now(dt.UTC)

    assert created["api_key"]["rechecked_with_mcp_auth"] is False
    assert "not re-checked" in created["notice"]
    assert "not the 90 asked for" in created["notice"]
    assert "sign in through OAuth" in created["notice"]
    assert dt.timedelta(hours=23) < lifetime <= dt.timedelta(days=1)
