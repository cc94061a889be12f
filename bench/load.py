"""A small MCP load generator: raw HTTP/1.1 over asyncio streams, one keep-alive connection per task.

Why raw: the client must cost far less CPU than the server, or on a 2-core machine it measures itself
(httpx2 spends roughly 0.3-0.5 ms per call; this spends a few tens of microseconds). Every compared target
is driven by this same client.

Wires (one per result row, named in the output):

* ``stateless`` - protocol 2025-11-25, plain POSTs, no initialize (a server with STATELESS_HTTP=true).
* ``stateful``  - protocol 2025-11-25, ``initialize`` + ``notifications/initialized`` once per (connection,
  token), then POSTs carrying ``Mcp-Session-Id``; sessions are deleted when the scenario ends.
* ``modern``    - protocol 2026-07-28: no handshake, ``Mcp-Method``/``Mcp-Name`` routing headers and the
  ``_meta`` envelope in every request.

Bounded: every scenario stops at its time limit or its request cap, whichever comes first, and each call
has a timeout. Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
WIRES = ("stateless", "stateful", "modern")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CALL_TIMEOUT_SECONDS = 30.0


class CallFailed(Exception):
    """A call that did not succeed: HTTP status, JSON-RPC error or an `isError` tool result."""


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class McpConnection:
    """One keep-alive HTTP/1.1 connection speaking MCP on one wire."""

    def __init__(self, host: str, port: int, wire: str, path: str = "/mcp") -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the load generator targets loopback only, not {host!r}")
        if wire not in WIRES:
            raise ValueError(f"unknown wire {wire!r}; one of {WIRES}")
        self.host, self.port, self.wire, self.path = host, port, wire, path
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._next_id = 0
        self._sessions: dict[str, str] = {}  # token -> Mcp-Session-Id (stateful wire)
        self._head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        self._head += "Accept: application/json, text/event-stream\r\n"

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self, *, graceful: bool = True) -> None:
        """Close the connection; `graceful` first ends its sessions (DELETE), which a broken stream skips."""
        for token, session in list(self._sessions.items()) if graceful else []:
            try:
                await asyncio.wait_for(self._request("DELETE", token, b"", {"Mcp-Session-Id": session}), 5)
            except (TimeoutError, OSError, CallFailed, asyncio.IncompleteReadError):
                break
        self._sessions.clear()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def _request(self, method: str, token: str, body: bytes, extra: dict[str, str]) -> HttpResponse:
        if self._reader is None or self._writer is None:
            raise OSError("connection is not open")
        head = self._head if method == "POST" else self._head.replace("POST ", f"{method} ", 1)
        lines = [head, f"Authorization: Bearer {token}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in extra.items()]
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        self._writer.write("".join(lines).encode("latin-1") + body)
        return await _read_response(self._reader)

    async def _ensure_session(self, token: str) -> str:
        session = self._sessions.get(token)
        if session is not None:
            return session
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": LEGACY_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "finance-mcp-bench", "version": "1"},
            },
        }
        response = await self._request("POST", token, json.dumps(init).encode(), {})
        session = response.headers.get("mcp-session-id")
        if response.status != 200 or not session:
            raise CallFailed(f"initialize failed: HTTP {response.status} {response.body[:200]!r}")
        note = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()
        headers = {"Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY_VERSION}
        response = await self._request("POST", token, note, headers)
        if response.status != 202:
            raise CallFailed(f"notifications/initialized: HTTP {response.status}")
        self._sessions[token] = session
        return session

    async def prepare(self, tokens: Iterable[str]) -> None:
        """Open the sessions this connection will need before the clock starts (stateful wire only)."""
        if self.wire == "stateful":
            for token in tokens:
                await self._ensure_session(token)

    async def rpc(self, token: str, method: str, params: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        """One JSON-RPC request; returns its `result` or raises `CallFailed`."""
        self._next_id += 1
        headers: dict[str, str]
        if self.wire == "modern":
            params = {
                **params,
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            }
            headers = {"MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": method}
            if name is not None:
                headers["Mcp-Name"] = name
        else:
            headers = {"MCP-Protocol-Version": LEGACY_VERSION}
            if self.wire == "stateful":
                headers["Mcp-Session-Id"] = await self._ensure_session(token)
        body = json.dumps({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}).encode()
        response = await self._request("POST", token, body, headers)
        message = _decode_message(response, self._next_id)
        if "error" in message:
            raise CallFailed(f"JSON-RPC error {message['error']}")
        return message["result"]

    async def call_tool(self, token: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """`tools/call`; returns the result's structuredContent (or {}), raises `CallFailed` on `isError`."""
        result = await self.rpc(token, "tools/call", {"name": tool, "arguments": arguments}, name=tool)
        if result.get("isError"):
            text = " ".join(c.get("text", "") for c in result.get("content", []))
            raise CallFailed(f"{tool}: {text[:300]}")
        return result.get("structuredContent") or {}


