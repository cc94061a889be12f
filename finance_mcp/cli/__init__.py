"""`finance-mcp serve | migrate | backup | token | api-key create | import`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from finance_mcp import __version__
from finance_mcp.cli.exports import add_export_command, run_export
from finance_mcp.settings import Settings

APP = "finance_mcp.server.app:create_app"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "\n".join(f"  {'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        sys.exit(f"finance-mcp: configuration error\n{problems}")


def _listening_socket(
    address: tuple[str, int] | tuple[str, int, int, int], kind: type[socket.socket] = socket.socket
) -> socket.socket:
    """A TCP socket bound with SO_REUSEADDR, SO_REUSEPORT and TCP_NODELAY, which accepted sockets inherit on Linux.

    uvicorn's own multi-worker bind uses proto 0, so asyncio never sets TCP_NODELAY on worker
    connections and every response waits ~40 ms for a delayed ACK.
    `address` is (host, port), or IPv6's (host, port, flowinfo, scope_id) as `getsockname()` gives it.
    """
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = kind(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(address)
    return sock


class _ListenerPerWorker(socket.socket):
    """The supervisor's claim on HOST:PORT, which every worker turns into a listener of its own.

    uvicorn's `Multiprocess` pickles the sockets it is given into each worker it spawns (at start, after
    a crash, on SIGHUP). This one pickles as its address, so each worker unpickles a fresh SO_REUSEPORT
    socket bound there and listens on it alone, and the kernel spreads new connections evenly over the
    workers. (One shared listener hands a burst of keep-alive connections to whichever worker is in
    accept(), often all of them to one.) The supervisor binds this socket but never listens on it, so no
    connection ever waits in it. SO_REUSEPORT would let a second server started by the same user join in
    on the same port: `_refuse_a_taken_port` checks first that nothing listens there.
    """

    def __reduce__(self) -> tuple[Callable[..., socket.socket], tuple[tuple[Any, ...]]]:
        # The whole bound address: for IPv6 it carries the scope id a link-local address needs.
        return _listening_socket, (self.getsockname(),)


def _refuse_a_taken_port(host: str, port: int) -> None:
    """Bind once without SO_REUSEPORT: fails if anything (another finance-mcp included) listens there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            sys.exit(f"finance-mcp: cannot serve on {host}:{port}: {error.strerror or error}")


def _refuse_an_unmigrated_database(database_url: str) -> None:
    """Checked once here, before any worker starts (a worker that failed its start-up would be restarted)."""
    from finance_mcp.db.schema import schema_problem

    problem = asyncio.run(schema_problem(database_url))
    if problem is not None:
        sys.exit(f"finance-mcp: {problem}")


WORKER_HEALTHCHECK_SECONDS = 60


