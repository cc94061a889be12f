"""Where the money went: spending by group, top merchants, cash flow and category trends.

Every call checks the READ permission, validates and bounds its range, and runs in one read unit of work;
the sums are computed by the database (`repositories/analytics.py`), grouped by raw values, and groups
whose names differ only in case are folded together here (named by the first spelling in code-point
order). Money out is reported as a positive amount ("spending", "expenses"); `net = income - spending`.
Transfers between the household's own accounts (category `transfer`, any case) are never spending or
income (`TRANSFER_RULE`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import RowMapping

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.domain.suggestions import unknown_name_note
from finance_mcp.repositories.analytics import Scope, Slice
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.analytics import (
    CashFlow,
    CashFlowPeriod,
    CategoryTrend,
    CategoryTrends,
    Filters,
    GroupBy,
    Interval,
    MerchantTotal,
    Period,
    SpendingGroup,
    SpendingSummary,
    TopMerchants,
    Totals,
    TrendPoint,
)
from finance_mcp.services import periods
from finance_mcp.services.accounts import account_not_found
from finance_mcp.services.periods import add_months, check_range, month_end, month_label, parse_month

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
NOTHING = Totals(spending=ZERO, income=ZERO, net=ZERO, count=0)
MAX_ACCOUNT_FILTER = 50
MAX_GROUPS = 1000
MAX_MERCHANTS = 100
MAX_TREND_MONTHS = 120
MAX_TREND_CATEGORIES = 20
TREND_CATEGORIES = 10


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """`part` as a percentage of `whole`, two places; 0 when `whole` is 0."""
    if not whole:
        return ZERO
    return (part * HUNDRED / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def period_of(start: dt.date, end: dt.date) -> Period:
    return Period(start_date=start, end_date=end, days=check_range(start, end))


def to_totals(row: RowMapping) -> Totals:
    """A database row of sums (spending negative; either sum may be None) as positive `Totals`."""
    spending, income = -(row["spending"] or ZERO), row["income"] or ZERO
    return Totals(spending=spending, income=income, net=income - spending, count=int(row["count"]))


def add_up(items: Iterable[Totals]) -> Totals:
    spending = income = ZERO
    count = 0
    for item in items:
        spending, income, count = spending + item.spending, income + item.income, count + item.count
    return Totals(spending=spending, income=income, net=income - spending, count=count)


@dataclass(slots=True)
class Group:
    """One group after folding: its name (None = no value), period bucket and totals."""

    name: str | None
    bucket: dt.date | None
    totals: Totals


def fold(rows: Iterable[RowMapping]) -> dict[tuple[str | None, dt.date | None], Group]:
    """Rows whose keys differ only in case become one group, keyed by (lower-case key, bucket)."""
    found: dict[tuple[str | None, dt.date | None], Group] = {}
    for row in rows:
        key: str | None = row["key"] or None
        place = (None if key is None else key.lower(), row["bucket"])
        totals = to_totals(row)
        group = found.get(place)
        if group is None:
            found[place] = Group(key, row["bucket"], totals)
        else:
            group.name = min(group.name or "", key or "") or None
            group.totals = add_up((group.totals, totals))
    return found


async def checked_accounts(uow: UnitOfWork, account_ids: Sequence[int] | None) -> dict[int, str]:
    """The household's account names; every id in `account_ids` must be one of them."""
    if account_ids is not None and not 1 <= len(account_ids) <= MAX_ACCOUNT_FILTER:
        raise Invalid(f"account_ids holds 1 to {MAX_ACCOUNT_FILTER} ids, or is null for every account")
    names = await uow.analytics.account_names()
    for account_id in account_ids or ():
        if account_id not in names:
            raise account_not_found(account_id)
    return names


def _ids(account_ids: Sequence[int] | None) -> tuple[int, ...] | None:
    return None if account_ids is None else tuple(sorted(set(account_ids)))


def _filters(account_ids: Sequence[int] | None, *, include_income: bool) -> Filters:
    ids = _ids(account_ids)
    return Filters(account_ids=None if ids is None else list(ids), include_income=include_income)


def sorted_groups(groups: Iterable[SpendingGroup]) -> list[SpendingGroup]:
    return sorted(groups, key=lambda g: (-g.spending, -g.income, g.name is None, g.name or "", g.account_id or 0))


