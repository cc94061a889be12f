"""The analytics answers computed the plain way: loops over the rows a household recorded, in Python.

Written from the tool contract, not from the implementation: no SQL, no shared helpers beyond the
standard library, so a mistake in one is unlikely to be repeated in the other.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Part:
    """One part of a split row: it counts instead of the row, with the row's account, date and merchant."""

    amount: Decimal
    category: str
    der_category: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    account_id: int
    amount: Decimal
    date: dt.date
    category: str
    merchant: str | None = None
    der_category: str | None = None
    tags: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()


def as_counted(rows: Iterable[Row]) -> list[Row]:
    """What analytics count: each row, or each part of a split row in its place (never both)."""
    found: list[Row] = []
    for r in rows:
        if not r.parts:
            found.append(r)
        for p in r.parts:
            found.append(Row(r.account_id, p.amount, r.date, p.category, r.merchant, p.der_category, p.tags))
    return found


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    opening: Decimal
    currency: str = "USD"


def counted(
    rows: Iterable[Row],
    start: dt.date,
    end: dt.date,
    *,
    account_ids: set[int] | None = None,
    categories: set[str] | None = None,
    expenses_only: bool = False,
) -> list[Row]:
    """The rows a total covers: in the dates, not a transfer, in the accounts and categories asked for."""
    return [
        r
        for r in as_counted(rows)
        if start <= r.date <= end
        and r.category.lower() != "transfer"
        and (account_ids is None or r.account_id in account_ids)
        and (categories is None or r.category.lower() in categories)
        and (not expenses_only or r.amount < 0)
    ]


def sums(rows: Iterable[Row]) -> dict[str, Any]:
    rows = list(rows)
    spending = -sum((r.amount for r in rows if r.amount < 0), ZERO)
    income = sum((r.amount for r in rows if r.amount > 0), ZERO)
    return {"spending": spending, "income": income, "net": income - spending, "count": len(rows)}


def share(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) if whole else ZERO


def wire(value: Any) -> Any:
    """What a result looks like on the wire: amounts and percentages as two-place strings, ISO dates."""
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01')):f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [wire(item) for item in value]
    return value


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _keys(row: Row, group_by: str, accounts: dict[int, Account]) -> list[tuple[Any, str | None, int | None]]:
    """(group key, spelling, account id) of every group the row belongs to."""
    if group_by == "account":
        return [(row.account_id, accounts[row.account_id].name, row.account_id)]
    if group_by == "tag":
        return [(tag.lower(), tag.lower(), None) for tag in row.tags] or [(None, None, None)]
    if group_by == "month":
        return [(month_of(row.date), month_of(row.date), None)]
    value = {"category": row.category, "der_category": row.der_category, "merchant": row.merchant}[group_by]
    return [(None if value is None else value.lower(), value, None)]


def spending_summary(
    rows: list[Row],
    accounts: dict[int, Account],
    *,
    start: dt.date,
    end: dt.date,
    group_by: str,
    account_ids: set[int] | None,
    include_income: bool,
    limit: int | None,
) -> dict[str, Any]:
    chosen = counted(rows, start, end, account_ids=account_ids, expenses_only=not include_income)
    members: dict[Any, list[Row]] = {}
    spellings: dict[Any, list[str | None]] = {}
    account_of: dict[Any, int | None] = {}
    for row in chosen:
        for key, spelling, account_id in _keys(row, group_by, accounts):
            members.setdefault(key, []).append(row)
            spellings.setdefault(key, []).append(spelling)
            account_of[key] = account_id
    totals = sums(chosen)
    groups: list[dict[str, Any]] = []
    for key, group_rows in members.items():
        names = [s for s in spellings[key] if s is not None]
        name = min(names) if names else None
        found = sums(group_rows)
        found.update(name=name, account_id=account_of[key], share_percent=share(found["spending"], totals["spending"]))
        groups.append(found)
    groups.sort(key=lambda g: (-g["spending"], -g["income"], g["name"] is None, g["name"] or "", g["account_id"] or 0))
    shown = groups if limit is None else groups[:limit]
    rest = groups[len(shown) :]
    other = None
    if rest:
        other = {name: sum((g[name] for g in rest), ZERO) for name in ("spending", "income", "net")}
        other["count"] = sum(g["count"] for g in rest)
    return {"totals": totals, "groups": shown, "group_count": len(groups), "other": other}


