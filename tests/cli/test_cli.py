"""The `finance-mcp` command line, run as a real subprocess (`serve` with one worker is covered by the e2e
suite; `serve --workers N` is here, observed through /proc as the kernel sees it)."""

from __future__ import annotations

import ctypes
import errno
import http.client
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import jwt
import pytest
from alembic.script import ScriptDirectory

from finance_mcp.cli import WORKER_HEALTHCHECK_SECONDS
from finance_mcp.db.migrate import alembic_config
from finance_mcp.db.models import Base
from finance_mcp.settings import Settings

SECRET = "cli-test-secret-" + "k" * 32
TIMEOUT = 60
# Every variable the server reads, from the settings model itself so the list cannot drift; the subprocess
# must see only the ones a test sets.
SERVER_VARIABLES = {name.upper() for name in Settings.model_fields}


def run_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m finance_mcp ARGS` in `cwd` (which holds no `.env`) with exactly `env` configured."""
    environment = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES} | env
    return subprocess.run(
        [sys.executable, "-m", "finance_mcp", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


def tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def revision(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn, conn:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(version)


def test_migrate_creates_the_tables_and_says_so(tmp_path: Path, db_file: Path) -> None:
    url = f"sqlite:///{db_file}"

    done = run_cli(tmp_path, "migrate", SECRET_KEY=SECRET, DATABASE_URL=url)

    assert done.returncode == 0, done.stderr
    assert "latest schema" in done.stdout
    assert tables(db_file) == set(Base.metadata.tables) | {"alembic_version"}
    assert revision(db_file) == ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def test_migrate_twice_succeeds_and_keeps_the_schema(tmp_path: Path, db_file: Path) -> None:
    url = f"sqlite:///{db_file}"
    first = run_cli(tmp_path, "migrate", SECRET_KEY=SECRET, DATABASE_URL=url)
    assert first.returncode == 0, first.stderr

    again = run_cli(tmp_path, "migrate", SECRET_KEY=SECRET, DATABASE_URL=url)

    assert again.returncode == 0, again.stderr
    assert tables(db_file) == set(Base.metadata.tables) | {"alembic_version"}


def test_token_prints_a_development_jwt_in_mcp_auths_shape_plus_the_dev_marker(tmp_path: Path, db_file: Path) -> None:
    before = int(time.time())

    done = run_cli(
        tmp_path,
        *("token", "--sub", "7", "--tenant", "3", "--role", "MEMBER", "--email", "a@example.com", "--ttl", "60"),
        SECRET_KEY=SECRET,
        DATABASE_URL=f"sqlite:///{db_file}",
    )

    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert set(claims) == {"sub", "tenant_id", "role", "email", "scopes", "iat", "exp", "finance_mcp_dev"}
    assert claims["finance_mcp_dev"] is True
    assert claims["sub"] == "dev-7"
    assert claims["tenant_id"] == "dev-3"
    assert claims["role"] == "MEMBER"
    assert claims["email"] == "a@example.com"
    assert claims["scopes"] == []
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 60


def test_token_says_it_names_a_development_household_never_a_real_one(tmp_path: Path, db_file: Path) -> None:
    done = run_cli(tmp_path, "token", SECRET_KEY=SECRET, DATABASE_URL=f"sqlite:///{db_file}")

    claims = jwt.decode(done.stdout.strip(), SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["tenant_id"]) == ("dev-1", "dev-household")
    assert "household dev-household" in done.stderr
    assert "never opens a real household" in done.stderr


def test_api_key_create_without_a_terminal_asks_for_password_stdin_and_exits_2(tmp_path: Path, db_file: Path) -> None:
    args = ("api-key", "create", "--tenant-email", "a@example.com", "--username", "a", "--name", "n")

    done = run_cli(tmp_path, *args, "--scope", "finance:read", SECRET_KEY=SECRET, DATABASE_URL=f"sqlite:///{db_file}")

    assert done.returncode == 2
    assert "--password-stdin" in done.stderr
    assert "EOFError" not in done.stderr


def test_token_needs_no_database(tmp_path: Path, db_file: Path) -> None:
    done = run_cli(tmp_path, "token", SECRET_KEY=SECRET, DATABASE_URL=f"sqlite:///{db_file}")

    assert done.returncode == 0, done.stderr
    assert jwt.decode(done.stdout.strip(), SECRET, algorithms=["HS256"])["sub"]
    assert not db_file.exists()


@pytest.mark.parametrize("secret", ["", "too-short"], ids=["missing", "short"])
def test_token_refuses_a_weak_secret_key_and_names_it(tmp_path: Path, db_file: Path, secret: str) -> None:
    env = {"DATABASE_URL": f"sqlite:///{db_file}"} | ({"SECRET_KEY": secret} if secret else {})

    done = run_cli(tmp_path, "token", "--sub", "7", **env)

    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr
    assert "secrets.token_urlsafe" in done.stderr
    assert done.stdout == ""


# ---- serve --workers N: one SO_REUSEPORT listener per worker -------------------------------------------

T = TypeVar("T")
SYS_PIDFD_GETFD = 438  # the same number on every architecture with the generic syscall table
LISTEN, ESTABLISHED = "0A", "01"  # TCP states as /proc/net/tcp writes them


@dataclass
class Serving:
    """`finance-mcp serve --workers N` running as a subprocess; its log goes to a file, never a full pipe."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log: Path

    def wait_for(self, condition: Callable[[], T | None], what: str, within: float = TIMEOUT) -> T:
        """Poll `condition` until it returns something truthy, for at most `within` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            assert self.process.poll() is None, f"serve exited ({self.process.returncode}):\n{self.log.read_text()}"
            time.sleep(0.05)  # the polling interval, not a wait for something to happen
        raise AssertionError(f"no {what} within {within} s:\n{self.log.read_text()}")

    def workers(self) -> dict[int, set[int]]:
        """The supervisor's children that listen on the port, each with the inodes of its listeners."""
        listeners = tcp_sockets(self.port, LISTEN)
        owned = {pid: socket_inodes(pid) & listeners for pid in children(self.process.pid)}
        return {pid: inodes for pid, inodes in owned.items() if inodes}

    def stop(self) -> int:
        """SIGINT, as an operator's Ctrl+C (and so coverage data is saved); the exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
            raise


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(directory: Path, *, host: str = "127.0.0.1", workers: int = 2) -> Iterator[Serving]:
    """Start `serve`, wait until every worker listens, and stop it with SIGINT at the end."""
    port = free_port(host)
    log = directory / f"serve-{port}.log"
    env = {"SECRET_KEY": SECRET, "DATABASE_URL": f"sqlite:///{directory / 'serve.db'}", "LOG_LEVEL": "INFO"}
    environment = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES} | env
    command = [sys.executable, "-m", "finance_mcp", "serve", "--migrate", "--host", host, "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--workers", str(workers)], cwd=directory, env=environment, stdout=output, stderr=output
        )
    server = Serving(process, host, port, log)
    try:
        server.wait_for(lambda: len(server.workers()) == workers, f"{workers} listening workers")
        yield server
    finally:
        if process.poll() is None:
            server.stop()


def children(parent: int) -> set[int]:
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the process ended while we looked
        if int(fields[1]) == parent:
            found.add(int(stat.parent.name))
    return found


def tcp_sockets(port: int, state: str, *, peer_port: int | None = None) -> set[int]:
    """The inodes of the TCP sockets (IPv4 and IPv6) on local `port` in `state`, as the kernel lists them."""
    found: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            if local == port and fields[3] == state and peer_port in (None, remote):
                found.add(int(fields[9]))
    return found


def socket_fds(pid: int) -> dict[int, int]:
    """inode -> file descriptor of each socket the process holds."""
    found: dict[int, int] = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue  # closed while we looked
        if target.startswith("socket:["):
            found[int(target[len("socket:[") : -1])] = int(fd.name)
    return found


def socket_inodes(pid: int) -> set[int]:
    try:
        return set(socket_fds(pid))
    except FileNotFoundError:
        return set()  # the process ended


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def ask_health(server: Serving) -> http.client.HTTPConnection:
    """GET /health on a new keep-alive connection, left open so the server keeps its end of it."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.request("GET", "/health")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    assert not response.will_close
    return conn


def answering_worker(server: Serving, conn: http.client.HTTPConnection) -> tuple[int, int]:
    """(pid, fd) of the worker process that accepted this connection."""
    assert conn.sock is not None
    client_port = conn.sock.getsockname()[1]
    [inode] = tcp_sockets(server.port, ESTABLISHED, peer_port=client_port)
    [owner] = [(pid, fds[inode]) for pid in server.workers() if inode in (fds := socket_fds(pid))]
    return owner


def connections_until_every_worker_answered(server: Serving, stack: ExitStack) -> list[tuple[int, int]]:
    """New connections, one at a time, until each worker has answered one; (pid, fd) of each."""
    workers = set(server.workers())
    answered: list[tuple[int, int]] = []
    for _ in range(64):  # the kernel hashes each connection to a listener: 64 all on one worker is 2**-63
        conn = stack.enter_context(closing(ask_health(server)))
        answered.append(answering_worker(server, conn))
        if {pid for pid, _fd in answered} == workers:
            break
    return answered


def socket_of(pid: int, fd: int) -> socket.socket:
    """A duplicate of another process's socket (pidfd_getfd), to read its options as that process has them."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        duplicate = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
    finally:
        os.close(pidfd)
    if duplicate < 0:
        problem = errno.errorcode.get(ctypes.get_errno(), "?")
        pytest.skip(f"!!! pidfd_getfd is refused here ({problem}); TCP_NODELAY of accepted sockets NOT checked !!!")
    return socket.socket(fileno=duplicate)


@pytest.fixture(scope="module", params=["127.0.0.1", "::1"], ids=["ipv4", "ipv6"])
def two_workers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    with serving(tmp_path_factory.mktemp("serve"), host=request.param) as server:
        yield server


def test_serve_with_two_workers_gives_each_worker_a_listener_of_its_own(two_workers: Serving) -> None:
    listeners = two_workers.workers()

    assert len(listeners) == 2
    assert all(len(inodes) == 1 for inodes in listeners.values())
    # Two sockets listening on one port at once: only SO_REUSEPORT allows it.
    assert len(set.union(*listeners.values())) == 2
    assert not socket_inodes(two_workers.process.pid) & tcp_sockets(two_workers.port, LISTEN)


def test_serve_with_two_workers_answers_on_both_workers(two_workers: Serving) -> None:
    with ExitStack() as stack:
        answered = connections_until_every_worker_answered(two_workers, stack)

    assert {pid for pid, _fd in answered} == set(two_workers.workers())


def test_serve_with_two_workers_sets_tcp_nodelay_on_every_accepted_connection(two_workers: Serving) -> None:
    with ExitStack() as stack:
        answered = connections_until_every_worker_answered(two_workers, stack)
        options = []
        for pid, fd in answered:
            with socket_of(pid, fd) as accepted:
                options.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    assert options
    assert all(options)


def test_sigint_stops_the_supervisor_and_every_worker_with_exit_code_0(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        workers = set(server.workers())

        code = server.stop()

    assert code == 0
    assert not any(alive(pid) for pid in workers)
    assert not tcp_sockets(server.port, LISTEN)


def test_a_killed_worker_is_replaced_by_one_with_a_listener_of_its_own(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        before = server.workers()
        victim = min(before)

        os.kill(victim, signal.SIGKILL)

        def replaced() -> dict[int, set[int]] | None:
            now = server.workers()
            return now if len(now) == 2 and victim not in now else None

        # uvicorn's supervisor pings its workers in turn, waiting up to the health-check timeout for each answer:
        # a worker killed between a ping and its answer is seen dead only when that wait runs out.
        after = server.wait_for(replaced, "a replacement worker", within=WORKER_HEALTHCHECK_SECONDS + TIMEOUT)
        assert set(after) - set(before)
        assert len(set.union(*after.values())) == 2
        with closing(ask_health(server)):
            pass


def test_a_second_server_on_a_taken_port_fails_instead_of_sharing_it(tmp_path: Path) -> None:
    """SO_REUSEPORT would let a second server join the first; the supervisor checks the port is free first."""
    with serving(tmp_path) as server:
        second = run_cli(
            tmp_path,
            *("serve", "--migrate", "--host", server.host, "--port", str(server.port), "--workers", "2"),
            SECRET_KEY=SECRET,
            DATABASE_URL=f"sqlite:///{tmp_path / 'other.db'}",
        )

        assert second.returncode != 0
        assert "in use" in second.stderr
        assert len(server.workers()) == 2
