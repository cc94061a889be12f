"""Aggregates over one household's transactions, computed by the database: GROUP BY, SUM and date buckets.

Money stays exact: sums are typed `Money`, so PostgreSQL's NUMERIC and SQLite's integer cents both come
back as Decimals. Transfers (category `transfer`, any case) are left out of every total here; they move
money between the household's own accounts and are neither spending nor income.

Per-row work is what a 12-month summary of a large household costs (docs/ANALYTICS.md), so rows are
grouped by the raw column values: no `lower()` and no `min()` per row. Groups whose names differ only in
case are few, and the service folds them together. The transfer test computes `lower()` only for
eight-character categories.

Each method is one SQL statement, so its numbers come from one snapshot even under READ COMMITTED.
Grouping happens over a subquery's columns: PostgreSQL would not match `date_trunc($1, ...)` in SELECT
with `date_trunc($2, ...)` in GROUP BY, and the planner flattens the subquery anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Integer,
    RowMapping,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    text,
    type_coerce,
    union_all,
)

from finance_mcp.db.database import Connection
from finance_mcp.db.models import accounts, transaction_split_tags, transaction_splits, transaction_tags, transactions
from finance_mcp.db.types import Money
from finance_mcp.domain.periods import Interval
from finance_mcp.domain.transfers import TRANSFER_CATEGORY
from finance_mcp.repositories.transactions import COLUMNS

Dimension = Literal["category", "der_category", "merchant", "account", "tag"]

ZERO = Decimal("0.00")
# Dates after a net-worth `as_of` share this bucket: later than any real bucket start.
FUTURE = dt.date(9999, 12, 31)

t = transactions.c
s = transaction_splits.c


@dataclass(frozen=True, slots=True)
class Scope:
    """Which transactions a total covers (transfers never)."""

    start: dt.date
    end: dt.date
    account_ids: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Slice:
    """One way of cutting the totals: by a dimension, by a date bucket, by both, or neither (one row);
    optionally counting expenses only."""

    by: Dimension | None = None
    bucket: Interval | None = None
    expenses_only: bool = False


class AnalyticsRepository:
    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id

    async def totals(self, scope: Scope, *slices: Slice) -> list[list[RowMapping]]:
        """For each slice, rows of (key, bucket, spending, income, count); one statement for all.

        `key` is the raw value grouped by (the account id as text; None for no value), `bucket` the first
        day of the period, `spending` the (negative) sum of expenses and `income` the sum of positive
        amounts; either is None when there was none.
        """
        selects = [self._slice(index, scope, item) for index, item in enumerate(slices)]
        statement = selects[0] if len(selects) == 1 else union_all(*selects)
        rows = (await self._conn.execute(statement)).mappings().all()
        found: list[list[RowMapping]] = [[] for _ in slices]
        for row in rows:
            found[int(row["slice"])].append(row)
        return found

    async def balances(self, *, as_of: dt.date, since: dt.date, bucket: Interval | None) -> list[RowMapping]:
        """Every account with its stored balance and the sums of its transactions dated after `since`.

        Sums are per date bucket up to `as_of`; everything dated after `as_of` is in the `FUTURE` bucket.
        Rows: (id, name, account_type, currency, balance, bucket, amount); bucket and amount are None for
        an account without such transactions. The stored balance is opening + every amount (the invariant
        kept by every write), so balance - (sums after a day) is the balance at the end of that day, without
        reading the older history.
        """
        day = _bucket_of(self._conn.dialect, bucket) if bucket is not None else cast(null(), Date())
        rows = (
            select(
                t.account_id,
                case((t.date > as_of, literal(FUTURE, Date())), else_=day).label("bucket"),
                t.amount,
            )
            .where(t.household_id == self._household_id, t.date > since)
            .subquery()
        )
        flows = (
            select(rows.c.account_id, rows.c.bucket, type_coerce(func.sum(rows.c.amount), Money()).label("amount"))
            .group_by(rows.c.account_id, rows.c.bucket)
            .subquery()
        )
        a = accounts.c
        statement = (
            select(a.id, a.name, a.account_type, a.currency, a.balance, flows.c.bucket, flows.c.amount)
            .select_from(accounts.outerjoin(flows, flows.c.account_id == a.id))
            .where(a.household_id == self._household_id)
            .order_by(a.name, a.id)
        )
        return list((await self._conn.execute(statement)).mappings().all())

    async def account_names(self) -> dict[int, str]:
        statement = select(accounts.c.id, accounts.c.name).where(accounts.c.household_id == self._household_id)
        return {int(row.id): str(row.name) for row in (await self._conn.execute(statement)).all()}

    async def uncategorized(self, limit: int, *, count_up_to: int) -> tuple[list[RowMapping], int]:
        """The newest transactions without a derived category, and how many there are, counted only up to
        `count_up_to + 1` so that a large household's answer stays cheap."""
        mine, missing = t.household_id == self._household_id, or_(t.der_category.is_(None), t.der_category == "")
        counted = select(t.id).where(mine, missing).limit(count_up_to + 1).subquery()
        statement = (
            select(*COLUMNS, select(func.count()).select_from(counted).scalar_subquery().label("matching"))
            .where(mine, missing)
            .order_by(t.date.desc(), t.id.desc())
            .limit(limit)
        )
        rows = list((await self._conn.execute(statement)).mappings().all())
        return rows, int(rows[0]["matching"]) if rows else 0

    async def recent_der_categories(self, sample: int) -> list[tuple[str, int]]:
        """Derived categories of the newest `sample` categorised transactions, with how often, as spelled."""
        recent = (
            select(t.der_category)
            .where(t.household_id == self._household_id, t.der_category.is_not(None), t.der_category != "")
            .order_by(t.date.desc(), t.id.desc())
            .limit(sample)
            .subquery()
        )
        statement = select(recent.c.der_category, func.count().label("uses")).group_by(recent.c.der_category)
        return [(str(row.der_category), int(row.uses)) for row in (await self._conn.execute(statement)).all()]

    # ---- statement building ----------------------------------------------------------------------

    def _slice(self, index: int, scope: Scope, item: Slice) -> Select[*tuple[Any, ...]]:
        """One slice's totals. Split transactions count as their parts: the plain sums over every row (the
        same statement as before splits existed, an index-only scan), plus, for each split transaction, its
        own row taken back out and its parts put in (two small sums over the split rows alone), added up."""
        bucket = _bucket_of(self._conn.dialect, item.bucket) if item.bucket else cast(null(), Date())
        sums = [self._sums(source, scope, item, bucket) for source in ("rows", "split", "parts")]
        every = union_all(*sums).subquery()
        count = func.sum(every.c.count)
        return (
            select(
                literal_column(str(index), Integer()).label("slice"),
                (cast(every.c.key, String()) if item.by == "account" else every.c.key).label("key"),
                every.c.bucket,
                type_coerce(func.sum(every.c.spending), Money()).label("spending"),
                type_coerce(func.sum(every.c.income), Money()).label("income"),
                count.label("count"),
            )
            .group_by(every.c.key, every.c.bucket)
            .having(count != 0)  # a group that held only split transactions, now counted as their parts
        )

    def _sums(
        self, source: Source, scope: Scope, item: Slice, bucket: ColumnElement[dt.date]
    ) -> Select[*tuple[Any, ...]]:
        """(key, bucket, spending, income, count) over every row (`rows`), minus the split transactions
        (`split`: their sums negated, their count subtracted), or over the split parts (`parts`)."""
        parts = source == "parts"
        amount = s.amount if parts else t.amount
        conditions = self._conditions(scope, category=s.category if parts else t.category)
        if parts:
            conditions.append(s.household_id == self._household_id)
        if source != "rows":
            conditions.append(self._split_transaction())
        rows = (
            select(_key(item.by, source).label("key"), bucket.label("bucket"), amount.label("amount"))
            .select_from(_frame(item.by, source))
            .where(*conditions, *([amount < ZERO] if item.expenses_only else []))
            .subquery()
        )
        value = rows.c.amount
        # Expenses only: every row is negative, so the plain sum is the spending and there is no income.
        spending: ColumnElement[Any] = func.sum(value) if item.expenses_only else func.sum(value).filter(value < ZERO)
        income: ColumnElement[Any] = (
            cast(null(), Money()) if item.expenses_only else func.sum(value).filter(value > ZERO)
        )
        count: ColumnElement[Any] = func.count()
        if source == "split":
            spending, income, count = -spending, -income, -count
        return select(
            rows.c.key,
            rows.c.bucket,
            type_coerce(spending, Money()).label("spending"),
            type_coerce(income, Money()).label("income"),
            count.label("count"),
        ).group_by(rows.c.key, rows.c.bucket)

    def _conditions(self, scope: Scope, *, category: ColumnElement[str] = t.category) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [
            t.household_id == self._household_id,
            t.date >= scope.start,
            t.date <= scope.end,
            # Same as lower(category) != 'transfer', but lower() runs only for eight-character categories.
            not_(and_(func.length(category) == len(TRANSFER_CATEGORY), func.lower(category) == TRANSFER_CATEGORY)),
        ]
        if scope.account_ids is not None:
            conditions.append(t.account_id.in_(scope.account_ids))
        return conditions

    def _split_transaction(self) -> ColumnElement[bool]:
        """The transaction is split, as a list of ids looked up by primary key: a household's split rows are
        few, and a join would let PostgreSQL hash them against every row of the period instead (measured:
        bench/splits.py). On PostgreSQL `id = ANY(ARRAY(subquery))`, evaluated once; SQLite looks up
        `rowid IN (subquery)` the same way."""
        if self._conn.dialect == "postgresql":
            ids = text("(ARRAY(SELECT transaction_id FROM transaction_splits WHERE household_id = :p_split_household))")
            return t.id == any_(ids.bindparams(bindparam("p_split_household", self._household_id, type_=Integer())))
        return t.id.in_(select(s.transaction_id).where(s.household_id == self._household_id))


