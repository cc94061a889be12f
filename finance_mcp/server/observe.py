"""What every tool call leaves behind: one log line and, when `METRICS=true`, Prometheus counters.

`FinanceServer.call_tool` is the one place every call passes; it opens a `CallRecord` for the call, the
principal resolver writes the caller's local ids into it, and `CallObserver.finish` logs and counts. The
hot path pays a `perf_counter` pair, a context variable, one log record and (with metrics) a bisect.
Nothing the caller sent is logged or labelled: no token, no arguments, no amounts. A tool name that is not
registered is reported as "unknown", so a client cannot grow the metrics without bound.
"""

from __future__ import annotations

import bisect
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from finance_mcp import __version__
from finance_mcp.domain.principals import Principal
from finance_mcp.settings import Settings

logger = logging.getLogger("finance_mcp.calls")

# Upper bounds of the latency histogram, in seconds: a cached read is ~1 ms, a 1000-row batch ~1 s.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(slots=True)
class CallRecord:
    """Who made the call in progress; filled by the principal resolver when it runs."""

    household_id: int | None = None
    user_id: int | None = None


# Per call, not global: each tool call runs in its own task context; the resolver only fills the record.
CURRENT_CALL: ContextVar[CallRecord | None] = ContextVar("finance_mcp_call", default=None)


def note_principal(principal: Principal) -> None:
    record = CURRENT_CALL.get()
    if record is not None:
        record.household_id = principal.household_id
        record.user_id = principal.user_id


@dataclass(slots=True)
class ToolStats:
    calls: int = 0
    errors: int = 0
    seconds: float = 0.0
    per_bucket: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))  # last: above the top


class ToolMetrics:
    """Counters and a latency histogram per tool, for this process only, in Prometheus' text format."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolStats] = {}
        self._started = time.time()

    def record(self, tool: str, seconds: float, *, ok: bool) -> None:
        stats = self._tools.get(tool)
        if stats is None:
            stats = self._tools[tool] = ToolStats()
        stats.calls += 1
        stats.errors += not ok
        stats.seconds += seconds
        stats.per_bucket[bisect.bisect_left(BUCKETS, seconds)] += 1

    def exposition(self) -> str:
        lines = [
            "# HELP finance_mcp_info The server's version (value always 1).",
            "# TYPE finance_mcp_info gauge",
            f'finance_mcp_info{{version="{__version__}"}} 1',
            "# HELP finance_mcp_process_start_time_seconds When this process started (a change means a restart).",
            "# TYPE finance_mcp_process_start_time_seconds gauge",
            f"finance_mcp_process_start_time_seconds {self._started:.3f}",
            "# HELP finance_mcp_tool_calls_total Tool calls answered, errors included, by tool.",
            "# TYPE finance_mcp_tool_calls_total counter",
            *(f'finance_mcp_tool_calls_total{{tool="{t}"}} {s.calls}' for t, s in sorted(self._tools.items())),
            "# HELP finance_mcp_tool_errors_total Tool calls answered with an error result, by tool.",
            "# TYPE finance_mcp_tool_errors_total counter",
            *(f'finance_mcp_tool_errors_total{{tool="{t}"}} {s.errors}' for t, s in sorted(self._tools.items())),
            "# HELP finance_mcp_tool_call_duration_seconds Time to answer a tool call, by tool.",
            "# TYPE finance_mcp_tool_call_duration_seconds histogram",
        ]
        for tool, stats in sorted(self._tools.items()):
            lines += _histogram(tool, stats)
        return "\n".join(lines) + "\n"


def _histogram(tool: str, stats: ToolStats) -> list[str]:
    name = "finance_mcp_tool_call_duration_seconds"
    lines: list[str] = []
    cumulative = 0
    for bound, count in zip((*BUCKETS, "+Inf"), stats.per_bucket, strict=True):
        cumulative += count
        lines.append(f'{name}_bucket{{tool="{tool}",le="{bound}"}} {cumulative}')
    return [*lines, f'{name}_sum{{tool="{tool}"}} {stats.seconds:.6f}', f'{name}_count{{tool="{tool}"}} {stats.calls}']


class CallObserver:
    """Logs one line per tool call and counts it in `metrics` (None when METRICS is off)."""

    def __init__(self, metrics: ToolMetrics | None = None) -> None:
        self.metrics = metrics

    def finish(self, tool: str, record: CallRecord, *, ok: bool, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.record(tool, seconds, ok=ok)
        if logger.isEnabledFor(logging.INFO):
            fields = {
                "tool": tool,
                "household_id": record.household_id,
                "user_id": record.user_id,
                "outcome": "ok" if ok else "error",
                "duration_ms": round(seconds * 1000, 2),
            }
            logger.info("tool call", extra={"fields": fields})


def metrics_endpoint(settings: Settings, metrics: ToolMetrics) -> Callable[[Request], Awaitable[Response]]:
    """GET /metrics: with METRICS_TOKEN, for its bearer only; without, for loopback clients only."""

    async def serve_metrics(request: Request) -> Response:
        if settings.metrics_token is not None:
            sent = request.headers.get("authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {settings.metrics_token}".encode()):
                return PlainTextResponse("metrics need Authorization: Bearer <METRICS_TOKEN>\n", status_code=401)
        elif request.client is None or request.client.host not in LOOPBACK:
            return PlainTextResponse("metrics answer loopback only; set METRICS_TOKEN to scrape remotely\n", 403)
        return Response(metrics.exposition(), media_type=EXPOSITION)

    return serve_metrics
