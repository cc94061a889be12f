"""`finance-mcp serve | migrate | token`."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from finance_mcp.settings import Settings

APP = "finance_mcp.server.app:create_app"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "\n".join(f"  {'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        sys.exit(f"finance-mcp: configuration error\n{problems}")


def _listening_socket(host: str, port: int) -> socket.socket:
    """A listener with TCP_NODELAY set, which accepted sockets inherit on Linux.

    uvicorn's own multi-worker bind uses proto 0, so asyncio never sets TCP_NODELAY on worker
    connections and every response waits ~40 ms for a delayed ACK (reference/mcp_sdk.md §16.1).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(host: str | None, port: int | None, workers: int) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    # The factory reads Settings in each worker: pass the CLI's choices through the environment.
    if host:
        os.environ["HOST"] = host
    if port:
        os.environ["PORT"] = str(port)
    settings = load_settings()
    config = uvicorn.Config(
        APP,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=settings.debug,
        timeout_graceful_shutdown=5,
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[_listening_socket(settings.host, settings.port)]).run()


def migrate() -> None:
    from finance_mcp.db.migrate import upgrade

    upgrade(load_settings().database_url)
    print("finance-mcp: database is at the latest schema")  # noqa: T201


def token(sub: str, tenant: str | None, role: str, email: str | None, ttl: int) -> None:
    from finance_mcp.server.auth import mint_token

    settings = load_settings()
    print(mint_token(settings.secret_key, sub=sub, tenant=tenant, role=role, email=email, ttl_seconds=ttl))  # noqa: T201


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="finance-mcp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve MCP over streamable HTTP at /mcp")
    serve_cmd.add_argument("--host", help="interface to bind (default: HOST or 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, help="port (default: PORT or 8000)")
    serve_cmd.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    commands.add_parser("migrate", help="upgrade the database to the latest schema")
    token_cmd = commands.add_parser("token", help="mint a development token signed with the local SECRET_KEY")
    token_cmd.add_argument("--sub", default="1", help="user id (MCP_Auth 'sub')")
    token_cmd.add_argument("--tenant", default="2", help="tenant id = household; pass '' for a personal one")
    token_cmd.add_argument("--role", default="OWNER", choices=["OWNER", "ADMIN", "MEMBER", "VIEWER"])
    token_cmd.add_argument("--email", default="dev@example.com")
    token_cmd.add_argument("--ttl", type=int, default=24 * 3600, help="lifetime in seconds (default one day)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.workers)
    elif args.command == "migrate":
        migrate()
    else:
        token(args.sub, args.tenant or None, args.role, args.email or None, args.ttl)
