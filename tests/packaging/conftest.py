"""The project as a user gets it: a wheel built from the source tree, installed (not editable) into a fresh
virtual environment, and its `finance-mcp` run from an empty directory. Built and installed once per run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from finance_mcp.settings import Settings
from tests.e2e.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "packaging-secret-" + "k" * 32
BUILD_TIMEOUT = 600  # seconds: building needs setuptools in an isolated environment, installing the dependencies
RUN_TIMEOUT = 120
# Nothing of this checkout or its environment may reach the installed program.
HIDDEN = {name.upper() for name in Settings.model_fields} | {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}


def run(command: list[str], *, cwd: Path, timeout: float = RUN_TIMEOUT, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in HIDDEN} | env
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )


def checked(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{done.args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build` on a copy of the tracked files: the sdist, then the wheel built from that sdist (as
    pip and PyPI would), so nothing left in a local build/ directory can slip into it."""
    source = tmp_path_factory.mktemp("source")
    tracked = checked(run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT))
    for name in filter(None, tracked.stdout.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    checked(run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)], cwd=source, timeout=BUILD_TIMEOUT))
    (built,) = dist.glob("*.whl")
    return built


@dataclass
class Installed:
    venv: Path

    @property
    def cli(self) -> str:
        return str(self.venv / "bin" / "finance-mcp")

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`pip install finance_mcp-….whl` into a new venv (with pip's cache: the dependencies come from the index)."""
    venv = tmp_path_factory.mktemp("venv")
    checked(run([sys.executable, "-m", "venv", str(venv)], cwd=venv))
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)]
    checked(run(install, cwd=venv, timeout=BUILD_TIMEOUT))
    return Installed(venv)


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    """Where the user stands: no checkout, no alembic.ini, no .env."""
    where = tmp_path / "empty"
    where.mkdir()
    return where


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database; SQLite's is the default `DATABASE_URL` (`./finance_mcp.db`), in the empty directory."""
    if request.param == "sqlite":
        return "sqlite:///./finance_mcp.db"
    return str(request.getfixturevalue("fresh_postgres_url"))


@dataclass
class Served:
    process: subprocess.Popen[str]
    base_url: str
    log: list[str]
    drain: threading.Thread | None = None

    def stop(self) -> None:
        """SIGINT, as an operator's Ctrl+C; then the log pipe is read to its end and closed."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=RUN_TIMEOUT)
        if self.drain is not None:
            self.drain.join(timeout=RUN_TIMEOUT)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def serve(installed: Installed, empty_dir: Path) -> Iterator[Callable[..., Served]]:
    """`serve(database_url, *args)`: the installed `finance-mcp serve` in the empty directory, started (bounded
    wait for uvicorn's start-up line) and stopped with SIGINT at the end of the test."""
    started: list[Served] = []

    def start(database_url: str, *args: str) -> Served:
        port = free_port()
        environment = {k: v for k, v in os.environ.items() if k not in HIDDEN}
        environment |= {"SECRET_KEY": SECRET, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [installed.cli, "serve", "--port", str(port), *args],
            cwd=empty_dir,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        served = Served(process, f"http://127.0.0.1:{port}", [])
        started.append(served)
        assert process.stderr is not None
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline and "Application startup complete" not in "".join(served.log[-1:]):
            line = process.stderr.readline()
            if not line:
                raise AssertionError("serve exited before it started:\n" + "".join(served.log))
            served.log.append(line)
        served.drain = threading.Thread(target=lambda: served.log.extend(process.stderr or []), daemon=True)
        served.drain.start()
        return served

    yield start
    for served in started:
        served.stop()


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())
