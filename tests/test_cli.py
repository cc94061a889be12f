"""The `finance-mcp` command line, run as a real subprocess (`serve` is covered by the e2e suite)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from alembic.script import ScriptDirectory

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
    with sqlite3.connect(path) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def revision(path: Path) -> str:
    with sqlite3.connect(path) as conn:
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


def test_token_prints_a_jwt_in_exactly_mcp_auths_claim_shape(tmp_path: Path, db_file: Path) -> None:
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
    assert set(claims) == {"sub", "tenant_id", "role", "email", "scopes", "iat", "exp"}
    assert claims["sub"] == "7"
    assert claims["tenant_id"] == "3"
    assert claims["role"] == "MEMBER"
    assert claims["email"] == "a@example.com"
    assert claims["scopes"] == []
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 60


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