async def _read_response(reader: asyncio.StreamReader) -> HttpResponse:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are sent
                break
            parts.append(await reader.readexactly(size + 2))
            parts[-1] = parts[-1][:-2]
        body = b"".join(parts)
    elif status in (202, 204, 304) or status < 200:
        body = b""
    else:
        body = await reader.read()  # connection: close
    return HttpResponse(status, headers, body)


def _decode_message(response: HttpResponse, request_id: int) -> dict[str, Any]:
    if response.status != 200:
        raise CallFailed(f"HTTP {response.status}: {response.body[:300]!r}")
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.body.split(b"\n"):
            if line.startswith(b"data:") and len(line) > 6:
                message = json.loads(line[5:])
                if message.get("id") == request_id:
                    return message
        raise CallFailed(f"no response to request {request_id} in the event stream")
    return json.loads(response.body)


# --- load loop -------------------------------------------------------------------------------------

Operation = Callable[[McpConnection, int, random.Random], Awaitable[int]]
"""One unit of measured work: issues one or more calls on the task's connection, returns how many."""


@dataclass
class Outcome:
    """What a scenario's measured window saw."""

    ops: int = 0
    calls: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list[float])
    error_samples: list[str] = field(default_factory=list[str])
    seconds: float = 0.0
    client_cpu_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000, 2)

        return {
            "ops": self.ops,
            "calls": self.calls,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "ops_per_s": round(self.ops / self.seconds, 1) if self.seconds else 0.0,
            "calls_per_s": round(self.calls / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "client_cpu": round(self.client_cpu_seconds / self.seconds, 3) if self.seconds else 0.0,
            "error_samples": self.error_samples[:3],
        }


async def run_load(
    *,
    host: str,
    port: int,
    wire: str,
    concurrency: int,
    operation: Operation,
    tokens_for_task: Callable[[int], list[str]],
    warmup_seconds: float,
    measure_seconds: float,
    max_ops: int,
    seed: int = 1,
    on_window: Callable[[str], Awaitable[None]] | None = None,
) -> Outcome:
    """Drive `operation` from `concurrency` tasks: warm up, then measure a window; bounded in ops and time.

    `on_window("start")` / `on_window("end")` run at the edges of the measured window (for server-side
    CPU and memory snapshots).
    """
    connections = [McpConnection(host, port, wire) for _ in range(concurrency)]
    for index, conn in enumerate(connections):
        await conn.open()
        await conn.prepare(tokens_for_task(index))
    outcome = Outcome()
    measuring = False
    stop = False
    started_ops = 0

    async def worker(index: int) -> None:
        nonlocal started_ops
        conn = connections[index]
        rng = random.Random(seed * 1000 + index)
        while not stop and started_ops < max_ops:
            started_ops += 1
            counted = measuring
            began = time.perf_counter()
            try:
                calls = await asyncio.wait_for(operation(conn, index, rng), CALL_TIMEOUT_SECONDS)
            except (TimeoutError, CallFailed, OSError, asyncio.IncompleteReadError, ValueError) as error:
                if measuring:
                    outcome.errors += 1
                    if len(outcome.error_samples) < 5:
                        outcome.error_samples.append(f"{type(error).__name__}: {error}"[:300])
                if isinstance(error, TimeoutError | OSError | asyncio.IncompleteReadError):
                    await conn.close(graceful=False)  # the stream is in an unknown state: start afresh
                    await conn.open()
                continue
            if measuring:  # throughput: completions inside the window; latency: calls wholly inside it
                outcome.ops += 1
                outcome.calls += calls
                if counted:
                    outcome.latencies.append(time.perf_counter() - began)

    tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    try:
        await asyncio.sleep(warmup_seconds)
        if on_window is not None:
            await on_window("start")
        cpu0, t0 = time.process_time(), time.perf_counter()
        measuring = True
        await asyncio.sleep(measure_seconds)
        measuring = False
        outcome.seconds = time.perf_counter() - t0
        outcome.client_cpu_seconds = time.process_time() - cpu0
        if on_window is not None:
            await on_window("end")
    finally:
        stop = True
        await asyncio.wait(tasks, timeout=CALL_TIMEOUT_SECONDS + 5)
        for task in tasks:
            task.cancel()
        for conn in connections:
            await conn.close()
    return outcome
