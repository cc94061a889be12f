"""Abuse of the login bridge's client registration and redirects (issue 11, items 2 and 7), against the real
server on both databases: each test makes the attack and shows that it now holds.

Registration is limited per address; every request here names its own address with X-Forwarded-For (which
the server trusts from 127.0.0.1 only, as uvicorn does by default), so the tests do not share one budget.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from pydantic import ValidationError
from sqlalchemy import insert, text, update
from sqlalchemy.sql import Executable
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from finance_mcp.db.database import open_database
from finance_mcp.db.models import oauth_clients
from finance_mcp.server.oauth.client_documents import _address_is_public  # pyright: ignore[reportPrivateUsage]
from finance_mcp.services.client_address import source_of
from finance_mcp.settings import Settings
from tests.e2e.conftest import bridge_server, mcp_auth
from tests.e2e.mcp_auth_stand_in import McpAuthStandIn, serving
from tests.e2e.oauth_helpers import Client, authorize_url, new_household, pkce, tokens_for
from tests.e2e.servers import RunningServer, drain_output, start_server, stop_server

__all__ = ["bridge_server", "mcp_auth"]

pytestmark = pytest.mark.anyio

PER_ADDRESS = 5
CALLBACK = "http://127.0.0.1:53682/callback"


def address() -> str:
    """A source address of its own (documentation range 198.51.100.0/24 and friends would collide)."""
    number = uuid.uuid4().int
    return f"10.{number % 250}.{(number >> 8) % 250}.{(number >> 16) % 250 + 1}"


def registration(**extra: Any) -> dict[str, Any]:
    return {"client_name": "Abuse test", "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none", **extra}


async def post_register(
    http: httpx2.AsyncClient, base: str, body: Any, *, source: str | None = None
) -> httpx2.Response:
    headers = {"X-Forwarded-For": source or address(), "content-type": "application/json"}
    return await http.post(f"{base}/register", content=json.dumps(body), headers=headers)


async def run(url: str, statement: Executable, **params: Any) -> Any:
    """One statement on the server's own database (to count rows, or to age them)."""
    database = open_database(url)
    try:
        async with database.connect(write=True) as conn:
            result = await conn.execute(statement, params)
            value = result.scalar() if result.returns_rows else None  # pyright: ignore[reportAttributeAccessIssue]
            await conn.commit()
        return value
    finally:
        await database.dispose()


async def sql(url: str, statement: str, **params: Any) -> Any:
    return await run(url, text(statement), **params)


async def clients_named(url: str, name: str) -> int:
    statement = "SELECT count(*) FROM oauth_clients WHERE CAST(client_metadata AS TEXT) LIKE :n"
    return int(await sql(url, statement, n=f"%{name}%"))


# ---- a document server for Client ID Metadata Documents (plain http on loopback: a test setting) -------------


def document_app() -> Starlette:
    async def document(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        name = request.path_params["name"]
        url = f"{base}/{name}"
        body: dict[str, Any] = {"client_id": url, "client_name": "Document client", "redirect_uris": [CALLBACK]}
        variants: dict[str, dict[str, Any]] = {
            "good.json": body,
            "wrong-id.json": {**body, "client_id": f"{base}/someone-else.json"},
            "secret.json": {**body, "client_secret": "s3cret"},
            "confidential.json": {**body, "token_endpoint_auth_method": "client_secret_basic"},
            "bad-redirect.json": {**body, "redirect_uris": ["view-source:https://evil.example/"]},
            "big.json": {**body, "client_name": "x" * 6000},
        }
        if name == "moved.json":
            return RedirectResponse(f"{base}/good.json", status_code=302)
        if name not in variants:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(variants[name])

    return Starlette(routes=[Route("/{name}", document)])


@pytest.fixture(scope="module")
def documents() -> Iterator[str]:
    with serving(document_app()) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def guarded(request: pytest.FixtureRequest, mcp_auth: McpAuthStandIn) -> Iterator[RunningServer]:
    """The bridge with a small per-address limit, a 1-hour unused-client lifetime, and (a test setting)
    client ID documents fetched from loopback over plain http."""
    env = {
        "OAUTH_BRIDGE": "true",
        "AUTH_SERVER_URL": mcp_auth.url,
        "OAUTH_REGISTRATIONS_PER_ADDRESS": str(PER_ADDRESS),
        "OAUTH_REGISTRATIONS_TOTAL": "1000000",
        "OAUTH_UNUSED_CLIENT_HOURS": "1",
        "OAUTH_CIMD_ALLOW_PRIVATE_ADDRESSES": "true",
    }
    running = start_server(str(request.getfixturevalue(f"{request.param}_url")), env=env)
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=30) as client:
        yield client


