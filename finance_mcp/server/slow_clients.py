"""uvicorn's HTTP/1.1 protocol with deadlines for a request's head and body (slowloris, issue 11 item 12).

uvicorn (0.55) arms no timer while a request head arrives: its keep-alive timeout starts only after a
response and is cancelled by the next byte, so a client sending one header byte every few seconds holds its
connection, and a few hundred such clients fill `limit_concurrency` (which counts connections), after which
every new request is answered 503. Here each request's head must arrive within `header_timeout` of the
connection opening (or of the previous response), and its body within `body_timeout` of the head, however
slowly the bytes trickle; otherwise the connection is closed. A request being answered (a long SSE stream
included) is never cut: the deadlines only look at what the client still owes.

`DeadlineConfig` uses uvicorn's documented `http=` protocol-class option; what it touches of `H11Protocol`
(`connection_made`, `on_response_complete`, `conn`, `transport`, `loop`) is checked by
`tests/reliability/abuse/test_sessions_and_quotas.py`, which fails loudly if uvicorn changes them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState


class DeadlineConfig(Config):
    """uvicorn's `Config` serving with `DeadlineH11Protocol`. A class of its own (not a closure) because
    `--workers` pickles the config into each worker process."""

    def __init__(self, app: Any, *, header_timeout: float, body_timeout: float, **options: Any) -> None:
        super().__init__(app, http=DeadlineH11Protocol, **options)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout


class DeadlineH11Protocol(H11Protocol):
    """`H11Protocol` plus the two deadlines, read from a `DeadlineConfig`."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any], **kw: Any) -> None:
        super().__init__(config, server_state, app_state, **kw)
        self.header_timeout: float = getattr(config, "header_timeout", 10.0)
        self.body_timeout: float = getattr(config, "body_timeout", 60.0)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def data_received(self, data: bytes) -> None:
        waiting_for_head = self.conn.their_state is h11.IDLE
        super().data_received(data)
        if waiting_for_head and self.conn.their_state is h11.SEND_BODY:
            self._arm(self.body_timeout)  # the head is in: the body now has its own deadline

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm(self.header_timeout)  # the next request's head, on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.logger.info("closing a connection that sent no complete request in time")
            self.transport.close()
