"""`get_overview`: balances, this month against last, the largest categories and what waits to be sorted,
read in one snapshot with two statements besides the accounts (the month's totals come from the same
`AnalyticsRepository.totals` as `spending_summary`, so the overview and the analytics tools agree)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from finance_mcp.db.database import Database
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.repositories.analytics import Scope, Slice
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from finance_mcp.schemas.analytics import AccountBalance, CurrencyTotal, Totals
from finance_mcp.schemas.overview import CategoryThisMonth, MonthSoFar, Overview
from finance_mcp.services.analytics import ZERO, add_up, fold, period_of, to_totals, today
from finance_mcp.services.budgets import budget_status
from finance_mcp.services.periods import add_months, month_end, month_label
from finance_mcp.services.recurring import upcoming
from finance_mcp.services.reports import COUNT_UP_TO

TOP = 5
BILLS_DAYS = 7
BILLS_SHOWN = 10
NEXT_STEPS = [
    "Where did the money go: spending_summary with this month's dates (group_by category, merchant or tag).",
    "The transactions behind a category: list_transactions with its category and dates.",
    "Rows without a derived category: the categorize_uncategorized prompt, then update_transaction.",
    "Recording spending: create_transaction with a negative amount on one of these accounts.",
    "Bills and budgets in full: upcoming and budget_status (post_due_recurring records due bills).",
]


async def get_overview(db: Database, principal: Principal, *, on: dt.date | None = None) -> Overview:
    principal.require(Permission.READ)
    day = on or today()
    first = day.replace(day=1)
    last_first = add_months(first, -1)
    last_end = month_end(last_first)
    last_same_day = min(last_first.replace(day=min(day.day, last_end.day)), last_end)
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        accounts = await uow.accounts.list()
        days, categories = await uow.analytics.totals(
            Scope(last_first, day), Slice(bucket="day"), Slice(by="category", bucket="month")
        )
        _rows, uncategorized = await uow.analytics.uncategorized(1, count_up_to=COUNT_UP_TO)
        planned = await uow.toolset_usage.used(principal.user_id)
    # Budgets and recurring bills only when the household has any (`planning`): two reads of their own.
    bills = (await upcoming(db, principal, BILLS_DAYS, on=day)).items[:BILLS_SHOWN] if "planning" in planned else []
    budgets = (await budget_status(db, principal, on=day)).budgets if "planning" in planned else []

    def between(start: dt.date, end: dt.date) -> Totals:
        return add_up(to_totals(row) for row in days if start <= row["bucket"] <= end)

    this_month = fold(row for row in categories if row["bucket"] == first)
    last_month = {
        name: group for (name, _bucket), group in fold(r for r in categories if r["bucket"] == last_first).items()
    }
    spenders = sorted(
        (group for group in this_month.values() if group.totals.spending > ZERO and group.name is not None),
        key=lambda group: (-group.totals.spending, (group.name or "").lower()),
    )[:TOP]
    balances: dict[str, Decimal] = {}
    for row in accounts:
        balances[row["currency"]] = balances.get(row["currency"], ZERO) + row["balance"]
    return Overview(
        as_of=day,
        accounts=[
            AccountBalance(
                account_id=row["id"],
                name=row["name"],
                account_type=row["account_type"],
                currency=row["currency"],
                balance=row["balance"],
            )
            for row in accounts
        ],
        balances=[CurrencyTotal(currency=code, balance=total) for code, total in sorted(balances.items())],
        this_month=MonthSoFar(month=month_label(first), period=period_of(first, day), totals=between(first, day)),
        last_month=MonthSoFar(
            month=month_label(last_first), period=period_of(last_first, last_end), totals=between(last_first, last_end)
        ),
        last_month_same_days=between(last_first, last_same_day),
        top_categories=[
            CategoryThisMonth(
                name=group.name or "",
                spending=group.totals.spending,
                last_month=last_month[(group.name or "").lower()].totals.spending
                if (group.name or "").lower() in last_month
                else ZERO,
            )
            for group in spenders
        ],
        uncategorized=min(uncategorized, COUNT_UP_TO),
        uncategorized_more=uncategorized > COUNT_UP_TO,
        bills_due=bills,
        budgets_at_risk=[status for status in budgets if status.status != "under"],
        next_steps=NEXT_STEPS,
    )
