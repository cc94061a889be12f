"""`finance-mcp import FILE --account ID`, run as a real subprocess on a SQLite file: a preview by default,
the import with --commit (with its progress bar), a refusal for a broken file, and nothing twice."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from finance_mcp.cli.dev import mint_dev_token
from finance_mcp.db.database import open_database
from finance_mcp.db.migrate import upgrade
from finance_mcp.schemas.accounts import AccountCreate
from finance_mcp.server.auth import JwtVerifier, identity_from_token
from finance_mcp.services import accounts
from finance_mcp.services.households import IdentityService
from tests.cli.test_cli import SECRET, run_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


async def _open_account(url: str, token: str) -> int:
    verified = JwtVerifier(SECRET, resource_url="http://127.0.0.1:8000/mcp").verify(token)
    assert verified is not None
    db = open_database(url)
    try:
        me = await IdentityService(db).resolve(identity_from_token(verified))
        data = AccountCreate.model_validate({"name": "Giro", "account_type": "checking", "opening_balance": "10"})
        return (await accounts.create_account(db, me, data)).id
    finally:
        await db.dispose()


async def _balance(url: str, token: str, account_id: int) -> Decimal:
    verified = JwtVerifier(SECRET, resource_url="http://127.0.0.1:8000/mcp").verify(token)
    assert verified is not None
    db = open_database(url)
    try:
        me = await IdentityService(db).resolve(identity_from_token(verified))
        return (await accounts.get_account(db, me, account_id)).balance
    finally:
        await db.dispose()


@pytest.fixture
def scene(tmp_path: Path) -> tuple[str, str, int]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    token, _claims = mint_dev_token(SECRET, sub="dev-cli", tenant="dev-cli-import")
    return url, token, asyncio.run(_open_account(url, token))


def test_import_previews_by_default_and_stores_nothing(tmp_path: Path, scene: tuple[str, str, int]) -> None:
    url, token, account = scene
    file = str(FIXTURES / "sparkasse_de.csv")
    done = run_cli(
        tmp_path,
        "import",
        file,
        "--account",
        str(account),
        SECRET_KEY=SECRET,
        DATABASE_URL=url,
        FINANCE_MCP_TOKEN=token,
    )
    assert done.returncode == 0, done.stderr
    assert "csv: 5 rows read; would add 5 (1954.67)" in done.stdout
    assert "--commit" in done.stdout
    assert asyncio.run(_balance(url, token, account)) == Decimal("10.00")


def test_import_with_commit_adds_the_rows_once_with_a_progress_bar(tmp_path: Path, scene: tuple[str, str, int]) -> None:
    url, token, account = scene
    args = ("import", str(FIXTURES / "bank_ofx1.ofx"), "--account", str(account), "--commit", "--token", token)
    done = run_cli(tmp_path, *args, SECRET_KEY=SECRET, DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert "ofx: 3 rows read; added 3" in done.stdout
    assert "[##############################] 3/3 rows" in done.stderr
    assert asyncio.run(_balance(url, token, account)) == Decimal("1267.83")
    again = run_cli(tmp_path, *args, SECRET_KEY=SECRET, DATABASE_URL=url)
    assert "added 0" in again.stdout
    assert "3 already in the account" in again.stdout
    assert asyncio.run(_balance(url, token, account)) == Decimal("1267.83")


def test_import_of_a_broken_file_names_the_rows_and_exits_non_zero(tmp_path: Path, scene: tuple[str, str, int]) -> None:
    url, token, account = scene
    file = str(FIXTURES / "broken_de.csv")
    preview = run_cli(
        tmp_path, "import", file, "--account", str(account), "--token", token, SECRET_KEY=SECRET, DATABASE_URL=url
    )
    assert preview.returncode == 1
    assert "row 3:" in preview.stdout
    committed = run_cli(
        tmp_path,
        "import",
        file,
        "--account",
        str(account),
        "--commit",
        "--token",
        token,
        SECRET_KEY=SECRET,
        DATABASE_URL=url,
    )
    assert committed.returncode == 1
    assert "Nothing was imported" in committed.stderr
    assert asyncio.run(_balance(url, token, account)) == Decimal("10.00")


def test_import_refuses_a_forged_token(tmp_path: Path, scene: tuple[str, str, int]) -> None:
    url, _token, account = scene
    forged, _claims = mint_dev_token("another-secret-" + "x" * 40, sub="dev-cli", tenant="dev-cli-import")
    done = run_cli(
        tmp_path,
        "import",
        str(FIXTURES / "chase_us.csv"),
        "--account",
        str(account),
        "--token",
        forged,
        SECRET_KEY=SECRET,
        DATABASE_URL=url,
    )
    assert done.returncode == 1
    assert "token was refused" in done.stderr