# ---- item 2: bounded registration ---------------------------------------------------------------------------


async def test_a_60_kb_client_name_is_refused_and_stores_nothing(
    guarded: RunningServer, http: httpx2.AsyncClient
) -> None:
    name = f"huge-{uuid.uuid4().hex}"
    huge = await post_register(http, guarded.base_url, registration(client_name=name + "x" * 60_000))
    long = await post_register(http, guarded.base_url, registration(client_name=name + "x" * 2_000))
    assert huge.status_code == 413  # the whole body is capped at 16 KB
    assert long.status_code == 400
    assert long.json()["error"] == "invalid_client_metadata"
    assert "client_name is 2037 characters; at most 200" in long.json()["error_description"]
    assert await clients_named(guarded.database_url, name) == 0


@pytest.mark.parametrize(
    ("field", "value", "error", "says"),
    [
        ("redirect_uris", [f"http://127.0.0.1:{port}/cb" for port in range(1000, 1011)], "invalid_redirect_uri", "11"),
        ("redirect_uris", ["https://example.com/" + "a" * 2100], "invalid_redirect_uri", "at most 2000"),
        ("contacts", [f"c{n}@example.com" for n in range(11)], "invalid_client_metadata", "11 contacts"),
        ("software_id", "s" * 600, "invalid_client_metadata", "software_id is 600 characters"),
    ],
)
async def test_oversized_fields_are_refused_with_a_clear_error(
    guarded: RunningServer, http: httpx2.AsyncClient, field: str, value: Any, error: str, says: str
) -> None:
    response = await post_register(http, guarded.base_url, registration(**{field: value}))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert says in response.json()["error_description"]


async def test_the_registration_after_the_limit_from_one_address_gets_429_with_retry_after(
    guarded: RunningServer, http: httpx2.AsyncClient
) -> None:
    source = address()
    answers = [await post_register(http, guarded.base_url, registration(), source=source) for _ in range(PER_ADDRESS)]
    refused = await post_register(http, guarded.base_url, registration(), source=source)
    other = await post_register(http, guarded.base_url, registration())
    assert [answer.status_code for answer in answers] == [201] * PER_ADDRESS
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert "too many client registrations" in refused.json()["error_description"]
    assert other.status_code == 201  # another address has its own budget