def to_group(group: Group, group_by: GroupBy, names: dict[int, str], total_spending: Decimal) -> SpendingGroup:
    account_id = int(group.name) if group_by == "account" and group.name else None
    name = group.name
    if account_id is not None:
        name = names.get(account_id, f"account {account_id}")
    elif group_by == "month" and group.bucket is not None:
        name = month_label(group.bucket)
    share = percent(group.totals.spending, total_spending)
    return SpendingGroup(**group.totals.model_dump(), name=name, account_id=account_id, share_percent=share)


async def spending_summary(
    db: Database,
    principal: Principal,
    *,
    start: dt.date,
    end: dt.date,
    group_by: GroupBy,
    account_ids: Sequence[int] | None = None,
    include_income: bool = False,
    limit: int | None = None,
) -> SpendingSummary:
    principal.require(Permission.READ)
    period = period_of(start, end)
    if limit is not None and not 1 <= limit <= MAX_GROUPS:
        raise Invalid(f"limit must be between 1 and {MAX_GROUPS}, or null for every group")
    expenses_only = not include_income
    grouping = Slice(bucket="month", expenses_only=expenses_only)
    if group_by != "month":
        grouping = Slice(by=group_by, expenses_only=expenses_only)
    # A transaction with several tags is in several tag groups: its period total needs its own slice.
    slices = [grouping, Slice(expenses_only=expenses_only)] if group_by == "tag" else [grouping]
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        names = await checked_accounts(uow, account_ids)
        found = await uow.analytics.totals(Scope(start, end, _ids(account_ids)), *slices)
    folded = fold(found[0]).values()
    totals = add_up(to_totals(row) for row in found[-1]) if group_by == "tag" else add_up(g.totals for g in folded)
    groups = sorted_groups(to_group(group, group_by, names, totals.spending) for group in folded)
    shown = groups if limit is None else groups[:limit]
    return SpendingSummary(
        period=period,
        filters=_filters(account_ids, include_income=include_income),
        group_by=group_by,
        totals=totals,
        groups=shown,
        group_count=len(groups),
        other=add_up(groups[len(shown) :]) if len(shown) < len(groups) else None,
    )


async def top_merchants(
    db: Database,
    principal: Principal,
    *,
    start: dt.date,
    end: dt.date,
    limit: int = 10,
    account_ids: Sequence[int] | None = None,
) -> TopMerchants:
    principal.require(Permission.READ)
    period = period_of(start, end)
    if not 1 <= limit <= MAX_MERCHANTS:
        raise Invalid(f"limit must be between 1 and {MAX_MERCHANTS}")
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        await checked_accounts(uow, account_ids)
        (rows,) = await uow.analytics.totals(
            Scope(start, end, _ids(account_ids)), Slice(by="merchant", expenses_only=True)
        )
    groups = list(fold(rows).values())
    total = add_up(group.totals for group in groups).spending
    merchants = merchant_totals(groups, total)
    return TopMerchants(
        period=period,
        filters=_filters(account_ids, include_income=False),
        merchants=merchants[:limit],
        merchant_count=len(merchants),
        total_spending=total,
        unattributed_spending=sum((group.totals.spending for group in groups if group.name is None), ZERO),
    )


def merchant_totals(groups: Iterable[Group], total_spending: Decimal) -> list[MerchantTotal]:
    """Merchants with spending, largest first; the group without a merchant is left out."""
    found = [
        MerchantTotal(
            merchant=group.name,
            spending=group.totals.spending,
            count=group.totals.count,
            share_percent=percent(group.totals.spending, total_spending),
        )
        for group in groups
        if group.name is not None and group.totals.spending > 0
    ]
    return sorted(found, key=lambda merchant: (-merchant.spending, merchant.merchant))


async def cash_flow(
    db: Database,
    principal: Principal,
    *,
    start: dt.date,
    end: dt.date,
    interval: Interval = "month",
    account_ids: Sequence[int] | None = None,
) -> CashFlow:
    principal.require(Permission.READ)
    period = period_of(start, end)
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        await checked_accounts(uow, account_ids)
        (rows,) = await uow.analytics.totals(Scope(start, end, _ids(account_ids)), Slice(bucket=interval))
    by_bucket = {row["bucket"]: to_totals(row) for row in rows}
    flows: list[CashFlowPeriod] = []
    for bucket in periods.buckets(start, end, interval):
        totals = by_bucket.get(bucket.key, NOTHING)
        flows.append(
            CashFlowPeriod(
                label=periods.label(bucket.key, interval),
                start_date=bucket.start,
                end_date=bucket.end,
                income=totals.income,
                expenses=totals.spending,
                net=totals.net,
                count=totals.count,
            )
        )
    return CashFlow(
        period=period,
        filters=_filters(account_ids, include_income=True),
        interval=interval,
        periods=flows,
        totals=add_up(by_bucket.values()),
    )


