"""The shipped nginx site (deploy/nginx/finance-mcp.conf), run by Debian's nginx on loopback with TLS in front
of two `finance-mcp serve` processes on one PostgreSQL database, as deploy/systemd/finance-mcp.env sets them
up (STATELESS_HTTP=true). The v1 contract runs through it on both protocol eras; then one process stops
and the other keeps serving. Select with `-m nginx`."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import REQUIRE_POSTGRES as IN_CI
from tests.deploy.tls import Certificates, make_certificates
from tests.e2e.helpers import CONTRACT_TOOLS, call, fresh_tenant, tool_call_body
from tests.e2e.servers import RunningServer, drain_output, free_port, start_server, stop_server

pytestmark = [pytest.mark.nginx, pytest.mark.e2e, pytest.mark.anyio]

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "finance-mcp.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT = 20.0


def render_site(*, upstreams: list[int], https_port: int, http_port: int, tls: Certificates) -> str:
    """The real site file with test ports, loopback listeners and the test certificate."""
    replacements = {
        "server 127.0.0.1:8001 ": f"server 127.0.0.1:{upstreams[0]} ",
        "server 127.0.0.1:8002 ": f"server 127.0.0.1:{upstreams[1]} ",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "server_name finance.example.com;": "server_name localhost;",
        "/etc/letsencrypt/live/finance.example.com/fullchain.pem": str(tls.certificate),
        "/etc/letsencrypt/live/finance.example.com/privkey.pem": str(tls.key),
    }
    text = SITE.read_text()
    for shipped, rendered in replacements.items():
        assert shipped in text, f"{shipped!r} is no longer in {SITE.name}: update render_site"
        text = text.replace(shipped, rendered)
    return text


def main_config(prefix: Path, site: Path) -> str:
    """What /etc/nginx/nginx.conf provides around a site, pointed at a private directory."""
    temp = " ".join(
        f"{kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix / "access.log"};
    {temp}
    include {site};
}}
"""


@dataclass
class Proxy:
    base_url: str  # https://localhost:PORT
    http_url: str  # the plain-http listener that redirects
    tls: ssl.SSLContext
    servers: list[RunningServer]
    error_log: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    def http(self, **headers: str) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(verify=self.tls, headers=headers, timeout=httpx2.Timeout(30, read=60))


def wait_until_serving(proxy: Proxy, nginx: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert nginx.poll() is None, proxy.error_log.read_text()
        try:
            with httpx2.Client(verify=proxy.tls, timeout=2) as http:
                if http.get(f"{proxy.base_url}/health").status_code == 200:
                    return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"nginx did not answer /health in {START_TIMEOUT} s:\n{proxy.error_log.read_text()}")


@pytest.fixture(scope="module")
def proxy(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    if not Path(NGINX).exists():
        missing = "nginx is not installed: .ci/run installs Debian's nginx (apt-get install nginx)"
        if IN_CI:
            pytest.fail(missing)
        pytest.skip(f"!!! {missing}; the nginx tests are SKIPPED !!!")
    prefix = tmp_path_factory.mktemp("nginx")
    tls = make_certificates(prefix)
    https_port, http_port = free_port(), free_port()
    env = {"STATELESS_HTTP": "true", "METRICS": "true", "PUBLIC_URL": f"https://localhost:{https_port}"}
    servers = [start_server(postgres_url, env=env) for _ in range(2)]
    drains = [drain_output(server) for server in servers]
    site = prefix / "finance-mcp.conf"
    ports = [int(server.base_url.rsplit(":", 1)[1]) for server in servers]
    site.write_text(render_site(upstreams=ports, https_port=https_port, http_port=http_port, tls=tls))
    config = prefix / "nginx.conf"
    config.write_text(main_config(prefix, site))
    checked = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(config)], stderr=subprocess.DEVNULL)
    context = ssl.create_default_context(cafile=str(tls.ca))
    proxy = Proxy(
        f"https://localhost:{https_port}", f"http://localhost:{http_port}", context, servers, prefix / "error.log"
    )
    try:
        wait_until_serving(proxy, nginx)
        yield proxy
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        for server in servers:
            if server.process.poll() is None:
                stop_server(server)
        for drain in drains:
            drain.join(timeout=10)


@asynccontextmanager
async def through(proxy: Proxy, mode: str) -> AsyncIterator[Client]:
    http = proxy.http(Authorization=f"Bearer {proxy.servers[0].token(tenant=fresh_tenant())}")
    async with http, Client(streamable_http_client(proxy.mcp_url, http_client=http), mode=mode) as client:  # type: ignore[arg-type]
        yield client


