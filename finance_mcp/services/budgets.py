"""Budgets: a monthly limit per category and how each month stands against it.

Spending is what `spending_summary` counts (`AnalyticsRepository.totals` with the same slice, its groups
folded the same way), so a budget and an analytics answer can never disagree. Categories match in any case.
With rollover, each month from the budget's first one carries `available - spent` into the next.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound
from finance_mcp.domain.money import format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.repositories.analytics import Scope, Slice
from finance_mcp.repositories.change_recorder import image
from finance_mcp.repositories.ids import storable
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.budgets import BudgetDeleted, BudgetList, BudgetRead, BudgetReport, BudgetState, BudgetStatus
from finance_mcp.services.analytics import fold, percent, today
from finance_mcp.services.periods import add_months, month_end, month_label, parse_month

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
NEAR = Decimal("0.90")
MAX_BUDGETS = 200
# Spending before this many months back is never read for a rollover: bounds the work of one status.
MAX_ROLLOVER_MONTHS = 120


def budget_not_found(budget_id: int) -> NotFound:
    return NotFound(f"Budget {budget_id} was not found in your household; call list_budgets to find the right id.")


def to_budget(row: Mapping[str, Any]) -> BudgetRead:
    return BudgetRead(
        id=row["id"],
        category=row["category"],
        amount=row["amount"],
        start_month=month_label(row["start_month"]),
        rollover=bool(row["rollover"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _month(text: str | None) -> dt.date:
    return parse_month(text) if text else today().replace(day=1)


async def set_budget(
    db: Database,
    principal: Principal,
    *,
    category: str,
    amount: Decimal,
    start_month: str | None = None,
    rollover: bool = False,
) -> BudgetRead:
    """Create the category's budget, or replace its amount, first month and rollover (one per category)."""
    principal.require(Permission.WRITE)
    name = category.strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("category must be 1 to 100 characters, e.g. Groceries")
    if amount <= 0:
        raise Invalid(f"amount must be more than zero, got {format_amount(amount)}; to stop a budget, delete_budget")
    first = _month(start_month)
    now = dt.datetime.now(dt.UTC)
    values = {"category": name, "amount": amount, "start_month": first, "rollover": rollover, "updated_at": now}
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        current = await uow.budgets.by_category(name.lower(), for_update=True)
        if current is None:
            if len(await uow.budgets.list()) >= MAX_BUDGETS:
                raise Invalid(f"A household holds at most {MAX_BUDGETS} budgets; delete one first (delete_budget).")
            row = await uow.budgets.add(
                {**values, "category_key": name.lower(), "created_by": principal.user_id, "created_at": now}
            )
        else:
            row = await uow.budgets.update(int(current["id"]), values)
        verb = "Set" if current is None else "Changed"
        summary = f"{verb} the budget for {name}: {format_amount(amount)} a month from {month_label(first)}"
        uow.log.describe(by=principal, tool="set_budget", summary=summary, entity_type="budget", entity_id=row["id"])
        uow.log.row("budgets", int(row["id"]), None if current is None else image(current), image(row))
        await uow.commit()
    return to_budget(row)


async def list_budgets(db: Database, principal: Principal) -> BudgetList:
    principal.require(Permission.READ)
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        rows = await uow.budgets.list()
    return BudgetList(budgets=[to_budget(row) for row in rows], total=len(rows))


async def delete_budget(db: Database, principal: Principal, budget_id: int) -> BudgetDeleted:
    principal.require(Permission.WRITE)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        removed = await uow.budgets.delete(budget_id) if storable(budget_id) else None
        if removed is None:
            raise budget_not_found(budget_id)
        summary = f"Deleted the budget for {removed['category']}"
        uow.log.describe(by=principal, tool="delete_budget", summary=summary, entity_type="budget", entity_id=budget_id)
        uow.log.row("budgets", budget_id, image(removed), None)
        await uow.commit()
    return BudgetDeleted(budget_id=budget_id)