def top_merchants(rows: list[Row], *, start: dt.date, end: dt.date, limit: int) -> dict[str, Any]:
    chosen = counted(rows, start, end, expenses_only=True)
    total = sums(chosen)["spending"]
    by_key: dict[str, list[Row]] = {}
    for row in chosen:
        if row.merchant is not None:
            by_key.setdefault(row.merchant.lower(), []).append(row)
    merchants = [
        {
            "merchant": min(r.merchant for r in group if r.merchant is not None),
            "spending": sums(group)["spending"],
            "count": len(group),
            "share_percent": share(sums(group)["spending"], total),
        }
        for group in by_key.values()
    ]
    merchants.sort(key=lambda m: (-m["spending"], m["merchant"]))
    return {
        "merchants": merchants[:limit],
        "merchant_count": len(merchants),
        "total_spending": total,
        "unattributed_spending": sums(r for r in chosen if r.merchant is None)["spending"],
    }


def period_label(day: dt.date, interval: str) -> str:
    if interval == "month":
        return month_of(day)
    if interval == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def cash_flow(rows: list[Row], *, start: dt.date, end: dt.date, interval: str) -> list[dict[str, Any]]:
    """One entry per period, walking day by day: every period present, cut to [start, end]."""
    periods: dict[str, dict[str, Any]] = {}
    day = start
    while day <= end:
        label = period_label(day, interval)
        periods.setdefault(label, {"label": label, "start_date": day})["end_date"] = day
        day += dt.timedelta(days=1)
    found: list[dict[str, Any]] = []
    for period in periods.values():
        flow = sums(counted(rows, period["start_date"], period["end_date"]))
        found.append({**period, "income": flow["income"], "expenses": flow["spending"], "net": flow["net"],
                      "count": flow["count"]})  # fmt: skip
    return found


def balance(account: Account, rows: Iterable[Row], day: dt.date) -> Decimal:
    """Opening balance plus every transaction of the account dated on or before `day`, transfers included."""
    return account.opening + sum((r.amount for r in rows if r.account_id == account.id and r.date <= day), ZERO)


def history_ends(as_of: dt.date, interval: str, periods: int) -> list[dt.date]:
    """The last day of each of the `periods` periods ending with the one holding as_of (which ends at as_of)."""
    ends = [as_of]
    if interval == "month":
        year, month = as_of.year, as_of.month
        for _ in range(periods - 1):
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
            ends.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
    else:
        current_start = as_of - dt.timedelta(days=as_of.weekday()) if interval == "week" else as_of
        for _ in range(periods - 1):
            ends.append(current_start - dt.timedelta(days=1))
            current_start -= dt.timedelta(days=7 if interval == "week" else 1)
    return sorted(ends)


def category_trends(
    rows: list[Row], *, categories: list[str] | None, months: int, end_month: dt.date
) -> list[dict[str, Any]]:
    month_starts = [end_month]
    for _ in range(months):
        first = month_starts[0]
        month_starts.insert(0, (first - dt.timedelta(days=1)).replace(day=1))
    window_end = end_month.replace(day=calendar.monthrange(end_month.year, end_month.month)[1])
    wanted = None if categories is None else {c.strip().lower() for c in categories}
    chosen = counted(rows, month_starts[0], window_end, categories=wanted)

    def cell(key: str, first: dt.date) -> dict[str, Any]:
        return sums(r for r in chosen if r.category.lower() == key and month_of(r.date) == month_of(first))

    if categories is None:
        spent = {
            key: sum((cell(key, m)["spending"] for m in month_starts[1:]), ZERO)
            for key in {r.category.lower() for r in chosen}
        }
        keys = sorted((k for k, v in spent.items() if v > 0), key=lambda k: (-spent[k], k))[:10]
        names = {k: k for k in keys}
    else:
        names = {}
        for c in categories:
            names.setdefault(c.strip().lower(), c.strip())
        keys = list(names)
    found: list[dict[str, Any]] = []
    for key in keys:
        spellings = [r.category for r in chosen if r.category.lower() == key]
        previous = cell(key, month_starts[0])["spending"]
        points: list[dict[str, Any]] = []
        for first in month_starts[1:]:
            now = cell(key, first)
            change = now["spending"] - previous
            points.append({"month": month_of(first), "spending": now["spending"], "income": now["income"],
                           "count": now["count"], "change": change,
                           "change_percent": share(change, previous) if previous else None})  # fmt: skip
            previous = now["spending"]
        found.append({"category": min(spellings) if spellings else names[key], "months": points})
    return found
