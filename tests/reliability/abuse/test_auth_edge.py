"""Issue 11, tokens, hosts and keys, tried against the real server on both databases: claims in odd types
and spellings, a wrong Host on every route, development tokens aimed at a real household, what a 401 and
the metadata tell a client, and an API key whose person was demoted or disabled at MCP_Auth."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import jwt
import pytest

from tests.e2e.conftest import bridge_server, mcp_auth
from tests.e2e.helpers import bearer, fresh_sub, jsonrpc_message, post_tool_call
from tests.e2e.mcp_auth_stand_in import McpAuthStandIn
from tests.e2e.oauth_helpers import new_household, new_member
from tests.e2e.servers import SECRET, RunningServer, drain_output, start_server, stop_server
from tests.reliability.conftest import server

__all__ = ["bridge_server", "mcp_auth", "server"]

pytestmark = pytest.mark.anyio

NEW_ACCOUNT = {"name": "Probe", "account_type": "checking", "opening_balance": "1"}
ALL_SCOPES = "finance:read finance:write finance:admin"


def fresh_tenant_id() -> str:
    return str(int(time.time_ns() % 10**12) + 10**12)


def claims(tenant: Any, **changes: Any) -> dict[str, Any]:
    """MCP_Auth's seven claims (its token contract); `None` removes one."""
    now = int(time.time())
    base = {"sub": fresh_sub(), "email": "p@example.com", "tenant_id": tenant, "role": "OWNER"}
    base |= {"exp": now + 900, "iat": now, "scopes": []}
    return {k: v for k, v in (base | changes).items() if v is not None}


def signed(body: dict[str, Any]) -> str:
    return jwt.encode(body, SECRET, algorithm="HS256")


async def tool(url: str, token: str, name: str, arguments: dict[str, Any] | None = None) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=30) as http:
        return await post_tool_call(http, url, name, arguments or {}, bearer(token))


def structured(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result = jsonrpc_message(response)["result"]
    assert not result.get("isError"), result
    return result["structuredContent"]


def refused_because(response: httpx2.Response) -> str:
    """The 401's reason, checked to be in both the body and the challenge, with the scopes to ask for."""
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert f'scope="{ALL_SCOPES}"' in challenge
    assert "resource_metadata=" in challenge
    description = response.json()["error_description"]
    assert f'error_description="{description}"' in challenge
    return description


# ---- item 8: one canonical form for each claim, or a 401 that names it -----------------------------

MALFORMED = {
    "aud a number": {"aud": 123},
    "aud a list of numbers": {"aud": [1, 2]},
    "scopes a string": {"scopes": "finance:admin"},
    "scopes a list of numbers": {"scopes": [1]},
    "scope a list": {"scope": ["finance:read"]},
    "role unknown": {"role": "SUPERUSER"},
    "role a number": {"role": 1},
    "email a number": {"email": 42},
    "exp a string": {"exp": "99999999999"},
    "exp true (PyJWT reads it as 1: long expired)": {"exp": True},
    "tenant_id with a leading zero": {"tenant_id": "02"},
    "tenant_id with a space": {"tenant_id": " 2"},
    "tenant_id a float": {"tenant_id": 2.0},
    "tenant_id true": {"tenant_id": True},
    "tenant_id negative": {"tenant_id": -2},
    "tenant_id empty": {"tenant_id": ""},
    "sub empty": {"sub": ""},
    "sub a NUL": {"sub": "\x00"},
    "sub with a colon": {"sub": "1:2"},
    "a dev- tenant without the development marker": {"tenant_id": "dev-1"},
    "the development marker on a real tenant": {"finance_mcp_dev": True, "sub": "dev-1", "tenant_id": "2"},
}


@pytest.mark.parametrize("case", MALFORMED)
async def test_a_malformed_claim_is_a_401_that_names_it_and_writes_nothing(server: RunningServer, case: str) -> None:
    tenant = fresh_tenant_id()
    bad = signed(claims(tenant) | MALFORMED[case])

    response = await tool(server.mcp_url, bad, "create_account", NEW_ACCOUNT)

    reason = refused_because(response)
    assert ("expired" if "exp true" in case else "claim") in reason
    listed = structured(await tool(server.mcp_url, signed(claims(tenant)), "list_accounts"))
    assert listed["total"] == 0


async def test_an_integer_tenant_id_is_the_same_household_as_its_string(server: RunningServer) -> None:
    tenant = fresh_tenant_id()
    made = structured(await tool(server.mcp_url, signed(claims(int(tenant))), "create_account", NEW_ACCOUNT))

    listed = structured(await tool(server.mcp_url, signed(claims(tenant)), "list_accounts"))

    assert [a["id"] for a in listed["accounts"]] == [made["id"]]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": 1_000_000, "iat": 999_000}, "expired"),
        ({"aud": "https://elsewhere.example/mcp"}, "another audience"),
        ({"nbf": 99_999_999_999}, "not valid yet"),
    ],
    ids=["expired", "wrong audience", "not yet valid"],
)
async def test_a_401_says_why_the_token_was_refused(
    server: RunningServer, changes: dict[str, Any], reason: str
) -> None:
    response = await tool(server.mcp_url, signed(claims(fresh_tenant_id()) | changes), "whoami")

    assert reason in refused_because(response)


