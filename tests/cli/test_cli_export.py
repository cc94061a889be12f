"""`finance-mcp export`, run as a real subprocess on each database: the person is the token's, the filters
are list_transactions', and a file appears only when the export is complete."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from finance_mcp.cli.dev import mint_token
from finance_mcp.db.database import open_database
from finance_mcp.schemas.accounts import AccountCreate
from finance_mcp.schemas.transactions import TransactionFields
from finance_mcp.server.auth import JwtVerifier, identity_from_token
from finance_mcp.services import accounts, transactions
from finance_mcp.services.households import IdentityService
from tests.cli.test_cli import SECRET, run_cli


async def _household(url: str) -> int:
    """Household 77, set up by its owner: an account and two transactions; returns the account id."""
    owner = mint_token(SECRET, sub="1", tenant="77", role="OWNER")
    verified = JwtVerifier(SECRET, resource_url="http://127.0.0.1:8000/mcp").verify(owner)
    assert verified is not None
    db = open_database(url)
    try:
        me = await IdentityService(db).resolve(identity_from_token(verified))
        account = await accounts.create_account(
            db, me, AccountCreate.model_validate({"name": "Main", "account_type": "checking"})
        )
        for amount, category, merchant in (("-4.20", "Coffee", 'Bean, "the"'), ("-60", "Groceries", None)):
            fields = {"amount": amount, "date": "2026-05-01", "category": category, "merchant": merchant}
            await transactions.record_transaction(db, me, account.id, TransactionFields.model_validate(fields))
        return account.id
    finally:
        await db.dispose()


@pytest.fixture
def token() -> str:
    """A viewer of household 77: reading is all an export needs."""
    return mint_token(SECRET, sub="4242", tenant="77", role="VIEWER")


def test_export_writes_the_file_the_filters_select(tmp_path: Path, own_database_url: str, token: str) -> None:
    account_id = asyncio.run(_household(own_database_url))
    output = tmp_path / "out.csv"

    done = run_cli(
        tmp_path,
        "export",
        "--token",
        token,
        "--account",
        str(account_id),
        "--output",
        str(output),
        DATABASE_URL=own_database_url,
        SECRET_KEY=SECRET,
    )

    assert done.returncode == 0, done.stderr
    assert f"exported 2 transactions as csv to {output}" in done.stderr
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"), newline="")))
    assert [(r["amount"], r["merchant"], r["category"]) for r in rows] == [
        ("-60.00", "", "Groceries"),
        ("-4.20", 'Bean, "the"', "Coffee"),
    ]
    assert not list(tmp_path.glob(".*.partial"))


def test_export_to_standard_output_in_json_with_a_filter(tmp_path: Path, own_database_url: str, token: str) -> None:
    asyncio.run(_household(own_database_url))

    done = run_cli(
        tmp_path,
        "export",
        "--format",
        "json",
        "--category",
        "coffee",
        DATABASE_URL=own_database_url,
        SECRET_KEY=SECRET,
        FINANCE_MCP_TOKEN=token,
    )

    assert done.returncode == 0, done.stderr
    assert [t["amount"] for t in json.loads(done.stdout)["transactions"]] == ["-4.20"]


def test_export_refuses_a_token_that_does_not_verify_and_writes_nothing(
    tmp_path: Path, own_database_url: str, token: str
) -> None:
    output = tmp_path / "out.csv"
    forged = mint_token("another-secret-" + "x" * 40, sub="4242", tenant="77")

    done = run_cli(
        tmp_path, "export", "--token", forged, "--output", str(output), DATABASE_URL=own_database_url, SECRET_KEY=SECRET
    )

    assert done.returncode == 1
    assert "does not verify" in done.stderr
    assert not output.exists()


def test_export_of_a_missing_account_says_so_and_leaves_no_file(
    tmp_path: Path, own_database_url: str, token: str
) -> None:
    output = tmp_path / "out.ofx"

    done = run_cli(
        tmp_path,
        "export",
        "--token",
        token,
        "--account",
        "987654321",
        "--format",
        "ofx",
        "--output",
        str(output),
        DATABASE_URL=own_database_url,
        SECRET_KEY=SECRET,
    )

    assert done.returncode == 1
    assert "Account 987654321 was not found" in done.stderr
    assert "Traceback" not in done.stderr
    assert not output.exists()
    assert not list(tmp_path.glob(".*.partial"))
