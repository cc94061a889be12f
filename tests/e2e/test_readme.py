"""The README cannot drift: its generated tables match the code, and its commands and snippets run."""

from __future__ import annotations

import re
import shlex
import sqlite3
import subprocess
import sys
from contextlib import closing
from importlib.metadata import version

import httpx2
import pytest

from finance_mcp.db.migrate import head_revision
from tests import readme_sections
from tests.e2e.servers import drain_output, start_server, stop_server

README = readme_sections.README.read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.S)


@pytest.mark.parametrize("section", sorted(readme_sections.SECTIONS))
def test_the_generated_readme_sections_match_the_code(section):
    expected = readme_sections.sync(README)
    pattern = readme_sections.marked(section)
    written, generated = pattern.search(README), pattern.search(expected)
    assert written is not None
    assert generated is not None
    assert written.group(2) == generated.group(2), "README is stale: run .venv/bin/python -m tests.readme_sections"


def test_every_shell_command_in_the_readme_is_one_the_suite_runs():
    """make run / make test run in CI; the CLI commands are exercised below and in tests/cli/test_cli.py."""
    commands = [line for lang, body in BLOCKS if lang == "bash" for line in body.strip().splitlines()]
    allowed = ("make run", "make test", ".venv/bin/finance-mcp serve", ".venv/bin/finance-mcp migrate")
    allowed += (".venv/bin/finance-mcp token", ".venv/bin/finance-mcp backup", ".venv/bin/finance-mcp --version")
    assert commands
    assert [c for c in commands if not c.startswith(allowed)] == []


def test_the_readme_token_command_mints_a_token_the_server_accepts(server):
    line = next(c for lang, b in BLOCKS if lang == "bash" for c in b.splitlines() if "finance-mcp token" in c)
    args = shlex.split(line)[1:]
    env = {"SECRET_KEY": server.secret, "PATH": "/usr/bin:/bin"}
    token = subprocess.run(
        [sys.executable, "-m", "finance_mcp", *args], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    response = httpx2.post(
        server.mcp_url,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        },
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        },
    )
    assert response.status_code == 200


def test_the_readme_serve_command_with_two_workers_serves(postgres_url):
    line = next(c for lang, b in BLOCKS if lang == "bash" for c in b.splitlines() if "finance-mcp serve" in c)
    assert "--workers" in line
    running = start_server(postgres_url, args=["--workers", "2"])
    drain = drain_output(running)
    try:
        assert httpx2.get(f"{running.base_url}/health").json()["database"] == "ok"
    finally:
        stop_server(running)
        drain.join(timeout=10)


@pytest.mark.anyio
async def test_the_readme_python_snippet_talks_to_the_server(server, capsys):
    snippet = next(body for lang, body in BLOCKS if lang == "python")
    namespace: dict = {}
    exec(compile(snippet.replace("http://127.0.0.1:8000/mcp", server.mcp_url), "README.md", "exec"), namespace)  # noqa: S102
    await namespace["main"](server.token(tenant="readme-snippet"))
    assert "'accounts': [], 'total': 0" in capsys.readouterr().out


def readme_cli_line(command: str) -> list[str]:
    """The README's `.venv/bin/finance-mcp COMMAND ...` line, as the arguments after the program."""
    line = next(c for lang, b in BLOCKS if lang == "bash" for c in b.splitlines() if f"finance-mcp {command}" in c)
    return shlex.split(line)[1:]


def test_the_readme_version_command_prints_the_installed_version(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "finance_mcp", *readme_cli_line("--version")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"finance-mcp {version('finance-mcp')}"


def test_the_readme_backup_command_writes_a_sqlite_copy_at_the_latest_schema(tmp_path, sqlite_url):
    env = {"SECRET_KEY": "x" * 40, "DATABASE_URL": sqlite_url, "PATH": "/usr/bin:/bin"}
    args = readme_cli_line("backup")
    subprocess.run([sys.executable, "-m", "finance_mcp", *args], cwd=tmp_path, env=env, check=True)
    with closing(sqlite3.connect(tmp_path / args[args.index("--output") + 1])) as copy:
        (revision,) = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision == head_revision()