async def test_concurrent_registrations_from_one_address_never_pass_the_limit(
    guarded: RunningServer, http: httpx2.AsyncClient
) -> None:
    source, name = address(), f"burst-{uuid.uuid4().hex}"
    answers = await asyncio.gather(
        *(post_register(http, guarded.base_url, registration(client_name=name), source=source) for _ in range(30))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * PER_ADDRESS + [429] * (30 - PER_ADDRESS)
    assert await clients_named(guarded.database_url, name) == PER_ADDRESS


async def test_the_total_limit_holds_across_addresses_and_two_replicas(own_database_url: str) -> None:
    env = {"OAUTH_BRIDGE": "true", "OAUTH_REGISTRATIONS_PER_ADDRESS": "100", "OAUTH_REGISTRATIONS_TOTAL": "4"}
    replicas = [start_server(own_database_url, env=env) for _ in range(2)]
    drains = [drain_output(replica) for replica in replicas]
    try:
        async with httpx2.AsyncClient(timeout=30) as http:
            answers = await asyncio.gather(
                *(post_register(http, replicas[n % 2].base_url, registration()) for n in range(12))
            )
    finally:
        for replica, drain in zip(replicas, drains, strict=True):
            stop_server(replica)
            drain.join(timeout=10)
    assert sorted(answer.status_code for answer in answers) == [201] * 4 + [429] * 8
    assert await sql(own_database_url, "SELECT count(*) FROM oauth_clients") == 4


async def test_a_client_never_used_is_purged_and_a_used_one_kept(
    guarded: RunningServer, http: httpx2.AsyncClient, mcp_auth: McpAuthStandIn
) -> None:
    unused = await _register(http, guarded.base_url)
    used = await _register(http, guarded.base_url)
    await tokens_for(http, guarded.base_url, used, new_household(mcp_auth))
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    for client in (unused, used):
        await run(
            guarded.database_url,
            update(oauth_clients).where(oauth_clients.c.client_id == client.client_id),
            created_at=long_ago,
        )

    await _register(http, guarded.base_url)  # any registration clears what was never used

    count = "SELECT count(*) FROM oauth_clients WHERE client_id = :c"
    assert await sql(guarded.database_url, count, c=unused.client_id) == 0
    assert await sql(guarded.database_url, count, c=used.client_id) == 1
    _, challenge = pkce()
    gone = await http.get(authorize_url(guarded.base_url, unused, challenge))
    assert gone.status_code == 400
    assert "text/html" in gone.headers["content-type"]


async def _register(http: httpx2.AsyncClient, base: str, **extra: Any) -> Client:
    response = await post_register(http, base, registration(**extra))
    assert response.status_code == 201, response.text
    return Client(response.json()["client_id"], None, extra.get("redirect_uris", [CALLBACK])[0])


UNSAFE = [
    "view-source:https://evil.example/",
    "chrome://settings/",
    "ms-settings:privacy",
    "javascript:alert(document.domain)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "vbscript:msgbox(1)",
    "about:blank",
    "blob:https://evil.example/1",
    "intent://evil#Intent;end",
    "myapp:/callback",
    "http://evil.example/callback",
    "https://evil.example/callback#fragment",
]


@pytest.mark.parametrize("uri", UNSAFE)
async def test_a_redirect_uri_with_an_unsafe_scheme_is_refused_with_invalid_redirect_uri(
    guarded: RunningServer, http: httpx2.AsyncClient, uri: str
) -> None:
    response = await post_register(http, guarded.base_url, registration(redirect_uris=[CALLBACK, uri]))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_redirect_uri"
    assert "redirect URI" in response.json()["error_description"]


async def test_the_redirect_uris_real_clients_register_are_accepted(
    guarded: RunningServer, http: httpx2.AsyncClient
) -> None:
    real = [
        "https://claude.ai/api/mcp/auth_callback",  # Claude connectors
        "http://localhost:8787/callback",  # Claude Code, Cursor
        "http://127.0.0.1:33418/",  # VS Code
        "http://[::1]:6276/oauth/callback",
        "cursor://anysphere.cursor-mcp/oauth/callback",  # Cursor
        "https://www.cursor.com/agents/mcp/oauth/callback",
        "vscode://vscode.github-authentication/did-authenticate",
        "com.example.finance:/oauth2redirect",  # RFC 8252 §7.1 reverse-domain
    ]
    response = await post_register(http, guarded.base_url, registration(redirect_uris=real))
    assert response.status_code == 201, response.text


# ---- Client ID Metadata Documents -----------------------------------------------------------------------------


async def test_the_metadata_advertises_client_id_metadata_documents(
    guarded: RunningServer, http: httpx2.AsyncClient
) -> None:
    found = (await http.get(f"{guarded.base_url}/.well-known/oauth-authorization-server")).json()
    assert found["client_id_metadata_document_supported"] is True
    assert found["registration_endpoint"] == f"{guarded.base_url}/register"  # kept for clients that need it


async def test_a_client_id_document_signs_in_without_any_registration(
    guarded: RunningServer, http: httpx2.AsyncClient, mcp_auth: McpAuthStandIn, documents: str
) -> None:
    client = Client(f"{documents}/good.json", None, CALLBACK)
    before = await sql(guarded.database_url, "SELECT count(*) FROM oauth_clients")
    _, challenge = pkce()
    page = await http.get((await http.get(authorize_url(guarded.base_url, client, challenge))).headers["location"])
    assert "Document client" in page.text
    tokens = await tokens_for(http, guarded.base_url, client, new_household(mcp_auth))
    assert tokens["token_type"] == "Bearer"
    assert await sql(guarded.database_url, "SELECT count(*) FROM oauth_clients") == before  # stores no client
    grants = "SELECT count(*) FROM oauth_grants WHERE client_id = :c"
    assert await sql(guarded.database_url, grants, c=client.client_id) >= 1


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("wrong-id.json", "is not its own URL"),
        ("secret.json", "must not contain a client secret"),
        ("confidential.json", "only public clients"),
        ("bad-redirect.json", "view-source"),
        ("big.json", "larger than 5120 bytes"),
        ("moved.json", "HTTP 302 (redirects are not followed)"),
        ("missing.json", "HTTP 404"),
    ],
)
async def test_a_bad_client_id_document_is_refused_on_a_page(
    guarded: RunningServer, http: httpx2.AsyncClient, documents: str, name: str, says: str
) -> None:
    client = Client(f"{documents}/{name}", None, CALLBACK)
    _, challenge = pkce()
    response = await http.get(authorize_url(guarded.base_url, client, challenge))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert says in response.text.replace("&#x27;", "'")


