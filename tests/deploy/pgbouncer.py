"""A throw-away PgBouncer in transaction mode in front of a PostgreSQL server: a generated ini on a free
loopback port, `auth_type = trust` with a one-line userlist, run as the `postgres` system user (PgBouncer
refuses to run as root). Debian's package (`apt-get install pgbouncer`); `.ci/run` installs it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.servers import free_port

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SYSTEM_USER = "postgres"
START_TIMEOUT = 30.0


def available() -> str | None:
    """None when PgBouncer can be run here, else the reason it cannot."""
    if not Path(BINARY).exists():
        return f"no pgbouncer binary ({BINARY}); install Debian's package: apt-get install pgbouncer"
    return None


def version() -> str:
    done = subprocess.run([BINARY, "--version"], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[0]


def _ini(upstream_host: str, upstream_port: int, port: int, root: Path, pool_size: int) -> str:
    return "\n".join(
        [
            "[databases]",
            f"* = host={upstream_host} port={upstream_port}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {root / 'userlist.txt'}",
            "pool_mode = transaction",
            "max_client_conn = 1000",
            f"default_pool_size = {pool_size}",
            f"logfile = {root / 'pgbouncer.log'}",
            f"pidfile = {root / 'pgbouncer.pid'}",
            "",
        ]
    )


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited ({process.returncode}):\n{log.read_text() if log.exists() else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # a bounded poll for the listening socket, not a wait for an outcome
    process.kill()
    raise RuntimeError(f"pgbouncer did not listen on {port} within {START_TIMEOUT} s")


@contextmanager
def running_pgbouncer(database_url: str, *, pool_size: int = 10) -> Iterator[str]:
    """Yield `database_url` rewritten to go through a fresh PgBouncer (transaction pooling)."""
    upstream = urlsplit(database_url)
    root = Path(tempfile.mkdtemp(prefix="finance-mcp-pgbouncer-"))
    user = upstream.username or SYSTEM_USER
    (root / "userlist.txt").write_text(f'"{user}" ""\n')
    port = free_port()
    ini = root / "pgbouncer.ini"
    ini.write_text(_ini(upstream.hostname or "127.0.0.1", upstream.port or 5432, port, root, pool_size))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, SYSTEM_USER, SYSTEM_USER)
        for path in root.iterdir():
            shutil.chown(path, SYSTEM_USER, SYSTEM_USER)
        as_user = ["-u", SYSTEM_USER]
    process = subprocess.Popen([BINARY, *as_user, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(process, port, root / "pgbouncer.log")
        yield upstream._replace(netloc=f"{user}@127.0.0.1:{port}").geturl()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