Source = Literal["rows", "split", "parts"]


def _tagged(frame: Any) -> Any:
    return frame.outerjoin(
        transaction_tags,
        and_(transaction_tags.c.transaction_id == t.id, transaction_tags.c.household_id == t.household_id),
    )


def _frame(by: Dimension | None, source: Source) -> Any:
    """What one source's rows come from: transactions (every one, or the split ones), or the parts joined to
    their transaction; with the tag rows joined when grouping by tag (a part's own)."""
    if source == "parts":
        frame = transaction_splits.join(transactions, and_(t.id == s.transaction_id, t.household_id == s.household_id))
        if by == "tag":
            tags = transaction_split_tags.c
            frame = frame.outerjoin(
                transaction_split_tags, and_(tags.split_id == s.id, tags.household_id == s.household_id)
            )
        return frame
    return _tagged(transactions) if by == "tag" else transactions


def _key(by: Dimension | None, source: Source) -> ColumnElement[Any]:
    """The raw value grouped by; a part has its own category, derived category and tags."""
    if by is None:
        return cast(null(), String())
    if source == "parts" and by in ("category", "der_category", "tag"):
        return {"category": s.category, "der_category": s.der_category, "tag": transaction_split_tags.c.tag}[by]
    if by == "tag":
        return transaction_tags.c.tag
    column = {"category": t.category, "der_category": t.der_category, "merchant": t.merchant, "account": t.account_id}
    return column[by]


def _bucket_of(dialect: str, bucket: Interval) -> ColumnElement[dt.date]:
    """The first day of the month, ISO week (Monday) or day a transaction's date falls in."""
    if bucket == "day":
        return t.date
    if dialect == "postgresql":
        return cast(func.date_trunc(bucket, cast(t.date, DateTime())), Date())
    modifiers: Sequence[str] = ("start of month",) if bucket == "month" else ("weekday 0", "-6 days")
    return type_coerce(func.date(t.date, *modifiers), Date())
