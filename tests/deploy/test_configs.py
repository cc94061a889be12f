"""The deploy/ files that cannot run here are at least checked: every variable they set is a real setting,
the container is slim, non-root and health-checked, and (where the tools are installed) systemd and
Supervisor accept the units as written."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from finance_mcp.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = {name.upper() for name in Settings.model_fields}
INSTALLED = "/opt/finance-mcp/venv/bin/finance-mcp"


def env_file_variables() -> dict[str, str]:
    lines = (DEPLOY / "systemd" / "finance-mcp.env").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return dict(pairs)


def test_the_environment_file_sets_only_real_settings_and_the_ones_production_needs():
    variables = env_file_variables()
    assert set(variables) <= SETTINGS, set(variables) - SETTINGS
    assert variables["STATELESS_HTTP"] == "true"  # the nginx upstream is round-robin
    assert variables["DATABASE_URL"].startswith("postgresql://")
    assert variables["PUBLIC_URL"].startswith("https://")
    assert variables["SECRET_KEY"] == ""  # never a shipped secret


def test_the_compose_file_sets_only_real_settings_for_finance_mcp():
    text = (DEPLOY / "compose.yaml").read_text()
    block = text.split("x-finance-env: &finance-env\n", 1)[1].split("\n\n", 1)[0]
    names = set(re.findall(r"^  ([A-Z_]+):", block, re.MULTILINE))
    assert {"DATABASE_URL", "SECRET_KEY", "STATELESS_HTTP"} <= names <= SETTINGS


def test_the_image_is_slim_runs_as_a_user_and_checks_health():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert bases
    assert all(base.startswith("python:") and base.endswith("-slim") for base in bases)
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    users = re.findall(r"^USER (\S+)", final_stage, re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", final_stage, re.MULTILINE)
    assert "pip install" in final_stage
    assert ".whl" in final_stage


def test_the_service_units_are_hardened_and_restart_on_failure():
    unit = (DEPLOY / "systemd" / "finance-mcp@.service").read_text()
    for line in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "Restart=on-failure"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.MULTILINE), line
    assert "Requires=finance-mcp-migrate.service" in unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_accepts_the_units(tmp_path: Path):
    for unit in ("finance-mcp@.service", "finance-mcp-migrate.service"):
        text = (DEPLOY / "systemd" / unit).read_text()
        # verify insists that ExecStart exists: point it at the finance-mcp of this test run.
        binary = str(Path(sys.executable).parent / "finance-mcp")
        (tmp_path / unit.replace("@.", "@8001.")).write_text(text.replace(INSTALLED, binary))
    units = sorted(str(path) for path in tmp_path.iterdir())
    checked = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


SUPERVISOR_MAIN = """[supervisord]
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid
[include]
files = {dir}/program.conf
"""
PARSE = """import sys
from supervisor.options import ServerOptions
options = ServerOptions()
options.realize(["-c", sys.argv[1]])
for group in options.process_group_configs:
    for process in group.process_configs:
        print(group.name, process.name, process.command)
"""


@pytest.mark.skipif(not Path("/usr/bin/supervisord").exists(), reason="Debian's supervisor is not installed here")
def test_supervisor_reads_two_processes_on_ports_8001_and_8002(tmp_path: Path):
    program = (DEPLOY / "supervisor" / "finance-mcp.conf").read_text()
    # Supervisor resolves user= and the log directory at parse time: use ones that exist here.
    program = program.replace("user=finance-mcp", "user=nobody").replace("/var/log/finance-mcp", str(tmp_path))
    (tmp_path / "program.conf").write_text(program)
    (tmp_path / "main.conf").write_text(SUPERVISOR_MAIN.format(dir=tmp_path))
    parsed = subprocess.run(
        ["/usr/bin/python3", "-c", PARSE, str(tmp_path / "main.conf")], capture_output=True, text=True
    )
    assert parsed.returncode == 0, parsed.stderr
    assert parsed.stdout.splitlines() == [
        f"finance finance-mcp-{port} {INSTALLED} serve --port {port}" for port in (8001, 8002)
    ]
