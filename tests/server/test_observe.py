"""The log formats and the /metrics guard, without a server: records and requests built by hand."""

from __future__ import annotations

import json
import logging

import pytest
from starlette.requests import Request

from finance_mcp.logs import JsonFormatter, TextFormatter, log_config
from finance_mcp.server.observe import ToolMetrics, metrics_endpoint
from finance_mcp.settings import Settings

pytestmark = pytest.mark.anyio
SECRET = "s" * 32
CALL = {"tool": "get_account", "household_id": 3, "user_id": 7, "outcome": "ok", "duration_ms": 1.25}


def tool_call_record() -> logging.LogRecord:
    record = logging.LogRecord("finance_mcp.calls", logging.INFO, __file__, 1, "tool call", None, None)
    record.fields = CALL
    return record


def test_the_text_format_appends_a_tool_calls_fields_as_key_value_pairs():
    line = TextFormatter().format(tool_call_record())
    assert line.endswith(
        " INFO finance_mcp.calls: tool call tool=get_account household_id=3 user_id=7 outcome=ok duration_ms=1.25"
    )


def test_the_json_format_puts_a_tool_calls_fields_beside_the_message():
    entry = json.loads(JsonFormatter().format(tool_call_record()))
    assert entry == entry | CALL
    assert entry["message"] == "tool call"
    assert entry["logger"] == "finance_mcp.calls"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_uvicorns_loggers_write_through_the_one_root_handler(log_format):
    config = log_config(Settings(secret_key=SECRET, log_format=log_format, _env_file=None))  # pyright: ignore[reportCallIssue]
    assert config["root"]["handlers"] == ["stderr"]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name] == {"handlers": [], "propagate": True}


def metrics_request(client_host: str, authorization: str | None = None) -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    scope = {"type": "http", "method": "GET", "path": "/metrics", "headers": headers, "client": (client_host, 5000)}
    return Request(scope)


async def test_metrics_without_a_token_answer_loopback_and_refuse_a_remote_scraper():
    serve = metrics_endpoint(Settings(secret_key=SECRET, _env_file=None), ToolMetrics())  # pyright: ignore[reportCallIssue]
    assert (await serve(metrics_request("127.0.0.1"))).status_code == 200
    assert (await serve(metrics_request("::1"))).status_code == 200
    refused = await serve(metrics_request("203.0.113.9"))
    assert refused.status_code == 403
    assert b"METRICS_TOKEN" in refused.body


async def test_metrics_with_a_token_answer_its_bearer_from_anywhere_and_no_one_else():
    token = "t" * 20
    settings = Settings(secret_key=SECRET, metrics_token=token, _env_file=None)  # pyright: ignore[reportCallIssue]
    serve = metrics_endpoint(settings, ToolMetrics())
    assert (await serve(metrics_request("203.0.113.9", f"Bearer {token}"))).status_code == 200
    assert (await serve(metrics_request("127.0.0.1"))).status_code == 401


def test_a_metrics_token_shorter_than_16_characters_is_refused_at_start_up():
    with pytest.raises(ValueError, match="at least 16"):
        Settings(secret_key=SECRET, metrics_token="short", _env_file=None)  # pyright: ignore[reportCallIssue]


def test_the_histogram_is_cumulative_and_ends_with_every_call():
    metrics = ToolMetrics()
    for seconds in (0.0004, 0.003, 0.003, 20.0):
        metrics.record("list_accounts", seconds, ok=seconds < 1)
    text = metrics.exposition()
    assert 'finance_mcp_tool_call_duration_seconds_bucket{tool="list_accounts",le="0.001"} 1' in text
    assert 'finance_mcp_tool_call_duration_seconds_bucket{tool="list_accounts",le="0.005"} 3' in text
    assert 'finance_mcp_tool_call_duration_seconds_bucket{tool="list_accounts",le="10.0"} 3' in text
    assert 'finance_mcp_tool_call_duration_seconds_bucket{tool="list_accounts",le="+Inf"} 4' in text
    assert 'finance_mcp_tool_errors_total{tool="list_accounts"} 1' in text
