"""A new user's first minutes: `pip install` the wheel into a clean venv, then, from an empty directory,
`finance-mcp --version`, `migrate`, `serve` and a tool call over HTTP, on SQLite and PostgreSQL.

Before the migrations were packaged, `finance-mcp migrate` from such an install failed with Alembic's
"Path doesn't exist: …/site-packages/migrations", and `serve` on the unmigrated database started anyway.
"""

from __future__ import annotations

import email
import tomllib
from importlib.metadata import version
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from setuptools import find_namespace_packages

from finance_mcp.db.migrate import head_revision
from tests.packaging.conftest import ROOT, SECRET, Installed, checked, run, wheel_names

pytestmark = pytest.mark.e2e


def test_every_package_of_the_source_tree_is_listed_for_the_wheel() -> None:
    """The package list in pyproject.toml is explicit (a mapped directory cannot be found by `find`): a new
    subpackage under finance_mcp/ must be added there, or the wheel would ship without it."""
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = find_namespace_packages(str(ROOT), include=["finance_mcp", "finance_mcp.*"], exclude=["*__pycache__"])
    assert sorted(listed) == sorted([*found, "finance_mcp.migrations", "finance_mcp.migrations.versions"])


def test_the_wheel_carries_the_code_the_migrations_the_license_and_py_typed(wheel: Path) -> None:
    names = wheel_names(wheel)
    code = {str(p.relative_to(ROOT)) for p in (ROOT / "finance_mcp").rglob("*.py")}
    migrations = {f"finance_mcp/{p.relative_to(ROOT)}" for p in (ROOT / "migrations").rglob("*") if p.is_file()}
    migrations = {name for name in migrations if "__pycache__" not in name}
    assert code <= names
    assert "finance_mcp/migrations/script.py.mako" in migrations
    assert migrations <= names
    assert "finance_mcp/py.typed" in names
    dist_info = f"finance_mcp-{version('finance-mcp')}.dist-info"
    assert f"{dist_info}/licenses/LICENSE" in names
    assert not any(name.startswith(("tests/", "bench/", "migrations/")) for name in names)


def test_the_wheel_declares_its_license_and_python_versions(wheel: Path) -> None:
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(meta_name))
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] == ">=3.11"
    classifiers = metadata.get_all("Classifier") or []
    for minor in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {minor}" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # the expression replaces them


def test_the_installed_command_says_its_version(installed: Installed, empty_dir: Path) -> None:
    done = checked(run([installed.cli, "--version"], cwd=empty_dir))

    assert done.stdout.strip() == f"finance-mcp {version('finance-mcp')}"


def test_the_installed_package_is_the_wheel_not_this_checkout(installed: Installed, empty_dir: Path) -> None:
    probe = "import finance_mcp.migrations as m, finance_mcp as f; print(f.__file__); print(m.__file__)"
    done = checked(run([installed.python, "-c", probe], cwd=empty_dir))

    package, migrations = done.stdout.split()
    assert package.startswith(str(installed.venv)), package
    assert migrations.startswith(str(installed.venv)), migrations


def test_serve_refuses_a_database_that_was_never_migrated(
    installed: Installed, empty_dir: Path, fresh_database_url: str
) -> None:
    done = run([installed.cli, "serve"], cwd=empty_dir, SECRET_KEY=SECRET, DATABASE_URL=fresh_database_url)

    assert done.returncode == 1
    expected = f"finance-mcp: schema not migrated (at no revision, need {head_revision()}): run finance-mcp migrate"
    assert done.stderr.strip().splitlines()[-1] == expected
    assert "Application startup" not in done.stderr


@pytest.mark.anyio
async def test_migrate_then_serve_from_an_empty_directory_answers_a_tool_call(
    installed: Installed, empty_dir: Path, fresh_database_url: str, serve
) -> None:
    migrated = checked(
        run([installed.cli, "migrate"], cwd=empty_dir, SECRET_KEY=SECRET, DATABASE_URL=fresh_database_url)
    )
    assert "latest schema" in migrated.stdout
    mint = [installed.cli, "token", "--tenant", "wheel-household"]
    token = checked(run(mint, cwd=empty_dir, SECRET_KEY=SECRET, DATABASE_URL=fresh_database_url)).stdout
    served = serve(fresh_database_url)

    health = httpx2.get(f"{served.base_url}/health")
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token.strip()}"}, timeout=60)
    async with http, Client(streamable_http_client(f"{served.base_url}/mcp", http_client=http)) as client:
        created = await client.call_tool("create_account", {"name": "Wheel", "account_type": "checking"})
        listed = await client.call_tool("list_accounts", {})

    assert health.status_code == 200
    assert health.json() == {"status": "healthy", "version": version("finance-mcp"), "database": "ok"}
    assert not created.is_error
    assert listed.structured_content is not None
    assert [a["name"] for a in listed.structured_content["accounts"]] == ["Wheel"]
    if fresh_database_url.startswith("sqlite"):
        assert (empty_dir / "finance_mcp.db").is_file()  # the default URL: a file where the user stands


@pytest.mark.anyio
async def test_serve_migrate_migrates_an_empty_database_then_serves(
    installed: Installed, empty_dir: Path, fresh_database_url: str, serve
) -> None:
    served = serve(fresh_database_url, "--migrate")

    health = httpx2.get(f"{served.base_url}/health")

    assert health.status_code == 200
    assert health.json()["database"] == "ok"
