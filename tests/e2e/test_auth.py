"""Bearer tokens over real HTTP: every bad token is a 401 that points at the RFC 9728 metadata and writes
nothing; MCP_Auth's real tokens work unchanged; a legacy session cannot be driven with another token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import MCPError

from tests.e2e.helpers import (
    LEGACY_WIRE,
    bearer,
    call,
    fresh_sub,
    fresh_tenant,
    jsonrpc_message,
    legacy_headers,
    open_legacy_session,
    post_tool_call,
    tool_call_body,
)
from tests.e2e.servers import SECRET, RunningServer, drain_output, start_server, stop_server

pytestmark = pytest.mark.anyio

AUDIENCE = "finance-mcp-test"
FOREIGN_AUDIENCE = "https://elsewhere.example/mcp"
NEW_ACCOUNT = {"name": "Intruder", "account_type": "checking", "opening_balance": "1"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims_for(tenant: str, **changes: Any) -> dict[str, Any]:
    """MCP_Auth's access-token claim set (sub, tenant_id, email, role, scopes, iat, exp); `None` removes a claim."""
    now = int(time.time())
    claims = {
        "sub": fresh_sub(),
        "email": "someone@example.com",
        "tenant_id": tenant,
        "role": "OWNER",
        "exp": now + 900,
        "iat": now,
        "scopes": [],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def signed(claims: dict[str, Any], *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def unsigned(claims: dict[str, Any]) -> str:
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims)}."


def rs256(claims: dict[str, Any]) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256")


def hmac_signed(claims: dict[str, Any], *, alg: str, digest: Any = hashlib.sha256) -> str:
    """A token signed with an HMAC of the shared secret under any `alg` header (built by hand, like an attacker)."""
    signing_input = f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(claims)}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def tampered(claims: dict[str, Any]) -> str:
    header, _payload, signature = signed(claims).split(".")
    return f"{header}.{segment(claims | {'role': 'OWNER', 'tenant_id': claims['tenant_id'] + '0'})}.{signature}"


def now() -> int:
    return int(time.time())


# name -> Authorization header for the tenant (None: no header at all)
BAD_AUTHORIZATIONS = {
    "no header": lambda tenant: None,
    "basic scheme": lambda tenant: "Basic " + b64url(b"alice:password"),
    "a valid token under the basic scheme": lambda tenant: "Basic " + signed(claims_for(tenant)),
    "a valid token without any scheme": lambda tenant: signed(claims_for(tenant)),
    "the bearer scheme alone": lambda tenant: "Bearer",
    "garbage": lambda tenant: "Bearer not.a.jwt",
    "random bytes": lambda tenant: "Bearer " + b64url(b"\x00\xff" * 40),
    "a signature made with another secret": lambda tenant: (
        "Bearer " + signed(claims_for(tenant), secret="another-secret-" + "x" * 40)
    ),
    "a tampered payload": lambda tenant: "Bearer " + tampered(claims_for(tenant)),
    "alg none": lambda tenant: "Bearer " + unsigned(claims_for(tenant)),
    "an RS256 token": lambda tenant: "Bearer " + rs256(claims_for(tenant)),
    "an RS256 header over an HMAC signature": lambda tenant: "Bearer " + hmac_signed(claims_for(tenant), alg="RS256"),
    "HS512 with the shared secret": lambda tenant: (
        "Bearer " + hmac_signed(claims_for(tenant), alg="HS512", digest=hashlib.sha512)
    ),
    "expired an hour ago": lambda tenant: "Bearer " + signed(claims_for(tenant, exp=now() - 3600, iat=now() - 4500)),
    "nbf an hour ahead": lambda tenant: "Bearer " + signed(claims_for(tenant, nbf=now() + 3600)),
    "iat an hour ahead": lambda tenant: "Bearer " + signed(claims_for(tenant, iat=now() + 3600)),
    "no sub": lambda tenant: "Bearer " + signed(claims_for(tenant, sub=None)),
    "an integer sub": lambda tenant: "Bearer " + signed(claims_for(tenant, sub=42)),
    "no exp": lambda tenant: "Bearer " + signed(claims_for(tenant, exp=None)),
    "a foreign aud": lambda tenant: "Bearer " + signed(claims_for(tenant, aud=FOREIGN_AUDIENCE)),
    "a foreign aud list": lambda tenant: "Bearer " + signed(claims_for(tenant, aud=[FOREIGN_AUDIENCE, "other"])),
}


def assert_unauthorized(response: httpx2.Response, server: RunningServer) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert f'resource_metadata="{server.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert response.json()["error"] == "invalid_token"


async def has_no_accounts(connect, server: RunningServer, tenant: str) -> bool:
    async with connect(server.token(tenant=tenant, role="OWNER")) as owner:
        return (await call(owner, "list_accounts"))["total"] == 0


