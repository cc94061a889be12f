"""import_transactions through the service, on SQLite and PostgreSQL: a dry run stores nothing, a real run
stores every row or none as one change, re-imports and overlapping statements add only new rows, and an
undo puts the account back exactly."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound, PermissionDenied
from finance_mcp.domain.principals import Principal, Role
from finance_mcp.schemas.rules import RuleActions, RuleCondition
from finance_mcp.services import changes, imports, rules
from tests.changelog_dumps import data_dump
from tests.services.helpers import (
    MakePrincipal,
    all_transactions,
    assert_balances_add_up,
    balance_of,
    count_rows,
    household_state,
    open_account,
)

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
MAX = 4 * 1024 * 1024
GOOD = {
    "sparkasse_de.csv": (5, Decimal("1954.67")),
    "ing_nl.csv": (3, Decimal("2063.75")),
    "chase_us.csv": (4, Decimal("1173.14")),
    "credit_agricole_fr.csv": (3, Decimal("1701.73")),
    "santander_es.csv": (3, Decimal("1843.55")),
    "bank_ofx1.ofx": (3, Decimal("1257.83")),
    "card_ofx2.ofx": (2, Decimal("235.80")),
    "quicken.qfx": (2, Decimal("1981.50")),
    "quicken.qif": (5, Decimal("916.00")),
    "statement.camt053.xml": (2, Decimal("2310.10")),
    "statement_v08.camt053.xml": (1, Decimal("-12.40")),
}
BROKEN = {
    "broken_de.csv": [3, 4, 5, 6],
    "broken.ofx": [2, 3],
    "garbage.ofx": [0],
    "broken.qif": [6, 10],
    "broken.camt053.xml": [2, 3],
    "xxe.camt053.xml": [0],
    "custom_headers.csv": [0],
}


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


async def run(db: Database, me: Principal, account_id: int, content: str, **options: object) -> imports.ImportResult:
    return await imports.import_transactions(db, me, account_id, content, max_bytes=MAX, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(GOOD))
async def test_a_dry_run_previews_and_stores_nothing(db: Database, make_principal: MakePrincipal, name: str) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    before = await household_state(db, me)
    preview = await run(db, me, account.id, fixture(name))
    count, total = GOOD[name]
    assert (preview.dry_run, preview.to_add, preview.duplicates, preview.problems) == (True, count, 0, [])
    assert preview.total_amount == total
    assert preview.account_balance == Decimal("100.00")
    assert len(preview.sample) == count
    assert not any(row.duplicate for row in preview.sample)
    assert await household_state(db, me) == before


@pytest.mark.parametrize("name", sorted(GOOD))
async def test_a_real_import_adds_every_row_and_moves_the_balance_by_their_sum(
    db: Database, make_principal: MakePrincipal, name: str
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    done = await run(db, me, account.id, fixture(name), dry_run=False)
    count, total = GOOD[name]
    assert (done.dry_run, done.to_add, done.duplicates) == (False, count, 0)
    assert done.account_balance == Decimal("100.00") + total == await balance_of(db, me, account.id)
    assert len(await all_transactions(db, me, account_id=account.id)) == count
    await assert_balances_add_up(db, me)
    page = await changes.list_changes(db, me)
    assert [c.tool for c in page.changes] == ["import_transactions", "create_account"]
    assert page.changes[0].id == done.change_id
    assert page.changes[0].row_count == count + 1


@pytest.mark.parametrize("name", sorted(GOOD))
async def test_re_importing_a_file_adds_nothing(db: Database, make_principal: MakePrincipal, name: str) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await run(db, me, account.id, fixture(name), dry_run=False)
    before = await household_state(db, me)
    preview = await run(db, me, account.id, fixture(name))
    assert (preview.to_add, preview.duplicates) == (0, GOOD[name][0])
    assert all(row.duplicate for row in preview.sample)
    again = await run(db, me, account.id, fixture(name), dry_run=False)
    assert (again.to_add, again.duplicates, again.change_id) == (0, GOOD[name][0], None)
    assert await household_state(db, me) == before


async def test_an_overlapping_ofx_statement_adds_only_the_new_rows(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await run(db, me, account.id, fixture("bank_ofx1.ofx"), dry_run=False)
    later = await run(db, me, account.id, fixture("bank_ofx1_overlap.ofx"), dry_run=False)
    assert (later.to_add, later.duplicates, later.total_amount) == (1, 2, Decimal("-9.99"))
    assert await balance_of(db, me, account.id) == Decimal("1247.84")  # the bank's own LEDGERBAL
    assert len(await all_transactions(db, me, account_id=account.id)) == 4


async def test_an_overlapping_csv_keeps_both_identical_rows_once(db: Database, make_principal: MakePrincipal) -> None:
    """The two identical bakery rows of one day are two rows; a later export with the same day and one more
    row adds only that row."""
    me = await make_principal()
    account = await open_account(db, me)
    first = fixture("sparkasse_de.csv")
    await run(db, me, account.id, first, dry_run=False)
    extra = '"DE12500502010012345678";"08.11.26";"08.11.26";"KARTENZAHLUNG";"Kiosk";"Kiosk";"";"";"-2,00";"EUR";""'
    overlapping = "\r\n".join([*first.splitlines()[3:4], *first.splitlines()[6:], extra]) + "\r\n"
    later = await run(db, me, account.id, overlapping, dry_run=False)
    assert (later.rows_read, later.to_add, later.duplicates) == (4, 1, 3)
    assert len(await all_transactions(db, me, account_id=account.id)) == 6


async def test_the_same_file_in_another_account_is_new_there(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    one, two = await open_account(db, me), await open_account(db, me, name="Other")
    await run(db, me, one.id, fixture("bank_ofx1.ofx"), dry_run=False)
    assert (await run(db, me, two.id, fixture("bank_ofx1.ofx"), dry_run=False)).to_add == 3


@pytest.mark.parametrize("name", sorted(BROKEN))
async def test_a_broken_file_is_answered_row_by_row_and_stores_nothing(
    db: Database, make_principal: MakePrincipal, name: str
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "10")
    before = await household_state(db, me)
    preview = await run(db, me, account.id, fixture(name))
    assert [p.row for p in preview.problems] == BROKEN[name]
    assert all(p.reason for p in preview.problems)
    with pytest.raises(Invalid) as refused:
        await run(db, me, account.id, fixture(name), dry_run=False)
    message = str(refused.value)
    assert "Nothing was imported" in message
    assert all(f"row {row}:" in message for row in BROKEN[name])
    assert await household_state(db, me) == before


async def test_undoing_an_import_removes_it_whole_and_restores_the_balance(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "250.10")
    before = await data_dump(database_url)
    done = await run(db, me, account.id, fixture("sparkasse_de.csv"), dry_run=False)
    assert done.change_id is not None
    undone = await changes.undo_change(db, me, done.change_id)
    assert undone.rows_restored == 5
    assert undone.account_balances == {str(account.id): Decimal("250.10")}
    assert await all_transactions(db, me, account_id=account.id) == []
    assert await data_dump(database_url) == before
    # Undone, the rows are no longer in the account: importing the file again adds them all.
    assert (await run(db, me, account.id, fixture("sparkasse_de.csv"), dry_run=False)).to_add == 5


async def test_a_large_import_is_one_change_logged_in_chunks(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    """More rows than one chunk: every row is stored and logged under one change, and undone whole."""
    me = await make_principal()
    account = await open_account(db, me)
    lines = ["Date;Amount;Description"] + [
        f"2026-01-{1 + i % 28:02d};-{i % 97},{i % 100:02d};Row {i}" for i in range(2500)
    ]
    expected = sum((-Decimal(f"{i % 97}.{i % 100:02d}") for i in range(2500)), Decimal("0.00"))
    progress: list[tuple[int, int]] = []

    async def report(done: int, total: int, message: str) -> None:
        progress.append((done, total))

    before = await data_dump(database_url)
    done = await run(db, me, account.id, "\n".join(lines), dry_run=False, progress=report)
    assert (done.to_add, done.total_amount) == (2500, expected)
    assert progress == [(1000, 2500), (2000, 2500), (2500, 2500)]
    assert await balance_of(db, me, account.id) == expected
    logged = await count_rows(db, "SELECT count(*) FROM change_rows WHERE change_id = :c", c=done.change_id)
    assert logged == 2501
    seqs = await count_rows(db, "SELECT max(seq) FROM change_rows WHERE change_id = :c", c=done.change_id)
    assert seqs == 2500
    assert done.change_id is not None
    await changes.undo_change(db, me, done.change_id)
    assert await data_dump(database_url) == before


async def test_a_deleted_imported_row_put_back_by_undo_is_still_known(
    db: Database, make_principal: MakePrincipal
) -> None:
    from finance_mcp.services import transactions

    me = await make_principal()
    account = await open_account(db, me)
    await run(db, me, account.id, fixture("bank_ofx1.ofx"), dry_run=False)
    victim = (await all_transactions(db, me, account_id=account.id))[0]
    await transactions.delete_transaction(db, me, victim.id)
    assert (await run(db, me, account.id, fixture("bank_ofx1.ofx"))).to_add == 1
    deletion = (await changes.list_changes(db, me)).changes[0]
    await changes.undo_change(db, me, deletion.id)
    assert (await run(db, me, account.id, fixture("bank_ofx1.ofx"))).to_add == 0


async def test_a_file_over_the_size_bound_is_refused_saying_the_bound(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    with pytest.raises(Invalid) as refused:
        await imports.import_transactions(db, me, account.id, fixture("chase_us.csv"), max_bytes=100)
    assert "at most 100 bytes" in str(refused.value)
    assert "MAX_REQUEST_BODY_BYTES" in str(refused.value)


async def test_a_viewer_cannot_import(db: Database, make_principal: MakePrincipal) -> None:
    owner = await make_principal(Role.OWNER)
    account = await open_account(db, owner)
    viewer = await make_principal(Role.VIEWER, tenant=owner.household_name.removeprefix("Household "))
    with pytest.raises(PermissionDenied):
        await run(db, viewer, account.id, fixture("chase_us.csv"))


async def test_another_households_account_is_not_found(db: Database, make_principal: MakePrincipal) -> None:
    owner, stranger = await make_principal(), await make_principal()
    account = await open_account(db, owner)
    for dry_run in (True, False):
        with pytest.raises(NotFound):
            await run(db, stranger, account.id, fixture("chase_us.csv"), dry_run=dry_run)
    assert await all_transactions(db, owner) == []


async def test_imported_rows_keep_the_files_category_or_are_uncategorized(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await run(db, me, account.id, fixture("chase_us.csv"), dry_run=False)
    categories = sorted(t.category for t in await all_transactions(db, me, account_id=account.id))
    assert categories == ["Food & Drink", "Groceries", "Shopping", "Uncategorized"]


async def test_two_imports_of_one_file_at_once_add_its_rows_once(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    content = fixture("card_ofx2.ofx")
    first, second = await asyncio.gather(
        run(db, me, account.id, content, dry_run=False), run(db, me, account.id, content, dry_run=False)
    )
    assert sorted((first.to_add, second.to_add)) == [0, 2]
    assert len(await all_transactions(db, me, account_id=account.id)) == 2
    await assert_balances_add_up(db, me)


async def test_the_database_refuses_a_second_row_with_one_fingerprint_in_an_account(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await run(db, me, account.id, fixture("quicken.qfx"), dry_run=False)
    copy = (
        "INSERT INTO transactions (household_id, account_id, amount, date, category, tags, created_at, updated_at, "
        "import_fingerprint) SELECT household_id, account_id, amount, date, category, tags, created_at, updated_at, "
        "import_fingerprint FROM transactions WHERE account_id = :a"
    )
    with pytest.raises(IntegrityError):
        async with db.connect(write=True) as conn:
            await conn.execute(text(copy), {"a": account.id})


async def test_an_import_runs_the_rules_as_every_create_does(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "0")
    await rules.create_rule(
        db,
        me,
        name="Everything imported is tagged",
        conditions=[RuleCondition.model_validate({"field": "amount", "op": "lt", "value": "1000000"})],
        actions=RuleActions.model_validate({"der_category": "Imported", "add_tags": ["statement"]}),
    )

    done = await run(db, me, account.id, fixture("chase_us.csv"), dry_run=False)

    stored = await all_transactions(db, me, account_id=account.id)
    assert len(stored) == done.to_add == GOOD["chase_us.csv"][0]
    assert {(t.der_category, tuple(t.tags)) for t in stored} == {("Imported", ("statement",))}
    await assert_balances_add_up(db, me)
