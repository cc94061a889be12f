"""What the report resources and the prompts read: a month's summary, the transactions still without a
derived category, and one category's spending against a limit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.money import CENT, to_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.repositories.analytics import Scope, Slice
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from finance_mcp.schemas.analytics import Filters, MonthlyReport, MonthSpending, SpendingCheck, Uncategorized
from finance_mcp.services.analytics import (
    ZERO,
    add_up,
    fold,
    merchant_totals,
    percent,
    period_of,
    sorted_groups,
    to_group,
    today,
)
from finance_mcp.services.periods import add_months, month_end, month_label, parse_month
from finance_mcp.services.transactions import to_transaction

TOP = 5
MAX_UNCATEGORIZED = 100
MAX_CATEGORY = 100
KNOWN_CATEGORIES = 50
COUNT_UP_TO = 10_000  # counting every uncategorised row of a large household costs more than it tells
RECENT_SAMPLE = 10_000  # derived categories in use = those of the newest categorised rows


async def monthly_report(db: Database, principal: Principal, month: str) -> MonthlyReport:
    """Income, expenses and net of a month (YYYY-MM), with its largest spending categories and merchants."""
    principal.require(Permission.READ)
    first = parse_month(month)
    period = period_of(first, month_end(first))
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        categories, merchants = await uow.analytics.totals(
            Scope(first, period.end_date), Slice(by="category"), Slice(by="merchant", expenses_only=True)
        )
    by_category = fold(categories).values()
    totals = add_up(group.totals for group in by_category)
    groups = sorted_groups(to_group(group, "category", {}, totals.spending) for group in by_category)
    return MonthlyReport(
        month=month_label(first),
        period=period,
        filters=Filters(account_ids=None, include_income=True),
        totals=totals,
        top_categories=[group for group in groups if group.spending > 0][:TOP],
        top_merchants=merchant_totals(fold(merchants).values(), totals.spending)[:TOP],
    )


async def uncategorized(db: Database, principal: Principal, limit: int = 20) -> Uncategorized:
    """The newest transactions without a derived category, how many there are, and the ones in use."""
    principal.require(Permission.READ)
    if not 1 <= limit <= MAX_UNCATEGORIZED:
        raise Invalid(f"limit must be between 1 and {MAX_UNCATEGORIZED}")
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        rows, total = await uow.analytics.uncategorized(limit, count_up_to=COUNT_UP_TO)
        in_use = await uow.analytics.recent_der_categories(RECENT_SAMPLE)
    uses: dict[str, int] = {}
    spelling: dict[str, str] = {}
    for name, count in in_use:
        uses[name.lower()] = uses.get(name.lower(), 0) + count
        spelling[name.lower()] = min(spelling.get(name.lower(), name), name)
    known = sorted(uses, key=lambda key: (-uses[key], key))[:KNOWN_CATEGORIES]
    return Uncategorized(
        transactions=[to_transaction(row) for row in rows],
        total=min(total, COUNT_UP_TO),
        more_than_total=total > COUNT_UP_TO,
        known_der_categories=[spelling[key] for key in known],
    )


async def spending_check(
    db: Database, principal: Principal, *, category: str, limit_amount: Decimal | str, on: dt.date | None = None
) -> SpendingCheck:
    """A category's spending in the month of `on` (default today) against a limit, with the pace so far
    and the three months before."""
    principal.require(Permission.READ)
    name = category.strip()
    if not 1 <= len(name) <= MAX_CATEGORY:
        raise Invalid(f"category must be 1 to {MAX_CATEGORY} characters")
    limit = to_amount(limit_amount, field="limit_amount")
    if limit <= 0:
        raise Invalid(f"limit_amount must be more than zero, got {limit}")
    day = on or today()
    first = day.replace(day=1)
    period = period_of(first, month_end(first))
    before = [add_months(first, offset) for offset in (-3, -2, -1)]
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        (rows,) = await uow.analytics.totals(
            Scope(before[0], period.end_date), Slice(by="category", bucket="month", expenses_only=True)
        )
    spent_by_month = {month: group.totals.spending for (key, month), group in fold(rows).items() if key == name.lower()}
    spent = spent_by_month.get(first, ZERO)
    return SpendingCheck(
        category=name,
        month=month_label(first),
        period=period,
        filters=Filters(account_ids=None, categories=[name], include_income=False),
        spent=spent,
        limit_amount=limit,
        remaining=limit - spent,
        percent_used=percent(spent, limit),
        over_limit=spent > limit,
        projected=(spent * period.days / day.day).quantize(CENT),
        previous_months=[MonthSpending(month=month_label(m), spending=spent_by_month.get(m, ZERO)) for m in before],
    )