@pytest.mark.parametrize(
    "client_id",
    [
        "https://127.0.0.1:9/client.json",  # loopback
        "https://10.0.0.1/client.json",  # private
        "https://169.254.169.254/latest/meta-data/client.json",  # cloud metadata
        "https://[::1]/client.json",
    ],
)
async def test_a_client_id_document_on_an_internal_address_is_never_fetched(
    bridge_server: RunningServer, http: httpx2.AsyncClient, client_id: str
) -> None:
    _, challenge = pkce()
    response = await http.get(authorize_url(bridge_server.base_url, Client(client_id, None, CALLBACK), challenge))
    assert response.status_code == 400
    assert "not a public internet address" in response.text


async def test_without_the_test_setting_an_http_client_id_is_not_fetched(
    bridge_server: RunningServer, http: httpx2.AsyncClient, documents: str
) -> None:
    _, challenge = pkce()
    url = authorize_url(bridge_server.base_url, Client(f"{documents}/good.json", None, CALLBACK), challenge)
    response = await http.get(url)
    assert response.status_code == 400
    assert "not found" in response.text


# ---- item 7: no open redirect; errors on a page -----------------------------------------------------------------


def error_of(response: httpx2.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


async def test_an_error_for_a_request_that_names_no_redirect_uri_is_a_page_not_a_redirect(
    guarded: RunningServer, http: httpx2.AsyncClient
) -> None:
    client = await _register(http, guarded.base_url, redirect_uris=["https://phish.example/landing"])
    query = {"client_id": client.client_id, "response_type": "token", "code_challenge": "c" * 43}
    response = await http.get(f"{guarded.base_url}/authorize", params=query)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "This sign-in cannot start" in response.text
    assert 'role="alert"' in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_an_unknown_client_gets_an_escaped_page_instead_of_raw_json(
    guarded: RunningServer, http: httpx2.AsyncClient
) -> None:
    query = {"client_id": "<script>alert(1)</script>", "response_type": "code", "code_challenge": "c" * 43}
    response = await http.get(f"{guarded.base_url}/authorize", params=query)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


async def test_a_verified_client_and_redirect_uri_still_get_the_error_by_redirect(
    guarded: RunningServer, http: httpx2.AsyncClient, documents: str
) -> None:
    registered = await _register(http, guarded.base_url, scope="finance:read")
    document = Client(f"{documents}/good.json", None, CALLBACK)
    for client in (registered, document):
        _, challenge = pkce()
        url = authorize_url(guarded.base_url, client, challenge, state="s1", scope="finance:nothing")
        back = error_of(await http.get(url))
        assert back["error"] == "invalid_scope"
        assert back["state"] == "s1"


async def test_a_redirect_uri_registered_before_the_policy_is_neither_redirected_to_nor_signed_in_for(
    guarded: RunningServer, http: httpx2.AsyncClient
) -> None:
    client_id, evil = f"old-{uuid.uuid4().hex}", "view-source:https://evil.example/"
    metadata = {"redirect_uris": [evil], "token_endpoint_auth_method": "none", "scope": "finance:read"}
    await run(
        guarded.database_url,
        insert(oauth_clients),
        client_id=client_id,
        secret_hash=None,
        client_metadata=metadata,
        created_at=dt.datetime.now(dt.UTC),
    )
    _, challenge = pkce()
    for extra in ({}, {"scope": "finance:nothing"}):
        response = await http.get(authorize_url(guarded.base_url, Client(client_id, None, evil), challenge, **extra))
        assert response.status_code == 400, response.headers.get("location")
        assert "location" not in response.headers


# ---- settings and keys --------------------------------------------------------------------------------------


def test_fetching_private_client_id_documents_is_refused_on_a_public_server() -> None:
    with pytest.raises(ValidationError, match="OAUTH_CIMD_ALLOW_PRIVATE_ADDRESSES=true"):
        Settings(secret_key="k" * 40, public_url="https://finance.example.com", oauth_cimd_allow_private_addresses=True)
    assert Settings(secret_key="k" * 40, oauth_cimd_allow_private_addresses=True).oauth_cimd_allow_private_addresses


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::7f00:1", "64:ff9b:1::a00:1", "2002:7f00:1::", "2002:a00:1::", "::127.0.0.1", "::ffff:10.0.0.1"],
)
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_not_public(address: str) -> None:
    # NAT64, 6to4 and IPv4-compatible forms: `ipaddress` calls several of them global.
    assert not _address_is_public(address)
    assert _address_is_public("2606:4700::1111")


def test_ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert source_of("2001:db8:1:2:aaaa::1") == source_of("2001:db8:1:2:ffff::9") == "address:2001:db8:1:2::/64"
    assert source_of("2001:db8:1:3::1") != source_of("2001:db8:1:2::1")
    assert source_of("::ffff:192.0.2.7") == source_of("192.0.2.7") == "address:192.0.2.7"
    assert source_of(None) == "address:unknown"
