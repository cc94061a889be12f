"""A throw-away PostgreSQL server that a test may stop and start at will: its own data folder, socket folder and
port, run as the `postgres` system user (initdb refuses root). Never the shared server on 5432."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.servers import free_port

BIN = Path(os.environ.get("FINANCE_MCP_PG_BIN", "/usr/lib/postgresql/15/bin"))
SYSTEM_USER = "postgres"
START_TIMEOUT = 60


def available() -> str | None:
    """None when a throw-away server can be run here, else the reason it cannot."""
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL binaries in {BIN}"
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return f"no {SYSTEM_USER!r} system user to run initdb as"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != SYSTEM_USER:
        return "needs root (to become the postgres user) or to run as postgres"
    return None


class ThrowawayPostgres:
    """`start()`, `stop()` (an immediate shutdown: the crash-like fault) and `start()` again, on one data folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.starts = 0
        self.stops = 0

    @property
    def url(self) -> str:
        return f"postgresql://{SYSTEM_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        as_postgres = [] if os.geteuid() != 0 else ["runuser", "-u", SYSTEM_USER, "--"]
        done = subprocess.run(
            [*as_postgres, *command], capture_output=True, text=True, timeout=START_TIMEOUT + 30, check=False
        )
        if done.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n{log[-3000:]}")

    def initdb(self) -> None:
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-U", SYSTEM_USER, "-A", "trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        log = str(self.root / "server.log")
        self._run(
            str(BIN / "pg_ctl"), "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", str(START_TIMEOUT), "start"
        )
        self.starts += 1

    def stop(self) -> None:
        """Stop at once, like a crash: open connections are cut and uncommitted work is lost."""
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.stops += 1

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    root = Path(tempfile.mkdtemp(prefix="finance-mcp-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(root, SYSTEM_USER, SYSTEM_USER)
        server = ThrowawayPostgres(root)
        server.initdb()
        server.start()
        try:
            yield server
        finally:
            if server.running():
                server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