async def test_a_token_signed_with_another_key_is_told_so_without_the_key(server: RunningServer) -> None:
    other = jwt.encode(claims(fresh_tenant_id()), "another-secret-" + "x" * 40, algorithm="HS256")

    description = refused_because(await tool(server.mcp_url, other, "whoami"))

    assert "signature" in description
    assert SECRET not in description


# ---- item 9: the Host allowlist on every route -------------------------------------------------------

ROUTES = [
    ("POST", "/register"),
    ("GET", "/authorize"),
    ("GET", "/oauth/login"),
    ("POST", "/token"),
    ("POST", "/revoke"),
    ("GET", "/.well-known/oauth-protected-resource/mcp"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("POST", "/mcp"),
    ("OPTIONS", "/token"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_a_rebinding_host_gets_421_on_every_route(bridge_server: RunningServer, method: str, path: str) -> None:
    headers = {"Host": "attacker.example", "Origin": "http://attacker.example", "Content-Type": "application/json"}

    response = httpx2.request(method, bridge_server.base_url + path, headers=headers, content=b"{}", timeout=30)

    assert response.status_code == 421
    assert response.text == "Invalid Host header"


def test_health_answers_a_load_balancer_probing_with_an_ip_host(bridge_server: RunningServer) -> None:
    response = httpx2.get(bridge_server.base_url + "/health", headers={"Host": "10.1.2.3:8000"}, timeout=30)

    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


# ---- item 10: development tokens never name a real household ---------------------------------------


def mint_with_cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PUBLIC_URL", "HOST", "PORT"}}
    env |= {"SECRET_KEY": server.secret, "DATABASE_URL": server.database_url}
    command = [sys.executable, "-m", "finance_mcp", "token", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


async def test_the_cli_token_for_sub_1_tenant_2_opens_a_dev_household_not_tenant_2(server: RunningServer) -> None:
    real_owner = signed(claims("2", sub="1", email="real-owner@example.com"))
    before = structured(await tool(server.mcp_url, real_owner, "whoami"))

    done = mint_with_cli(server, "--sub", "1", "--tenant", "2", "--email", "dev@example.com")
    dev = structured(await tool(server.mcp_url, done.stdout.strip(), "whoami"))
    after = structured(await tool(server.mcp_url, real_owner, "whoami"))

    assert done.returncode == 0, done.stderr
    assert "dev- namespace" in done.stderr
    assert dev["user"]["auth_user_id"] == "dev-1"
    assert dev["household"]["name"] == "Household dev-2"
    assert dev["household"]["id"] != before["household"]["id"]
    assert after["user"]["email"] == "real-owner@example.com"


# ---- item 11: what a client is told -----------------------------------------------------------------


def test_the_protected_resource_metadata_lists_the_finance_scopes(bridge_server: RunningServer) -> None:
    resource = httpx2.get(bridge_server.base_url + "/.well-known/oauth-protected-resource/mcp", timeout=30).json()
    server_side = httpx2.get(bridge_server.base_url + "/.well-known/oauth-authorization-server", timeout=30).json()

    assert resource["scopes_supported"] == ALL_SCOPES.split()
    assert set(server_side["scopes_supported"]) == set(ALL_SCOPES.split())


async def test_a_request_without_a_token_is_challenged_with_the_scopes(server: RunningServer) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await post_tool_call(http, server.mcp_url, "whoami", {}, {})

    assert refused_because(response) == "Authentication required"


def test_api_key_create_without_a_tty_or_password_stdin_says_so_with_exit_code_2(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"PUBLIC_URL", "HOST", "PORT"}}
    env |= {"SECRET_KEY": SECRET, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    args = ["api-key", "create", "--tenant-email", "a@example.com", "--username", "a", "--name", "n"]
    command = [sys.executable, "-m", "finance_mcp", *args, "--scope", "finance:read"]

    done = subprocess.run(command, env=env, input="", capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 2
    assert "--password-stdin" in done.stderr
    assert "Traceback" not in done.stderr
    assert "EOFError" not in done.stderr


# ---- item 5: an API key re-checks its person with MCP_Auth --------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def rechecking_server(request: pytest.FixtureRequest, mcp_auth: McpAuthStandIn) -> Iterator[RunningServer]:
    """Keys re-checked at every use, and no grace while MCP_Auth is down (the figures of the tests below)."""
    env = {
        "API_KEYS": "true",
        "AUTH_SERVER_URL": mcp_auth.url,
        "API_KEY_RECHECK_SECONDS": "0",
        "API_KEY_RECHECK_GRACE_SECONDS": "0",
    }
    running = start_server(str(request.getfixturevalue(f"{request.param}_url")), env=env)
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


def key_from_cli(server: RunningServer, mcp_auth: McpAuthStandIn, person: Any, *scopes: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"PUBLIC_URL", "HOST", "PORT"}}
    env |= {"SECRET_KEY": SECRET, "DATABASE_URL": server.database_url, "AUTH_SERVER_URL": mcp_auth.url}
    args = ["--tenant-email", person.tenant_email, "--username", person.username, "--name", "laptop"]
    command = [sys.executable, "-m", "finance_mcp", "api-key", "create", "--password-stdin", *args]
    command += [f"--scope={s}" for s in scopes]
    done = subprocess.run(
        command, env=env, input=person.password + "\n", capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def test_a_members_key_stops_once_mcp_auth_demotes_them_to_viewer(
    rechecking_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    key = key_from_cli(rechecking_server, mcp_auth, member, "finance:read", "finance:write")
    structured(await tool(rechecking_server.mcp_url, key, "create_account", NEW_ACCOUNT))

    mcp_auth.set_role(member.user, "VIEWER")
    refused = await tool(rechecking_server.mcp_url, key, "create_account", NEW_ACCOUNT)
    again = await tool(rechecking_server.mcp_url, key, "list_accounts")

    assert "role at MCP_Auth is now viewer" in refused_because(refused)
    assert "revoked" in refused_because(again)


async def test_a_read_only_key_of_a_demoted_admin_goes_on_with_the_lower_role(
    rechecking_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    admin = new_member(mcp_auth, new_household(mcp_auth), role="ADMIN")
    key = key_from_cli(rechecking_server, mcp_auth, admin, "finance:read")

    mcp_auth.set_role(admin.user, "MEMBER")
    me = structured(await tool(rechecking_server.mcp_url, key, "whoami"))
    mcp_auth.set_role(admin.user, "OWNER")
    promoted = structured(await tool(rechecking_server.mcp_url, key, "whoami"))

    assert me["role"] == "member"
    assert promoted["role"] == "member"  # a key never widens


async def test_a_key_of_a_person_disabled_at_mcp_auth_is_stopped(
    rechecking_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    key = key_from_cli(rechecking_server, mcp_auth, member, "finance:read")
    structured(await tool(rechecking_server.mcp_url, key, "whoami"))

    member.user.active = False
    refused = await tool(rechecking_server.mcp_url, key, "whoami")

    assert "no longer vouches" in refused_because(refused)


async def test_while_mcp_auth_is_down_past_the_grace_a_key_is_refused_but_not_stopped(
    rechecking_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    key = key_from_cli(rechecking_server, mcp_auth, member, "finance:read")

    mcp_auth.down = True
    try:
        during = await tool(rechecking_server.mcp_url, key, "whoami")
    finally:
        mcp_auth.down = False
    after = await tool(rechecking_server.mcp_url, key, "whoami")

    assert "MCP_Auth is unreachable" in refused_because(during)
    assert structured(after)["role"] == "member"
