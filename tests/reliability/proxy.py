"""A loopback reverse proxy that adds a bearer token to every request: how a credential-less client (the
conformance suite) reaches the real, authenticated server without any auth-off switch in production code.

It forwards method, path, query, body and every header unchanged (Host and Origin included, so the
server's DNS-rebinding checks still see what the client sent), and streams responses back chunk by chunk
so SSE arrives unbuffered.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx2
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

# Headers that describe one hop, not the message; the proxy sets its own.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD"]
STOP_TIMEOUT = 10.0


def build_proxy(upstream: str, token: str) -> Starlette:
    """An ASGI app forwarding everything to `upstream` (scheme://host:port) with `Authorization` set."""
    clients: list[httpx2.AsyncClient] = []

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=None)) as client:
            clients.append(client)
            yield

    async def forward(request: Request) -> Response:
        headers = [
            (name, value)
            for name, value in request.headers.raw
            if name.decode().lower() not in HOP_BY_HOP | {"authorization"}
        ]
        headers.append((b"authorization", f"Bearer {token}".encode()))
        target = upstream + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        outgoing = clients[0].build_request(request.method, target, headers=headers, content=await request.body())
        incoming = await clients[0].send(outgoing, stream=True)
        reply_headers = {k: v for k, v in incoming.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        return StreamingResponse(
            incoming.aiter_raw(),
            status_code=incoming.status_code,
            headers=reply_headers,
            background=BackgroundTask(incoming.aclose),
        )

    return Starlette(routes=[Route("/{path:path}", forward, methods=METHODS)], lifespan=lifespan)


def listening_socket() -> socket.socket:
    """Bound and listening before the server thread starts, so connections queue instead of failing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextmanager
def token_proxy(upstream: str, token: str) -> Iterator[str]:
    """Run the proxy on a free loopback port in a thread; yields its base URL, stops it on exit."""
    sock = listening_socket()
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(build_proxy(upstream, token), log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT)
        sock.close()
