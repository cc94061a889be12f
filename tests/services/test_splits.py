"""Splits through the service layer, on SQLite and PostgreSQL: parts that add up exactly, counted by every
analytics answer instead of their transaction, found by category filters, and undone exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Conflict, Invalid, NotFound
from finance_mcp.domain.principals import Principal
from finance_mcp.schemas.splits import SplitPart
from finance_mcp.schemas.transactions import TransactionUpdate
from finance_mcp.schemas.transfers import TransferCreate
from finance_mcp.services import accounts, analytics, changes, reports, splits, transactions, transfers
from tests.changelog_dumps import data_dump
from tests.services.helpers import (
    DAY,
    MakePrincipal,
    all_transactions,
    assert_balances_add_up,
    balance_of,
    count_rows,
    household_state,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio

JANUARY = (dt.date(2026, 1, 1), dt.date(2026, 1, 31))


def _parts(*specs: tuple[str, str] | tuple[str, str, list[str]]) -> list[SplitPart]:
    return [
        SplitPart.model_validate(
            {"amount": spec[0], "category": spec[1], **({"tags": spec[2]} if len(spec) > 2 else {})}
        )
        for spec in specs
    ]


async def _split(db: Database, me: Principal, transaction_id: int, *specs: Any) -> Any:
    return await splits.split_transaction(db, me, transaction_id, _parts(*specs))


async def _receipt(db: Database, me: Principal) -> tuple[int, int]:
    """An account with a -100.00 supermarket receipt (tagged weekly) and a -20.00 coffee."""
    account = await open_account(db, me, "1000")
    receipt = await record(db, me, account.id, "-100", category="Shopping", merchant="MegaMart", tags=["weekly"])
    await record(db, me, account.id, "-20", category="Dining", merchant="Cafe")
    return account.id, receipt.id


async def test_a_split_shows_its_parts_and_leaves_the_balance_alone(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account, receipt = await _receipt(db, me)

    done = await _split(db, me, receipt, ("-60", "Groceries"), ("-40", "Household", ["home"]))

    parts = [(p.amount, p.category, p.tags) for p in done.transaction.splits]
    assert parts == [(Decimal("-60.00"), "Groceries", ["weekly"]), (Decimal("-40.00"), "Household", ["home"])]
    fetched = await transactions.get_transaction(db, me, receipt)
    assert [(p.amount, p.category) for p in fetched.splits] == [
        (Decimal("-60.00"), "Groceries"),
        (Decimal("-40.00"), "Household"),
    ]
    assert fetched.amount == Decimal("-100.00")
    listed = {t.id: t for t in await all_transactions(db, me)}
    assert len(listed[receipt].splits) == 2
    assert [t.splits for t in listed.values() if t.id != receipt] == [[]]
    assert await balance_of(db, me, account) == Decimal("880.00")
    await assert_balances_add_up(db, me)


@pytest.mark.parametrize(("second", "total"), [("-39.99", "-99.99"), ("-40.01", "-100.01")])
async def test_parts_off_by_one_cent_are_refused_with_the_difference(
    db: Database, make_principal: MakePrincipal, second: str, total: str
) -> None:
    me = await make_principal()
    _, receipt = await _receipt(db, me)
    before = await household_state(db, me)

    with pytest.raises(Invalid, match=f"add up to {total}, but transaction {receipt}'s amount is -100.00") as refused:
        await _split(db, me, receipt, ("-60", "Groceries"), (second, "Household"))

    assert "off by 0.01" in str(refused.value)
    assert await household_state(db, me) == before
    assert (
        await count_rows(db, "SELECT count(*) FROM transaction_splits WHERE household_id = :h", h=me.household_id) == 0
    )


async def test_other_refusals_say_why_and_change_nothing(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    stranger = await make_principal(tenant="someone-else")
    account, receipt = await _receipt(db, me)
    savings = await open_account(db, me, "0", name="Savings", account_type="savings")
    leg = await transfers.create_transfer(
        db, me, TransferCreate(from_account_id=account, to_account_id=savings.id, amount=Decimal(5), date=DAY)
    )
    await _split(db, me, receipt, ("-60", "Groceries"), ("-40", "Household"))
    plain = (await record(db, me, account, "-1")).id
    before = await household_state(db, me)

    with pytest.raises(Invalid, match="2 to 50 parts, got 1"):
        await _split(db, me, receipt, ("-100", "Groceries"))
    with pytest.raises(Invalid, match="a transfer cannot be split"):
        await _split(db, me, leg.from_transaction.id, ("-2", "A"), ("-3", "B"))
    with pytest.raises(NotFound, match=f"Transaction {receipt} was not found"):
        await _split(db, stranger, receipt, ("-60", "Groceries"), ("-40", "Household"))
    with pytest.raises(Invalid, match="split it again with parts for the new amount"):
        await transactions.update_transaction(db, me, receipt, TransactionUpdate(amount=Decimal("-90")))
    with pytest.raises(Invalid, match="is not split"):
        await splits.split_transaction(db, me, plain, [])

    assert await household_state(db, me) == before
    # A new date (or any field but the amount) is fine; the parts follow their transaction.
    moved = await transactions.update_transaction(db, me, receipt, TransactionUpdate(date=dt.date(2026, 2, 2)))
    assert len(moved.transaction.splits) == 2


async def test_parts_equal_to_nothing_remove_the_split(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    _, receipt = await _receipt(db, me)
    await _split(db, me, receipt, ("-60", "Groceries"), ("-40", "Household"))

    removed = await splits.split_transaction(db, me, receipt, [])

    assert removed.transaction.splits == []
    assert (await transactions.get_transaction(db, me, receipt)).splits == []
    assert (
        await count_rows(db, "SELECT count(*) FROM transaction_split_tags WHERE household_id = :h", h=me.household_id)
        == 0
    )


async def test_every_analytics_answer_counts_the_parts_instead_of_the_transaction(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    _, receipt = await _receipt(db, me)
    await _split(db, me, receipt, ("-60", "Groceries"), ("-40", "Household", ["home"]))
    start, end = JANUARY

    by_category = await analytics.spending_summary(db, me, start=start, end=end, group_by="category")
    by_tag = await analytics.spending_summary(db, me, start=start, end=end, group_by="tag")
    merchants = await analytics.top_merchants(db, me, start=start, end=end)
    trends = await analytics.category_trends(db, me, months=1, end_month="2026-01")
    report = await reports.monthly_report(db, me, "2026-01")
    flow = await analytics.cash_flow(db, me, start=start, end=end, interval="month")

    assert [(g.name, g.spending, g.count) for g in by_category.groups] == [
        ("Groceries", Decimal(60), 1),
        ("Household", Decimal(40), 1),
        ("Dining", Decimal(20), 1),
    ]
    assert (by_category.totals.spending, by_category.totals.count) == (Decimal(120), 3)
    assert [(g.name, g.spending) for g in by_tag.groups] == [
        ("weekly", Decimal(60)),
        ("home", Decimal(40)),
        (None, Decimal(20)),
    ]
    assert [(m.merchant, m.spending, m.count) for m in merchants.merchants] == [
        ("MegaMart", Decimal(100), 2),
        ("Cafe", Decimal(20), 1),
    ]
    assert {c.category: c.total_spending for c in trends.categories} == {
        "Groceries": Decimal(60),
        "Household": Decimal(40),
        "Dining": Decimal(20),
    }
    assert [(g.name, g.spending) for g in report.top_categories] == [
        ("Groceries", Decimal(60)),
        ("Household", Decimal(40)),
        ("Dining", Decimal(20)),
    ]
    assert report.totals.spending == flow.totals.spending == Decimal(120)


async def test_a_category_filter_finds_a_transaction_by_one_of_its_parts(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    _, receipt = await _receipt(db, me)
    await _split(db, me, receipt, ("-60", "Groceries"), ("-40", "Household"))

    assert [t.id for t in await all_transactions(db, me, category="household")] == [receipt]
    assert [t.id for t in await all_transactions(db, me, category="Shopping")] == [receipt]
    assert [t.category for t in await all_transactions(db, me, category="dining")] == ["Dining"]
    page = await transactions.list_transactions(db, me, transactions.TransactionFilter(category="Groceries"), limit=0)
    assert page.total == 1


@pytest.mark.parametrize("step", ["split", "split_again", "remove", "delete_transaction", "delete_account"])
async def test_undoing_a_split_write_restores_every_part_and_tag_byte_for_byte(
    db: Database, database_url: str, make_principal: MakePrincipal, step: str
) -> None:
    me = await make_principal()
    account, receipt = await _receipt(db, me)
    if step != "split":
        await _split(db, me, receipt, ("-60", "Groceries", ["Food", "x"]), ("-40", "Household"))
    before = await data_dump(database_url)

    if step == "split":
        await _split(db, me, receipt, ("-60", "Groceries", ["Food"]), ("-40", "Household"))
    elif step == "split_again":
        await _split(db, me, receipt, ("-10", "A"), ("-20", "B", ["b"]), ("-70", "C"))
    elif step == "remove":
        await splits.split_transaction(db, me, receipt, [])
    elif step == "delete_transaction":
        await transactions.delete_transaction(db, me, receipt)
    else:
        await accounts.delete_account(db, me, account)
    change = (await changes.list_changes(db, me, limit=1)).changes[0]
    assert await data_dump(database_url) != before
    await changes.undo_change(db, me, change.id)

    assert await data_dump(database_url) == before
    if step != "delete_account":
        await assert_balances_add_up(db, me)


async def test_a_split_blocks_the_undo_of_its_transactions_creation_until_it_is_undone(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account, _ = await _receipt(db, me)
    created = await record(db, me, account, "-10")
    creation = (await changes.list_changes(db, me, limit=1)).changes[0]
    await _split(db, me, created.id, ("-4", "A"), ("-6", "B"))
    split = (await changes.list_changes(db, me, limit=1)).changes[0]

    with pytest.raises(Conflict, match=f"change {split.id}"):
        await changes.undo_change(db, me, creation.id)

    await changes.undo_change(db, me, split.id)
    await changes.undo_change(db, me, creation.id)
    with pytest.raises(NotFound):
        await transactions.get_transaction(db, me, created.id)
    await assert_balances_add_up(db, me)