async def run_the_contract(client: Client) -> set[str]:
    """Every v1 tool once, with the balances checked; returns the tools called."""
    me = await call(client, "whoami")
    assert me["role"] == "owner"
    checking = (await call(client, "create_account", name="Checking", account_type="checking", opening_balance="1000"))[
        "id"
    ]
    spent = await call(
        client, "create_transaction", account_id=checking, amount="-50", date="2026-01-05", category="Food"
    )
    assert spent["account_balance"] == "950.00"
    txn = spent["transaction"]["id"]
    changed = await call(client, "update_transaction", transaction_id=txn, amount="-100")
    assert changed["account_balances"] == {str(checking): "900.00"}
    assert (await call(client, "get_transaction", transaction_id=txn))["amount"] == "-100.00"
    assert (await call(client, "list_transactions", account_id=checking))["total"] == 1
    batch = await call(
        client,
        "create_transactions_batch",
        account_id=checking,
        transactions=[{"amount": "200", "date": "2026-01-06", "category": "Pay"}],
    )
    assert batch["account_balance"] == "1100.00"
    assert (await call(client, "delete_transaction", transaction_id=txn))["account_balance"] == "1200.00"
    savings = (await call(client, "create_account", name="Savings", account_type="savings"))["id"]
    assert (await call(client, "update_account", account_id=savings, name="Rainy day"))["name"] == "Rainy day"
    assert (await call(client, "get_account", account_id=checking))["balance"] == "1200.00"
    assert (await call(client, "list_accounts"))["total"] == 2
    assert (await call(client, "delete_account", account_id=savings))["deleted"] is True
    [deleted] = (await call(client, "list_changes", limit=1))["changes"]
    assert deleted["tool"] == "delete_account"
    assert (await call(client, "undo_change", change_id=deleted["id"]))["undone"] is True
    assert (await call(client, "list_accounts"))["total"] == 2
    return {
        "whoami",
        "create_account",
        "create_transaction",
        "update_transaction",
        "get_transaction",
        "list_transactions",
        "create_transactions_batch",
        "delete_transaction",
        "update_account",
        "get_account",
        "list_accounts",
        "delete_account",
        "list_changes",
        "undo_change",
    }


async def calls_served(server: RunningServer) -> float:
    """Tool calls this process answered, from its own /metrics (loopback: no token needed)."""
    async with httpx2.AsyncClient() as http:
        text = (await http.get(f"{server.base_url}/metrics")).text
    return sum(float(n) for n in re.findall(r"^finance_mcp_tool_calls_total\{[^}]*\} (\S+)$", text, re.MULTILINE))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_contract_runs_through_nginx_on_both_protocol_eras_and_both_processes_serve(proxy, mode):
    before = [await calls_served(server) for server in proxy.servers]
    async with through(proxy, mode) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        assert await run_the_contract(client) == set(CONTRACT_TOOLS)
    served = [await calls_served(server) - was for server, was in zip(proxy.servers, before, strict=True)]
    assert sum(served) >= len(CONTRACT_TOOLS)
    assert all(count > 0 for count in served), f"round-robin sent every call to one process: {served}"


async def test_health_passes_through_and_metrics_stay_private(proxy):
    async with proxy.http() as http:
        health = await http.get(f"{proxy.base_url}/health")
        metrics = await http.get(f"{proxy.base_url}/metrics")
        plain = await http.get(f"{proxy.http_url}/mcp", follow_redirects=False)
    assert health.status_code == 200
    assert health.json()["database"] == "ok"
    assert metrics.status_code == 404
    assert plain.status_code == 308
    assert plain.headers["location"].startswith("https://localhost/mcp")


async def test_the_host_allowlist_still_holds_behind_the_proxy(proxy):
    """nginx passes the client's Host through, so a rebinding name is refused by finance-mcp (421)."""
    token = proxy.servers[0].token(tenant=fresh_tenant())
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    body: dict[str, Any] = tool_call_body("whoami", {})
    async with proxy.http(Authorization=f"Bearer {token}") as http:
        refused = await http.post(proxy.mcp_url, json=body, headers={**headers, "host": "attacker.example"})
    assert refused.status_code == 421


async def test_when_one_process_stops_the_other_keeps_serving_through_nginx(proxy):
    stopping, staying = proxy.servers
    stop_server(stopping)
    assert stopping.process.poll() is not None
    before = await calls_served(staying)
    for mode in ("auto", "legacy"):
        async with through(proxy, mode) as client:
            assert await run_the_contract(client) == set(CONTRACT_TOOLS)
    assert await calls_served(staying) - before >= 2 * len(CONTRACT_TOOLS)
