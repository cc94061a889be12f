"""Budgets through the service layer, on SQLite and PostgreSQL: spending counted exactly as spending_summary
counts it, month edges, rollover from month to month, the projection and its status, and undo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound, PermissionDenied
from finance_mcp.domain.principals import Role
from finance_mcp.services import analytics, budgets, changes
from tests.changelog_dumps import data_dump
from tests.services.helpers import MakePrincipal, open_account, record

pytestmark = pytest.mark.anyio

D = Decimal


def _one(report: budgets.BudgetReport, category: str) -> budgets.BudgetStatus:
    (found,) = [b for b in report.budgets if b.category.lower() == category.lower()]
    return found


async def test_spent_is_what_spending_summary_reports_for_the_category_in_any_case(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    for amount, category, day in [
        ("-40.10", "Dining", "2026-03-01"),
        ("-9.90", "DINING", "2026-03-31"),  # the month's last day counts
        ("25", "dining", "2026-03-10"),  # a refund is income, not less spending: as spending_summary
        ("-100", "transfer", "2026-03-05"),
        ("-7", "Dining", "2026-02-28"),
        ("-8", "Dining", "2026-04-01"),
    ]:
        await record(db, me, account.id, amount, category=category, date=dt.date.fromisoformat(day))
    await budgets.set_budget(db, me, category="dining", amount=D("200"), start_month="2026-01")

    status = _one(await budgets.budget_status(db, me, "2026-03", on=dt.date(2026, 5, 1)), "dining")
    summary = await analytics.spending_summary(
        db, me, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), group_by="category"
    )

    (group,) = [g for g in summary.groups if (g.name or "").lower() == "dining"]
    assert status.spent == group.spending == D("50.00")
    assert (status.budgeted, status.remaining, status.rollover_in) == (D("200.00"), D("150.00"), D("0.00"))
    assert status.projected == D("50.00")  # a past month: what it came to


async def test_february_and_leap_days_fall_in_their_month(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    await record(db, me, account.id, "-10", category="Food", date=dt.date(2028, 2, 29))
    await record(db, me, account.id, "-1", category="Food", date=dt.date(2028, 3, 1))
    await record(db, me, account.id, "-2", category="Food", date=dt.date(2027, 2, 28))
    await budgets.set_budget(db, me, category="Food", amount=D("100"), start_month="2027-01")

    leap = await budgets.budget_status(db, me, "2028-02", on=dt.date(2028, 2, 29))
    plain = await budgets.budget_status(db, me, "2027-02", on=dt.date(2027, 3, 2))

    assert (leap.start_date, leap.end_date, leap.as_of) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29), leap.end_date)
    assert _one(leap, "food").spent == D("10.00")
    assert _one(leap, "food").projected == D("10.00")  # on the last day the projection is the spending
    assert plain.end_date == dt.date(2027, 2, 28)
    assert _one(plain, "food").spent == D("2.00")


async def test_rollover_carries_what_was_left_and_what_was_overspent(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    await record(db, me, account.id, "-60", category="Fun", date=dt.date(2026, 1, 31))
    await record(db, me, account.id, "-150", category="Fun", date=dt.date(2026, 2, 1))
    await record(db, me, account.id, "-30", category="Fun", date=dt.date(2026, 3, 15))
    await record(db, me, account.id, "-999", category="Fun", date=dt.date(2025, 12, 15))  # before the budget
    await budgets.set_budget(db, me, category="Fun", amount=D("100"), start_month="2026-01", rollover=True)
    await budgets.set_budget(db, me, category="Flat", amount=D("100"), start_month="2026-01")

    later = dt.date(2026, 6, 1)
    jan = _one(await budgets.budget_status(db, me, "2026-01", on=later), "fun")
    feb = _one(await budgets.budget_status(db, me, "2026-02", on=later), "fun")
    mar = _one(await budgets.budget_status(db, me, "2026-03", on=later), "fun")
    apr = _one(await budgets.budget_status(db, me, "2026-04", on=later), "fun")

    assert (jan.rollover_in, jan.remaining, jan.status) == (D("0.00"), D("40.00"), "under")
    assert (feb.rollover_in, feb.remaining, feb.status) == (D("40.00"), D("-10.00"), "over")
    assert (mar.rollover_in, mar.remaining, mar.status) == (D("-10.00"), D("60.00"), "under")
    assert (apr.rollover_in, apr.remaining) == (D("60.00"), D("160.00"))
    flat = _one(await budgets.budget_status(db, me, "2026-04", on=later), "flat")
    assert flat.rollover_in == D("0.00")


async def test_a_budget_does_not_count_before_its_first_month(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    await budgets.set_budget(db, me, category="Fun", amount=D("100"), start_month="2026-05")

    report = await budgets.budget_status(db, me, "2026-04", on=dt.date(2026, 4, 10))

    assert report.budgets == []
    assert report.note is not None
    assert "set_budget" in report.note


@pytest.mark.parametrize(
    ("spent", "day", "status", "projected"),
    [
        ("-30", 15, "under", "60.00"),  # 30 by the 15th of 30 days: 60 of 100
        ("-46", 15, "near", "92.00"),  # on course past 90 %
        ("-50", 30, "under", "50.00"),
        ("-100", 30, "near", "100.00"),  # exactly the budget: not over, but there
        ("-100.01", 30, "over", "100.01"),
    ],
)
async def test_the_projection_sets_the_status(
    db: Database, make_principal: MakePrincipal, spent: str, day: int, status: str, projected: str
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    await record(db, me, account.id, spent, category="Books", date=dt.date(2026, 6, 1))
    await budgets.set_budget(db, me, category="Books", amount=D("100"), start_month="2026-06")

    found = _one(await budgets.budget_status(db, me, "2026-06", on=dt.date(2026, 6, day)), "books")

    assert (found.status, found.projected) == (status, D(projected))


async def test_setting_a_category_again_in_another_case_replaces_its_budget(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    first = await budgets.set_budget(db, me, category="Groceries", amount=D("300"))
    second = await budgets.set_budget(db, me, category="GROCERIES", amount=D("350.50"), rollover=True)

    listed = await budgets.list_budgets(db, me)

    assert second.id == first.id
    assert listed.total == 1
    assert (listed.budgets[0].amount, listed.budgets[0].rollover) == (D("350.50"), True)


async def test_bad_budgets_are_refused_and_change_nothing(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    viewer = await make_principal(Role.VIEWER, tenant=None)
    with pytest.raises(Invalid, match="more than zero"):
        await budgets.set_budget(db, me, category="Fun", amount=D("0"))
    with pytest.raises(Invalid, match="YYYY-MM"):
        await budgets.set_budget(db, me, category="Fun", amount=D("1"), start_month="2026-13")
    with pytest.raises(PermissionDenied):
        await budgets.set_budget(db, viewer, category="Fun", amount=D("1"))
    assert (await budgets.list_budgets(db, me)).total == 0


async def test_another_households_budget_is_not_found(db: Database, make_principal: MakePrincipal) -> None:
    me, stranger = await make_principal(), await make_principal()
    mine = await budgets.set_budget(db, me, category="Fun", amount=D("10"))

    with pytest.raises(NotFound, match="list_budgets"):
        await budgets.delete_budget(db, stranger, mine.id)
    assert (await budgets.list_budgets(db, stranger)).total == 0
    assert (await budgets.list_budgets(db, me)).total == 1


async def test_setting_changing_and_deleting_a_budget_are_undone_exactly(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    before = await data_dump(database_url)
    made = await budgets.set_budget(db, me, category="Fun", amount=D("10"))
    created = await data_dump(database_url)
    await budgets.set_budget(db, me, category="fun", amount=D("20"), rollover=True)
    changed = await data_dump(database_url)
    await budgets.delete_budget(db, me, made.id)

    for expected in (changed, created, before):
        await changes.undo_change(db, me, _last_not_undone(await changes.list_changes(db, me, limit=50)))
        assert await data_dump(database_url) == expected


def _last_not_undone(page: changes.ChangePage) -> int:
    """The newest change that is neither an undo nor undone."""
    return next(c.id for c in page.changes if c.tool != "undo_change" and c.undone_by_change_id is None)