# ---- the battery over raw HTTP ---------------------------------------------------------------------


async def test_a_raw_tool_call_with_a_good_token_works_so_the_refusals_below_mean_something(server, connect):
    tenant = fresh_tenant()
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(
            http,
            server.mcp_url,
            "create_account",
            NEW_ACCOUNT,
            {"Authorization": f"Bearer {signed(claims_for(tenant))}"},
        )
    assert response.status_code == 200, response.text
    assert jsonrpc_message(response)["result"]["structuredContent"]["balance"] == "1.00"
    assert not await has_no_accounts(connect, server, tenant)


@pytest.mark.parametrize("case", list(BAD_AUTHORIZATIONS))
async def test_a_bad_bearer_token_gets_401_pointing_at_the_metadata_and_writes_nothing(server, connect, case):
    tenant = fresh_tenant()
    authorization = BAD_AUTHORIZATIONS[case](tenant)
    headers = {} if authorization is None else {"Authorization": authorization}
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(http, server.mcp_url, "create_account", NEW_ACCOUNT, headers)
        assert_unauthorized(response, server)
        for method in ("GET", "DELETE"):
            other = await http.request(method, server.mcp_url, headers={"accept": "text/event-stream", **headers})
            assert_unauthorized(other, server)
    assert await has_no_accounts(connect, server, tenant)


@pytest.mark.parametrize(
    "case", ["a signature made with another secret", "alg none", "an RS256 token", "expired an hour ago", "no sub"]
)
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_sdk_client_cannot_connect_with_a_bad_token(server, connect, case, mode):
    tenant = fresh_tenant()
    token = BAD_AUTHORIZATIONS[case](tenant).removeprefix("Bearer ")
    refused = False
    try:
        async with connect(token, mode=mode) as client:
            await client.call_tool("create_account", NEW_ACCOUNT)
    except* (MCPError, httpx2.HTTPStatusError):
        refused = True
    assert refused
    assert await has_no_accounts(connect, server, tenant)


# ---- tokens that are accepted ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_real_mcp_auth_token_works_unchanged(server, connect, mode):
    tenant = str(2 + int(fresh_sub()))
    claims = claims_for(tenant, sub="3", email="member-99b8f854@example.com", role="MEMBER")
    assert list(claims) == ["sub", "email", "tenant_id", "role", "exp", "iat", "scopes"]
    token = signed(claims)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    async with connect(token, mode=mode) as client:
        me = await call(client, "whoami")
        assert me["user"]["auth_user_id"] == "3"
        assert me["user"]["email"] == "member-99b8f854@example.com"
        assert me["household"]["name"] == f"Household {tenant}"
        assert me["role"] == "member"
        assert me["scopes"] == []
        assert me["permissions"] == ["read", "write"]
        account = await call(client, "create_account", name="Joint", account_type="checking", opening_balance="1000")
        spent = await call(
            client, "create_transaction", account_id=account["id"], amount="-50", date="2026-01-05", category="Food"
        )
        assert spent["account_balance"] == "950.00"


@pytest.mark.parametrize(
    "aud",
    [
        pytest.param("{mcp_url}", id="the resource url"),
        pytest.param("{mcp_url}/", id="the resource url with a trailing slash"),
        pytest.param(["https://elsewhere.example/mcp", "{mcp_url}"], id="a list naming the resource url"),
    ],
)
async def test_a_token_whose_audience_names_this_server_is_accepted(server, connect, aud):
    tenant = fresh_tenant()
    audience = (
        [a.format(mcp_url=server.mcp_url) for a in aud] if isinstance(aud, list) else aud.format(mcp_url=server.mcp_url)
    )
    async with connect(signed(claims_for(tenant, aud=audience))) as client:
        assert (await call(client, "whoami"))["household"]["name"] == f"Household {tenant}"


async def test_a_hand_made_hs256_token_is_accepted_so_hand_made_refusals_are_about_the_algorithm(server, connect):
    async with connect(hmac_signed(claims_for(fresh_tenant()), alg="HS256")) as client:
        assert (await call(client, "whoami"))["role"] == "owner"


async def test_a_token_expired_within_the_leeway_is_still_accepted(server, connect):
    token = signed(claims_for(fresh_tenant(), exp=now() - 5, iat=now() - 905))
    async with connect(token) as client:
        assert (await call(client, "whoami"))["role"] == "owner"


async def test_the_bearer_scheme_is_matched_in_any_case(server):
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(
            http, server.mcp_url, "whoami", {}, {"Authorization": f"bearer {signed(claims_for(fresh_tenant()))}"}
        )
    assert response.status_code == 200, response.text


# ---- JWT_AUDIENCE configured -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def audience_server(server: RunningServer) -> Iterator[RunningServer]:
    """A second real server on the same database that requires `aud` = AUDIENCE."""
    running = start_server(server.database_url, env={"JWT_AUDIENCE": AUDIENCE})
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


