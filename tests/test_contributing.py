"""CONTRIBUTING.md cannot drift: each of its commands is one the suite or CI runs, and they do what it says."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from bench.ab import arguments

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "CONTRIBUTING.md").read_text()
COMMANDS = [
    line.strip()
    for body in re.findall(r"```bash\n(.*?)```", GUIDE, re.S)
    for line in body.strip().splitlines()
    if line.strip()
]
PYTEST = ".venv/bin/pytest "


def _collected(args: list[str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_every_command_in_the_guide_is_one_the_suite_or_ci_runs() -> None:
    make = {"make install", "make check", "make test"}  # CI runs `make test`, which installs and checks first
    others = [c for c in COMMANDS if c not in make]
    assert make <= set(COMMANDS)
    assert others
    assert [c for c in others if not c.startswith((PYTEST, ".venv/bin/python -m bench.ab "))] == []


def test_the_backend_selection_picks_one_backend_and_not_the_other() -> None:
    for backend, other in (("sqlite", "postgres"), ("postgres", "sqlite")):
        (command,) = [c for c in COMMANDS if c.startswith(PYTEST) and c.endswith(f"-k {backend}")]
        selected = _collected(shlex.split(command)[1:])
        assert selected
        assert all(f"[{backend}" in test or f"-{backend}" in test for test in selected)
        assert not any(f"[{other}" in test for test in selected)


def test_the_single_test_command_names_exactly_one_test() -> None:
    (command,) = [c for c in COMMANDS if c.startswith(PYTEST) and "::" in c]
    assert _collected(shlex.split(command)[1:]) == [shlex.split(command)[1]]


def test_the_ab_command_is_one_bench_ab_accepts() -> None:
    (command,) = [c for c in COMMANDS if "bench.ab" in c]
    parsed = arguments().parse_args(shlex.split(command)[3:])
    assert (parsed.db, parsed.whatif, parsed.rounds) == ("sqlite", "json_response", 1)


def test_the_pre_commit_hook_runs_make_check_on_every_commit() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (hook,) = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert hook["entry"] == "make check"
    assert hook["always_run"] is True
    assert hook["pass_filenames"] is False
