"""Logs and metrics of the real server: LOG_FORMAT=json gives one JSON object a line (uvicorn's too), one
line per tool call with who and how long but no token or amount, and /metrics counts calls and errors."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.e2e.helpers import MISSING_ID, call, fresh_tenant, make_account
from tests.e2e.servers import Connect, RunningServer, connector, start_server, stop_server

pytestmark = pytest.mark.anyio

METRICS_TOKEN = "metrics-" + "m" * 24
WAIT = 10.0


class ObservedServer:
    """A server with JSON logs and metrics on, whose stderr lines are kept for the test to read."""

    def __init__(self, running: RunningServer) -> None:
        self.running = running
        self.lines: list[str] = list(running.startup_log)
        assert running.process.stderr is not None
        self._reader = threading.Thread(target=self._read, args=(running.process.stderr,), daemon=True)
        self._reader.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.lines) if line.startswith("{")]

    def wait_for_call(self, tool: str, outcome: str, after: int = 0) -> dict[str, Any]:
        """The first tool-call line for `tool` with `outcome` (bounded wait: the log is written as it happens)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for entry in self.entries()[after:]:
                if entry["logger"] == "finance_mcp.calls" and entry.get("tool") == tool and entry["outcome"] == outcome:
                    return entry
            time.sleep(0.05)
        raise AssertionError(f"no {outcome} line for {tool} in:\n{''.join(self.lines)}")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def observed(request: pytest.FixtureRequest) -> Iterator[ObservedServer]:
    env = {"LOG_FORMAT": "json", "METRICS": "true", "METRICS_TOKEN": METRICS_TOKEN}
    running = start_server(str(request.getfixturevalue(f"{request.param}_url")), env=env)
    yield ObservedServer(running)
    stop_server(running)


@pytest.fixture
def connect_observed(observed: ObservedServer) -> Connect:
    return connector(observed.running)


async def scrape(observed: ObservedServer) -> dict[str, float]:
    """/metrics as {sample name with labels: value}."""
    async with httpx2.AsyncClient() as http:
        response = await http.get(
            f"{observed.running.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = (line.rsplit(" ", 1) for line in response.text.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, value in samples}


def test_every_start_up_line_is_json_and_still_says_application_startup_complete(observed):
    entries = observed.entries()
    assert entries, "".join(observed.lines)
    assert any(e["logger"] == "uvicorn.error" and "Application startup complete" in e["message"] for e in entries)
    assert {"ts", "level", "logger", "message"} <= set(entries[0])


async def test_a_tool_call_logs_one_json_line_naming_tool_household_user_outcome_and_duration(
    observed, connect_observed
):
    token = observed.running.token(tenant=fresh_tenant())
    async with connect_observed(token) as client:
        me = await call(client, "whoami")
    line = observed.wait_for_call("whoami", "ok")
    assert line["household_id"] == me["household"]["id"]
    assert line["user_id"] == me["user"]["id"]
    assert isinstance(line["duration_ms"], float | int)
    assert 0 <= line["duration_ms"] < 60_000
    assert line["level"] == "INFO"
    assert set(line) == {
        "ts",
        "level",
        "logger",
        "message",
        "tool",
        "household_id",
        "user_id",
        "outcome",
        "duration_ms",
    }


async def test_the_logs_hold_no_token_and_no_amount_even_when_a_call_fails(observed, connect_observed):
    token = observed.running.token(tenant=fresh_tenant(), email="private.person@example.com")
    start = len(observed.entries())
    async with connect_observed(token) as client:
        account = await make_account(client, opening_balance="8765.43")
        await call(
            client, "create_transaction", account_id=account, amount="-4321.98", date="2026-03-01", category="Rent"
        )
        failed = await client.call_tool(
            "create_transaction",
            {"account_id": MISSING_ID, "amount": "-1357.24", "date": "2026-03-01", "category": "X"},
        )
        assert failed.is_error
    assert observed.wait_for_call("create_transaction", "error", after=start)["household_id"] is not None
    text = "".join(observed.lines)
    for secret in (token, token.split(".")[2], "8765.43", "4321.98", "1357.24", "private.person"):
        assert secret not in text


async def test_metrics_count_a_call_and_an_error_for_the_tool_that_was_called(observed, connect_observed):
    before = await scrape(observed)
    token = observed.running.token(tenant=fresh_tenant())
    async with connect_observed(token) as client:
        account = await make_account(client)
        await call(client, "get_account", account_id=account)
        assert (await client.call_tool("get_account", {"account_id": MISSING_ID})).is_error
    after = await scrape(observed)

    def grew(sample: str) -> float:
        return after.get(sample, 0) - before.get(sample, 0)

    assert grew('finance_mcp_tool_calls_total{tool="get_account"}') == 2
    assert grew('finance_mcp_tool_errors_total{tool="get_account"}') == 1
    assert grew('finance_mcp_tool_call_duration_seconds_count{tool="get_account"}') == 2
    assert grew('finance_mcp_tool_call_duration_seconds_bucket{tool="get_account",le="+Inf"}') == 2
    assert grew('finance_mcp_tool_calls_total{tool="create_account"}') == 1
    assert grew('finance_mcp_tool_errors_total{tool="create_account"}') == 0


async def test_an_unknown_tool_is_counted_as_unknown_not_under_the_name_a_client_sent(observed, connect_observed):
    before = await scrape(observed)
    async with connect_observed(observed.running.token(tenant=fresh_tenant())) as client:
        assert (await client.call_tool("no_such_tool_abc", {})).is_error
    after = await scrape(observed)
    assert not any("no_such_tool_abc" in sample for sample in after)
    grew = after['finance_mcp_tool_errors_total{tool="unknown"}'] - before.get(
        'finance_mcp_tool_errors_total{tool="unknown"}', 0
    )
    assert grew == 1


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-wrong-token", f"Basic {METRICS_TOKEN}"])
async def test_metrics_refuse_a_scraper_without_the_metrics_token(observed, header):
    headers = {"Authorization": header} if header else {}
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{observed.running.base_url}/metrics", headers=headers)
    assert response.status_code == 401
    assert "finance_mcp_tool" not in response.text


def test_uvicorns_lines_and_the_apps_share_the_text_format(server):
    """The default format (LOG_FORMAT=text): `time LEVEL logger: message` whoever wrote the line."""
    uvicorn_lines = [line for line in server.startup_log if " uvicorn.error: " in line]
    assert any("Application startup complete" in line for line in uvicorn_lines)
    for line in uvicorn_lines:
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO uvicorn\.error: \S", line), line


def test_with_two_workers_the_supervisor_and_every_worker_log_json(postgres_url):
    """uvicorn configures logging again in each worker it spawns: the format must follow it there."""
    running = start_server(postgres_url, env={"LOG_FORMAT": "json"}, args=["--workers", "2"])
    try:
        lines = [line for line in running.startup_log if line.strip()]
    finally:
        stop_server(running)
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert not [line for line in lines if "uvicorn" in line and not line.startswith("{")]
    assert any("Started parent process" in e["message"] for e in entries)
    assert any(e["message"].startswith("Application startup complete") for e in entries)
