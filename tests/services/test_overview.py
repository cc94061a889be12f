"""`get_overview` on SQLite and PostgreSQL: the figures a conversation starts from, against plain sums."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import PermissionDenied
from finance_mcp.domain.principals import Role
from finance_mcp.services import analytics, budgets, recurring
from finance_mcp.services.overview import get_overview
from tests.services.helpers import MakePrincipal, open_account, record

pytestmark = pytest.mark.anyio

D = Decimal


async def test_this_month_is_compared_with_last_month_whole_and_to_the_same_day(
    db: Database, make_principal: MakePrincipal
) -> None:
    owner = await make_principal()
    checking = await open_account(db, owner, "1000", name="Checking")
    card = await open_account(db, owner, "0", name="Card", account_type="credit_card")
    rows = [
        (checking.id, "-40.00", dt.date(2026, 2, 3), "Food", "Groceries"),
        (checking.id, "-60.00", dt.date(2026, 2, 20), "food", "Groceries"),  # after the 15th: whole month only
        (checking.id, "2500.00", dt.date(2026, 2, 1), "Salary", "Income"),
        (card.id, "-12.50", dt.date(2026, 3, 2), "Food", None),
        (card.id, "-300.00", dt.date(2026, 3, 10), "Rent", "Housing"),
        (checking.id, "-300.00", dt.date(2026, 3, 11), "Transfer", None),  # a transfer is never spending
        (card.id, "-5.00", dt.date(2026, 3, 16), "Fun", None),  # after "today": not counted
    ]
    for account_id, amount, day, category, der in rows:
        await record(db, owner, account_id, amount, date=day, category=category, der_category=der)

    seen = await get_overview(db, owner, on=dt.date(2026, 3, 15))

    assert [a.name for a in seen.accounts] == ["Card", "Checking"]
    assert [(a.name, a.balance) for a in seen.accounts] == [("Card", D("-317.50")), ("Checking", D("3100.00"))]
    assert [(c.currency, c.balance) for c in seen.balances] == [("USD", D("2782.50"))]
    assert seen.this_month.month == "2026-03"
    assert (seen.this_month.period.start_date, seen.this_month.period.end_date) == (
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 15),
    )
    assert (seen.this_month.totals.spending, seen.this_month.totals.income, seen.this_month.totals.count) == (
        D("312.50"),
        D("0"),
        2,
    )
    assert (seen.last_month.totals.spending, seen.last_month.totals.income) == (D("100.00"), D("2500.00"))
    assert seen.last_month.period.end_date == dt.date(2026, 2, 28)
    assert seen.last_month_same_days.spending == D("40.00")
    assert [(c.name, c.spending, c.last_month) for c in seen.top_categories] == [
        ("Rent", D("300.00"), D("0")),
        ("Food", D("12.50"), D("100.00")),  # "Food" and "food" are one category, as in spending_summary
    ]
    assert (seen.uncategorized, seen.uncategorized_more) == (3, False)  # the two without one, and the Fun row

    summary = await analytics.spending_summary(
        db, owner, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 15), group_by="category"
    )
    assert summary.totals.spending == seen.this_month.totals.spending  # the analytics tools agree


async def test_on_the_last_day_of_a_long_month_last_month_same_days_is_all_of_a_short_one(
    db: Database, make_principal: MakePrincipal
) -> None:
    owner = await make_principal()
    account = await open_account(db, owner, "0")
    await record(db, owner, account.id, "-7.00", date=dt.date(2024, 2, 29), category="Food")

    seen = await get_overview(db, owner, on=dt.date(2024, 3, 31))

    assert seen.last_month_same_days.spending == seen.last_month.totals.spending == D("7.00")
    assert seen.top_categories == []


async def test_a_new_household_has_an_empty_overview_and_a_viewer_may_read_it(
    db: Database, make_principal: MakePrincipal
) -> None:
    viewer = await make_principal(role=Role.VIEWER)

    seen = await get_overview(db, viewer)

    assert (seen.accounts, seen.balances, seen.top_categories) == ([], [], [])
    assert seen.this_month.totals.count == 0
    assert seen.next_steps


async def test_without_read_permission_nothing_is_shown(db: Database, make_principal: MakePrincipal) -> None:
    reader = await make_principal(scopes=frozenset({"finance:write"}))
    with pytest.raises(PermissionDenied):
        await get_overview(db, reader)


async def test_bills_due_and_budgets_at_risk_show_once_the_household_plans(
    db: Database, make_principal: MakePrincipal
) -> None:
    owner = await make_principal()
    account = await open_account(db, owner, "500")
    day = dt.date(2026, 3, 10)
    before = await get_overview(db, owner, on=day)
    await budgets.set_budget(db, owner, category="Food", amount=D("100"), start_month="2026-03")
    await budgets.set_budget(db, owner, category="Rent", amount=D("1000"), start_month="2026-03")
    await recurring.create_recurring(
        db, owner, account_id=account.id, amount=D("-9.99"), category="Subscriptions", frequency="monthly",
        start_date=dt.date(2026, 1, 13), merchant="Streamly",
    )  # fmt: skip
    await record(db, owner, account.id, "-80", date=dt.date(2026, 3, 5), category="food")  # 80 % on the 10th

    seen = await get_overview(db, owner, on=day)

    assert (before.bills_due, before.budgets_at_risk) == ([], [])
    # 80 of 100 spent by the 10th projects past 90 % (near); Rent, with nothing spent, is not at risk
    assert [(s.category, s.status) for s in seen.budgets_at_risk] == [("Food", "near")]
    assert [(b.due_date, b.overdue) for b in seen.bills_due] == [
        (dt.date(2026, 1, 13), True),
        (dt.date(2026, 2, 13), True),
        (dt.date(2026, 3, 13), False),
    ]
