"""The HTTP surface around /mcp: health, RFC 9728 metadata, Host/Origin checks and the body size limit."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from finance_mcp import __version__
from tests.e2e.helpers import bearer, fresh_tenant, jsonrpc_message, new_wire_headers, post_tool_call, tool_call_body
from tests.e2e.servers import RunningServer, drain_output, start_server, stop_server

pytestmark = pytest.mark.anyio

METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"
PUBLIC_URL = "https://finance.example.test"
AUTH_SERVER = "https://auth.example.test"


async def test_health_answers_without_a_token(server):
    async with httpx2.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/health")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"status": "healthy", "version": __version__, "database": "ok"}
        with_a_bad_token = await http.get("/health", headers={"Authorization": "Bearer nonsense"})
        assert with_a_bad_token.status_code == 200


async def test_the_protected_resource_metadata_names_mcp_auth(server):
    async with httpx2.AsyncClient(base_url=server.base_url) as http:
        response = await http.get(METADATA_PATH)
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["resource"] == server.mcp_url
    assert [url.rstrip("/") for url in metadata["authorization_servers"]] == ["http://localhost:8001"]
    assert metadata["bearer_methods_supported"] == ["header"]
    assert "max-age" in response.headers.get("cache-control", "")


async def test_the_401_challenge_points_at_the_metadata_that_is_really_served(server):
    async with httpx2.AsyncClient() as http:
        challenge = (await http.post(server.mcp_url, json={})).headers["www-authenticate"]
        url = challenge.split('resource_metadata="')[1].split('"')[0]
        assert (await http.get(url)).json()["resource"] == server.mcp_url


async def test_a_foreign_host_header_gets_421_even_with_a_good_token(server):
    token = server.token(tenant=fresh_tenant())
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(
            http, server.mcp_url, "whoami", {}, {**bearer(token), "Host": "evil.example.com"}
        )
        assert response.status_code == 421
        anonymous = await post_tool_call(http, server.mcp_url, "whoami", {}, {"Host": "evil.example.com"})
        assert anonymous.status_code == 421  # the Host is checked before the token, on every route
        local = await post_tool_call(http, server.mcp_url, "whoami", {}, {**bearer(token), "Host": "localhost:1234"})
        assert local.status_code == 200


async def test_a_foreign_origin_gets_403(server):
    token = server.token(tenant=fresh_tenant())
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(
            http, server.mcp_url, "whoami", {}, {**bearer(token), "Origin": "https://evil.example.com"}
        )
        assert response.status_code == 403
        local = await post_tool_call(http, server.mcp_url, "whoami", {}, {**bearer(token), "Origin": server.base_url})
        assert local.status_code == 200


async def test_a_body_over_4_mib_is_refused_with_413(server, connect):
    tenant = fresh_tenant()
    token = server.token(tenant=tenant)
    body = tool_call_body("create_account", {"name": "Big", "account_type": "cash", "padding": "x" * (4 * 1024 * 1024)})
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(
            server.mcp_url, json=body, headers={**new_wire_headers("create_account"), **bearer(token)}
        )
    assert response.status_code == 413


async def test_a_body_that_is_not_json_is_refused(server):
    token = server.token(tenant=fresh_tenant())
    async with httpx2.AsyncClient() as http:
        headers = new_wire_headers("whoami", {**bearer(token), "content-type": "text/plain"})
        response = await http.post(server.mcp_url, content=b"whoami please", headers=headers)
    assert response.status_code == 400
    assert "Content-Type" in response.text


# ---- a server configured for a public URL and another authorization server ---------------------------


@pytest.fixture(scope="module")
def public_server(server: RunningServer) -> Iterator[RunningServer]:
    running = start_server(server.database_url, env={"PUBLIC_URL": PUBLIC_URL, "AUTH_SERVER_URL": AUTH_SERVER})
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


async def test_a_public_url_and_auth_server_url_shape_the_metadata_and_the_challenge(public_server):
    async with httpx2.AsyncClient() as http:
        metadata = (await http.get(f"{public_server.base_url}{METADATA_PATH}")).json()
        challenge = (await http.post(public_server.mcp_url, json={})).headers["www-authenticate"]
    assert metadata["resource"] == f"{PUBLIC_URL}/mcp"
    assert [url.rstrip("/") for url in metadata["authorization_servers"]] == [AUTH_SERVER]
    assert f'resource_metadata="{PUBLIC_URL}{METADATA_PATH}"' in challenge


async def test_the_public_host_is_accepted_and_tokens_may_name_the_public_resource(public_server):
    token = public_server.token(tenant=fresh_tenant(), extra={"aud": f"{PUBLIC_URL}/mcp"})
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(
            http, public_server.mcp_url, "whoami", {}, {**bearer(token), "Host": "finance.example.test"}
        )
        assert response.status_code == 200, response.text
        assert jsonrpc_message(response)["result"]["structuredContent"]["role"] == "owner"
        foreign = await post_tool_call(
            http, public_server.mcp_url, "whoami", {}, {**bearer(token), "Host": "evil.example.com"}
        )
        assert foreign.status_code == 421