async def budget_status(
    db: Database, principal: Principal, month: str | None = None, *, on: dt.date | None = None
) -> BudgetReport:
    """Every budget counting in `month` (default this one) with its spending, rollover and projection."""
    principal.require(Permission.READ)
    day = on or today()
    first = _month(month) if month else day.replace(day=1)
    last = month_end(first)
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        rows = [row for row in await uow.budgets.list() if row["start_month"] <= first]
        spent = await _spending_by_month(uow, first, last, bucket=False) if rows else {}
        earliest = min((_carry_from(row, first) for row in rows if row["rollover"]), default=first)
        if earliest < first:  # the months a rollover carries from, one statement for all of them
            spent |= await _spending_by_month(uow, earliest, first - dt.timedelta(days=1), bucket=True)
    # The projection's day: today in the month itself; a past or future month is taken as it stands.
    as_of = day if first <= day <= last else last
    statuses = [_status(row, first, spent, as_of) for row in rows]
    note = None if statuses else "No budget counts in this month; create one with set_budget(category, amount)."
    return BudgetReport(
        month=month_label(first),
        start_date=first,
        end_date=last,
        as_of=as_of,
        budgets=statuses,
        total_budgeted=sum((s.budgeted for s in statuses), ZERO),
        total_spent=sum((s.spent for s in statuses), ZERO),
        note=note,
    )


def _carry_from(row: Mapping[str, Any], first: dt.date) -> dt.date:
    return max(row["start_month"], add_months(first, -MAX_ROLLOVER_MONTHS))


async def _spending_by_month(
    uow: UnitOfWork, start: dt.date, end: dt.date, *, bucket: bool
) -> dict[tuple[str, dt.date], Decimal]:
    """Spending per (lower-case category, month): spending_summary's statement (group_by="category"), for
    one month as it is, or for several bucketed by month."""
    grouping = (
        Slice(by="category", bucket="month", expenses_only=True) if bucket else Slice(by="category", expenses_only=True)
    )
    (found,) = await uow.analytics.totals(Scope(start, end), grouping)
    return {
        (key, month if bucket and month is not None else start): group.totals.spending
        for (key, month), group in fold(found).items()
        if key is not None
    }


def _status(
    row: Mapping[str, Any], first: dt.date, spent: dict[tuple[str, dt.date], Decimal], as_of: dt.date
) -> BudgetStatus:
    key, amount = row["category_key"], row["amount"]
    carried = ZERO
    if row["rollover"]:
        month = _carry_from(row, first)
        while month < first:
            carried = amount + carried - spent.get((key, month), ZERO)
            month = add_months(month, 1)
    used = spent.get((key, first), ZERO)
    available = amount + carried
    days = calendar.monthrange(first.year, first.month)[1]
    projected = (used * days / as_of.day).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return BudgetStatus(
        budget_id=row["id"],
        category=row["category"],
        budgeted=amount,
        rollover_in=carried,
        spent=used,
        remaining=available - used,
        projected=projected,
        percent_used=percent(used, available) if available > 0 else ZERO,
        status=_state(used, projected, available),
    )


def _state(used: Decimal, projected: Decimal, available: Decimal) -> BudgetState:
    if used > available or (available <= 0 and used > 0):
        return "over"
    if projected > available * NEAR:
        return "near"
    return "under"


async def category_status(db: Database, principal: Principal, category: str) -> BudgetStatus | None:
    """This month's status of the category's budget (any case), or None when it has none."""
    report = await budget_status(db, principal)
    wanted = category.strip().lower()
    return next((found for found in report.budgets if found.category.lower() == wanted), None)


def budget_available(status: BudgetStatus | None) -> str:
    """What a budget allows this month (its amount and what rolled in), as the amount text prompts take."""
    if status is None:
        return ""
    return format_amount(max(status.budgeted + status.rollover_in, CENT))