async def category_trends(
    db: Database,
    principal: Principal,
    *,
    categories: Sequence[str] | None = None,
    months: int = 6,
    end_month: str | None = None,
) -> CategoryTrends:
    principal.require(Permission.READ)
    if not 1 <= months <= MAX_TREND_MONTHS:
        raise Invalid(f"months must be between 1 and {MAX_TREND_MONTHS}")
    wanted = requested_categories(categories)
    last = parse_month(end_month) if end_month else today().replace(day=1)
    # window[0] is the month before the window: read only for the first month's change.
    window = [add_months(last, offset) for offset in range(-months, 1)]
    period = period_of(window[1], month_end(last))
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        (rows,) = await uow.analytics.totals(Scope(window[0], period.end_date), Slice(by="category", bucket="month"))
        cells: dict[str, dict[dt.date, Totals]] = {}
        spellings: dict[str, str] = {}
        for (key, bucket), group in fold(rows).items():
            if key is not None and group.name is not None and bucket is not None:
                cells.setdefault(key, {})[bucket] = group.totals
                spellings[key] = min(spellings.get(key, group.name), group.name)
        note = await _unknown_categories_note(uow, wanted, cells) if wanted is not None else None
    chosen, omitted = (list(wanted), 0) if wanted is not None else _largest_spenders(cells, window[1:])
    return CategoryTrends(
        period=period,
        filters=Filters(account_ids=None, categories=None if wanted is None else list(wanted.values())),
        months=[month_label(month) for month in window[1:]],
        categories=[_trend(spellings.get(key) or (wanted or {})[key], cells.get(key, {}), window) for key in chosen],
        omitted_categories=omitted,
        note=note,
    )


async def _unknown_categories_note(uow: UnitOfWork, wanted: dict[str, str], cells: Mapping[str, object]) -> str | None:
    """A requested category with no row in the window, and none anywhere in the household, is most often a
    misspelling: its trend would read as a flat "0.00" with nothing to say why."""
    missing = [name for key, name in wanted.items() if key not in cells]
    if not missing:
        return None
    existing = await uow.transactions.categories()
    hint = "Call category_trends again with the categories spelt as they are stored."
    notes = [note for name in missing if (note := unknown_name_note("category", name, existing, hint=hint))]
    return " ".join(notes) or None


def requested_categories(categories: Sequence[str] | None) -> dict[str, str] | None:
    """Requested categories keyed by lower case (the first spelling kept, order kept); None for all."""
    if categories is None:
        return None
    found: dict[str, str] = {}
    for category in categories:
        found.setdefault(category.strip().lower(), category.strip())
    if not 1 <= len(found) <= MAX_TREND_CATEGORIES or "" in found:
        raise Invalid(f"categories holds 1 to {MAX_TREND_CATEGORIES} non-empty names, or is null for the largest")
    return found


def _largest_spenders(cells: dict[str, dict[dt.date, Totals]], window: list[dt.date]) -> tuple[list[str], int]:
    spent = {key: sum((by_month[m].spending for m in window if m in by_month), ZERO) for key, by_month in cells.items()}
    spenders = sorted((key for key, total in spent.items() if total > 0), key=lambda key: (-spent[key], key))
    return spenders[:TREND_CATEGORIES], max(0, len(spenders) - TREND_CATEGORIES)


def _trend(name: str, by_month: dict[dt.date, Totals], window: list[dt.date]) -> CategoryTrend:
    points: list[TrendPoint] = []
    previous = by_month.get(window[0], NOTHING).spending
    for month in window[1:]:
        cell = by_month.get(month, NOTHING)
        change = cell.spending - previous
        points.append(
            TrendPoint(
                month=month_label(month),
                spending=cell.spending,
                income=cell.income,
                count=cell.count,
                change=change,
                change_percent=percent(change, previous) if previous else None,
            )
        )
        previous = cell.spending
    return CategoryTrend(
        category=name,
        total_spending=sum((p.spending for p in points), ZERO),
        total_income=sum((p.income for p in points), ZERO),
        months=points,
    )