def serve(host: str | None, port: int | None, workers: int, *, migrate_first: bool = False) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from finance_mcp.logs import log_config
    from finance_mcp.server.slow_clients import DeadlineConfig

    # The factory reads Settings in each worker: pass the CLI's choices through the environment.
    if host:
        os.environ["HOST"] = host
    if port:
        os.environ["PORT"] = str(port)
    settings = load_settings()
    if migrate_first:
        migrate()
    _refuse_an_unmigrated_database(settings.database_url)
    config = DeadlineConfig(
        APP,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=log_config(settings),  # uvicorn's lines in the app's format (LOG_FORMAT), in every worker
        access_log=settings.debug,
        timeout_graceful_shutdown=5,
        # A worker answers the supervisor's health check only once its imports are done: on a busy machine
        # several workers importing at once took over uvicorn's 5 s and were killed and restarted in a loop.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        # What one slow or greedy client may hold (issue 11, item 12; finance_mcp/server/slow_clients.py).
        limit_concurrency=settings.limit_concurrency,
        timeout_keep_alive=settings.timeout_keep_alive_seconds,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    _refuse_a_taken_port(settings.host, settings.port)
    with _listening_socket((settings.host, settings.port), _ListenerPerWorker) as claim:
        Multiprocess(config, sockets=[claim]).run()


def migrate() -> None:
    from finance_mcp.db.migrate import upgrade

    upgrade(load_settings().database_url)
    print("finance-mcp: database is at the latest schema")  # noqa: T201


def backup(output: Path) -> None:
    from finance_mcp.cli.backup import BackupError
    from finance_mcp.cli.backup import backup as write_backup

    try:
        described = write_backup(load_settings().database_url, output)
    except BackupError as error:
        sys.exit(f"finance-mcp: backup failed: {error}")
    print(f"finance-mcp: backed up {described} to {output}")  # noqa: T201


def import_file(args: argparse.Namespace) -> None:
    from finance_mcp.cli.imports import run_import

    settings = load_settings()
    token = args.token or os.environ.get("FINANCE_MCP_TOKEN")
    if not token:
        sys.exit("finance-mcp: import needs --token or FINANCE_MCP_TOKEN (e.g. from `finance-mcp token`)")
    sys.exit(asyncio.run(run_import(settings, args, token)))


DEVELOPMENT_NOTE = (
    "A development token: its user and household are in the dev- namespace, which no MCP_Auth user or tenant "
    "can ever have (their ids are numbers), so it never opens a real household."
)


def token(sub: str, tenant: str | None, role: str, email: str | None, ttl: int) -> None:
    from finance_mcp.cli.dev import mint_dev_token

    settings = load_settings()
    minted, claims = mint_dev_token(
        settings.secret_key, sub=sub, tenant=tenant, personal=tenant is None, role=role, email=email, ttl_seconds=ttl
    )
    household = f"household {claims['tenant_id']}" if "tenant_id" in claims else "a personal household"
    print(f"finance-mcp: user {claims['sub']}, {role} of {household}. {DEVELOPMENT_NOTE}", file=sys.stderr)  # noqa: T201
    print(minted)  # noqa: T201


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        print(  # noqa: T201
            "finance-mcp: no terminal to ask for the MCP_Auth password; pipe it in with --password-stdin, "
            "e.g. printf '%s\\n' \"$PASSWORD\" | finance-mcp api-key create --password-stdin ...",
            file=sys.stderr,
        )
        sys.exit(2)
    return getpass.getpass("MCP_Auth password: ")


async def _create_api_key(settings: Settings, args: argparse.Namespace, password: str) -> str:
    """Sign in at MCP_Auth exactly as the sign-in page does, then create the key as that person."""
    from finance_mcp.db.database import open_database
    from finance_mcp.domain.errors import FinanceError
    from finance_mcp.schemas.api_keys import ApiKeyCreate
    from finance_mcp.server.api_key_checks import recheck_policy
    from finance_mcp.server.auth import JwtVerifier, identity_from_token
    from finance_mcp.server.oauth.mcp_auth_client import McpAuthClient, Refused, Unreachable
    from finance_mcp.server.state import household_quotas
    from finance_mcp.services import api_keys
    from finance_mcp.services.households import IdentityService

    mcp_auth = McpAuthClient(settings.auth_server_url)
    try:
        answer = await mcp_auth.sign_in(
            tenant_email=args.tenant_email, username=args.username, password=password, totp_code=args.totp_code
        )
    except Refused:
        sys.exit("finance-mcp: sign-in failed: check the household email, username, password and one-time code")
    except Unreachable:
        sys.exit(f"finance-mcp: MCP_Auth at {settings.auth_server_url} is not answering (AUTH_SERVER_URL)")
    verifier = JwtVerifier(
        settings.secret_key, resource_url=settings.resource_url, previous=settings.secret_key_previous
    )
    verified = verifier.verify(answer.access_token)
    if verified is None:
        sys.exit("finance-mcp: MCP_Auth's token does not verify here: is SECRET_KEY the same as MCP_Auth's?")
    # The key keeps this sign-in's refresh token to re-check its person with MCP_Auth (role, tenant).
    recheck = (recheck_policy(settings, verifier), answer.refresh_token) if answer.refresh_token else None
    db = open_database(settings.database_url)
    try:
        principal = await IdentityService(db, quotas=household_quotas(settings)).resolve(identity_from_token(verified))
        data = ApiKeyCreate(name=args.name, scopes=args.scope, expires_in_days=args.expires_in_days)
        created = await api_keys.create_api_key(
            db, principal, data, recheck=recheck, unchecked_max_days=settings.api_key_unchecked_max_days
        )
    except FinanceError as error:
        if answer.refresh_token:
            await mcp_auth.logout(answer.refresh_token)  # no key holds this sign-in
        sys.exit(f"finance-mcp: {error}")
    finally:
        await db.dispose()
    key = created.api_key
    print(  # noqa: T201
        f"Created API key {key.id} '{key.name}' ({', '.join(key.scopes)}; expires {key.expires_at:%Y-%m-%d}) "
        f"for {key.user_email or principal.auth_user_id} in {principal.household_name}. It is shown only once:",
        file=sys.stderr,
    )
    if created.notice:
        print(created.notice, file=sys.stderr)  # noqa: T201
    return created.key


def api_key_create(args: argparse.Namespace) -> None:
    settings = load_settings()
    password = _read_password(args.password_stdin)
    print(asyncio.run(_create_api_key(settings, args, password)))  # noqa: T201


def _add_api_key_commands(api_key: argparse.ArgumentParser) -> None:
    actions = api_key.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="sign in at MCP_Auth (AUTH_SERVER_URL) and create a key; prints it")
    create.add_argument("--tenant-email", required=True, help="the household's (tenant's) MCP_Auth email")
    create.add_argument("--username", required=True, help="your MCP_Auth username (an owner's is their email)")
    create.add_argument("--name", required=True, help="where the key will be used, e.g. 'Cursor on my laptop'")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=["finance:read", "finance:write", "finance:admin"],
        help="what the key may do; repeat for several (never more than your role)",
    )
    create.add_argument("--expires-in-days", type=int, default=90, help="1-365 (default 90)")
    create.add_argument("--totp-code", help="one-time code, if your account uses one (with your usual --username)")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="finance-mcp", description=__doc__)
    parser.add_argument("--version", action="version", version=f"finance-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve MCP over streamable HTTP at /mcp")
    serve_cmd.add_argument("--host", help="interface to bind (default: HOST or 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, help="port (default: PORT or 8000)")
    serve_cmd.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve_cmd.add_argument("--migrate", action="store_true", help="migrate first (one server on the database only)")
    commands.add_parser("migrate", help="upgrade the database to the latest schema")
    backup_cmd = commands.add_parser("backup", help="write a consistent copy of the database while it serves")
    backup_cmd.add_argument("--output", required=True, type=Path, help="new file: SQLite copy or pg_dump archive")
    token_cmd = commands.add_parser("token", help="mint a development token signed with the local SECRET_KEY")
    token_cmd.add_argument("--sub", default="dev-1", help="user id, always in the dev- namespace (default dev-1)")
    token_cmd.add_argument(
        "--tenant", default="dev-household", help="household, always dev-...; pass '' for a personal one"
    )
    token_cmd.add_argument("--role", default="OWNER", choices=["OWNER", "ADMIN", "MEMBER", "VIEWER"])
    token_cmd.add_argument("--email", default="dev@example.com")
    token_cmd.add_argument("--ttl", type=int, default=24 * 3600, help="lifetime in seconds (default one day)")
    _add_api_key_commands(commands.add_parser("api-key", help="API keys for clients that send a fixed header"))
    add_export_command(commands.add_parser("export", help="write transactions as CSV, JSON or OFX"))
    from finance_mcp.cli import imports

    imports.add_command(commands)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.workers, migrate_first=args.migrate)
    elif args.command == "migrate":
        migrate()
    elif args.command == "backup":
        backup(args.output)
    elif args.command == "api-key":
        api_key_create(args)
    elif args.command == "export":
        run_export(load_settings(), args)
    elif args.command == "import":
        import_file(args)
    else:
        token(args.sub, args.tenant or None, args.role, args.email or None, args.ttl)