@pytest.mark.parametrize(
    ("aud", "accepted"),
    [
        pytest.param(None, False, id="no aud"),
        pytest.param("someone-else", False, id="another aud"),
        pytest.param("{mcp_url}", False, id="the resource url instead of the configured audience"),
        pytest.param(AUDIENCE, True, id="the configured audience"),
        pytest.param(["someone-else", AUDIENCE], True, id="a list holding the configured audience"),
    ],
)
async def test_with_jwt_audience_configured_only_tokens_for_that_audience_are_accepted(audience_server, aud, accepted):
    tenant = fresh_tenant()
    if aud == "{mcp_url}":
        aud = audience_server.mcp_url
    token = signed(claims_for(tenant, aud=aud))
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(http, audience_server.mcp_url, "create_account", NEW_ACCOUNT, bearer(token))
    if accepted:
        assert response.status_code == 200, response.text
        assert jsonrpc_message(response)["result"]["structuredContent"]["name"] == "Intruder"
    else:
        assert_unauthorized(response, audience_server)


async def test_with_jwt_audience_configured_the_sdk_client_works_with_that_audience(audience_server):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    token = signed(claims_for(fresh_tenant(), aud=AUDIENCE))
    http = httpx2.AsyncClient(headers=bearer(token), timeout=httpx2.Timeout(30, read=60))
    async with http, Client(streamable_http_client(audience_server.mcp_url, http_client=http)) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error
    assert result.structured_content["role"] == "owner"


# ---- sessions are bound to the principal that opened them ----------------------------------------------


async def test_a_legacy_session_cannot_be_driven_with_another_principals_token(server, connect):
    alice_tenant, sub = fresh_tenant(), fresh_sub()
    alice = signed(claims_for(alice_tenant, sub=sub))
    intruders = {
        "same sub in another tenant": signed(claims_for(fresh_tenant(), sub=sub)),
        "another user in another tenant": signed(claims_for(fresh_tenant())),
        "another user of the same household": signed(claims_for(alice_tenant)),
    }
    create = tool_call_body("create_account", NEW_ACCOUNT, request_id=2, wire=LEGACY_WIRE)
    whoami = tool_call_body("whoami", {}, request_id=3, wire=LEGACY_WIRE)
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await open_legacy_session(http, server.mcp_url, alice)
        own = await http.post(server.mcp_url, json=whoami, headers=legacy_headers(session, bearer(alice)))
        assert own.status_code == 200, own.text
        assert jsonrpc_message(own)["result"]["structuredContent"]["user"]["auth_user_id"] == sub

        for name, token in intruders.items():
            hijack = await http.post(server.mcp_url, json=create, headers=legacy_headers(session, bearer(token)))
            assert hijack.status_code == 404, (name, hijack.text)
            assert jsonrpc_message(hijack)["error"]["message"] == "Session not found"
            ended = await http.delete(server.mcp_url, headers=legacy_headers(session, bearer(token)))
            assert ended.status_code == 404, name

        anonymous = await http.post(server.mcp_url, json=create, headers=legacy_headers(session))
        assert_unauthorized(anonymous, server)

        still_hers = await http.post(server.mcp_url, json=whoami, headers=legacy_headers(session, bearer(alice)))
        assert still_hers.status_code == 200, still_hers.text
        closed = await http.delete(server.mcp_url, headers=legacy_headers(session, bearer(alice)))
        assert closed.status_code == 200
        after = await http.post(server.mcp_url, json=whoami, headers=legacy_headers(session, bearer(alice)))
        assert after.status_code == 404
    assert await has_no_accounts(connect, server, alice_tenant)


async def test_an_unknown_session_id_is_not_found(server):
    token = signed(claims_for(fresh_tenant()))
    body = tool_call_body("whoami", {}, wire=LEGACY_WIRE)
    async with httpx2.AsyncClient() as http:
        response = await http.post(server.mcp_url, json=body, headers=legacy_headers("0" * 32, bearer(token)))
    assert response.status_code == 404


# ---- issue 11: a 401 says why, and which scopes to ask for -------------------------------------------


async def test_an_expired_token_is_told_it_expired_and_which_scopes_to_ask_for(server):
    expired = signed(claims_for(fresh_tenant(), exp=now() - 3600, iat=now() - 4500))
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(http, server.mcp_url, "whoami", {}, bearer(expired))

    assert_unauthorized(response, server)
    assert "expired" in response.json()["error_description"]
    assert 'scope="finance:read finance:write finance:admin"' in response.headers["www-authenticate"]


async def test_a_numeric_aud_is_a_401_naming_the_claim_not_a_500(server):
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(
            http, server.mcp_url, "whoami", {}, bearer(signed(claims_for(fresh_tenant(), aud=123)))
        )

    assert_unauthorized(response, server)
    assert "'aud'" in response.json()["error_description"]
