"""Transactions of one household. The household is fixed at construction; no query can escape it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from finance_mcp.db.database import Connection
from finance_mcp.db.models import transaction_tags, transactions
from finance_mcp.repositories.ids import storable
from finance_mcp.schemas import TransactionFilter

COLUMNS = (
    transactions.c.id,
    transactions.c.account_id,
    transactions.c.amount,
    transactions.c.date,
    transactions.c.category,
    transactions.c.description,
    transactions.c.merchant,
    transactions.c.location,
    transactions.c.tags,
    transactions.c.der_category,
    transactions.c.der_merchant,
    transactions.c.created_at,
    transactions.c.updated_at,
)
SEARCHED = (
    transactions.c.description,
    transactions.c.merchant,
    transactions.c.category,
    transactions.c.location,
    transactions.c.der_category,
    transactions.c.der_merchant,
)

_BY_ID = (transactions.c.id == bindparam("p_id"), transactions.c.household_id == bindparam("p_household"))
_INSERT = insert(transactions).returning(*COLUMNS, sort_by_parameter_order=True)
_GET = select(*COLUMNS).where(*_BY_ID)
_GET_FOR_UPDATE = _GET.with_for_update()
_DELETE = delete(transactions).where(*_BY_ID).returning(transactions.c.account_id, transactions.c.amount)
_INSERT_TAGS = insert(transaction_tags)
_DELETE_TAGS = delete(transaction_tags).where(
    transaction_tags.c.transaction_id == bindparam("p_id"),
    transaction_tags.c.household_id == bindparam("p_household"),
)


def tag_key(tag: str) -> str:
    """The normalised form tags are stored and matched in."""
    return tag.strip().lower()


def _like_pattern(text: str) -> str:
    """A case-insensitive substring pattern in which `%`, `_` and `\\` are literal."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class TransactionRepository:
    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id

    async def add_many(self, rows: Sequence[dict[str, Any]], *, created_by: int, now: dt.datetime) -> list[RowMapping]:
        """Insert rows (in order) with their tags; return the stored rows in the same order."""
        stamp = {
            "household_id": self._household_id,
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
        }
        params: list[dict[str, Any]] = [{**row, "tags": row.get("tags") or [], **stamp} for row in rows]
        result = await self._conn.execute(_INSERT, params)
        stored = list(result.mappings().all())
        tag_rows = [
            {"transaction_id": row["id"], "tag": tag_key(tag), "household_id": self._household_id}
            for row in stored
            for tag in row["tags"]
        ]
        if tag_rows:
            await self._conn.execute(_INSERT_TAGS, tag_rows)
        return stored

    async def get(self, transaction_id: int, *, for_update: bool = False) -> RowMapping | None:
        if not storable(transaction_id):
            return None
        statement = _GET_FOR_UPDATE if for_update else _GET
        result = await self._conn.execute(statement, {"p_id": transaction_id, "p_household": self._household_id})
        return result.mappings().first()

    async def update(self, transaction_id: int, values: dict[str, Any], *, now: dt.datetime) -> RowMapping:
        statement = (
            update(transactions)
            .where(transactions.c.id == transaction_id, transactions.c.household_id == self._household_id)
            .values(**values, updated_at=now)
            .returning(*COLUMNS)
        )
        row = (await self._conn.execute(statement)).mappings().one()
        if "tags" in values:
            await self._replace_tags(transaction_id, values["tags"])
        return row

    async def _replace_tags(self, transaction_id: int, tags: list[str]) -> None:
        await self._conn.execute(_DELETE_TAGS, {"p_id": transaction_id, "p_household": self._household_id})
        if tags:
            rows = [
                {"transaction_id": transaction_id, "tag": tag_key(t), "household_id": self._household_id} for t in tags
            ]
            await self._conn.execute(_INSERT_TAGS, rows)

    async def delete(self, transaction_id: int) -> tuple[int, Decimal] | None:
        """Delete one transaction; return its (account_id, amount), or None when not found."""
        if not storable(transaction_id):
            return None
        result = await self._conn.execute(_DELETE, {"p_id": transaction_id, "p_household": self._household_id})
        row = result.mappings().first()
        return None if row is None else (int(row["account_id"]), row["amount"])

    async def page(
        self, filters: TransactionFilter, *, limit: int, after: tuple[dt.date, int] | None
    ) -> tuple[list[RowMapping], bool]:
        """Up to `limit` matching rows, newest first, after the keyset position; and whether more follow."""
        conditions = self._conditions(filters)
        if after is not None:
            conditions.append(tuple_(transactions.c.date, transactions.c.id) < tuple_(*after))
        statement = (
            select(*COLUMNS)
            .where(*conditions)
            .order_by(transactions.c.date.desc(), transactions.c.id.desc())
            .limit(limit + 1)
        )
        rows = list((await self._conn.execute(statement)).mappings().all())
        return rows[:limit], len(rows) > limit

    async def count(self, filters: TransactionFilter) -> int:
        statement = select(func.count()).select_from(transactions).where(*self._conditions(filters))
        return int((await self._conn.execute(statement)).scalar_one())

    def _conditions(self, f: TransactionFilter) -> list[ColumnElement[bool]]:
        t = transactions.c
        conditions: list[ColumnElement[bool]] = [t.household_id == self._household_id]
        if f.account_id is not None:
            conditions.append(t.account_id == f.account_id if storable(f.account_id) else false())
        if f.start_date is not None:
            conditions.append(t.date >= f.start_date)
        if f.end_date is not None:
            conditions.append(t.date <= f.end_date)
        for column, value in ((t.category, f.category), (t.der_category, f.der_category)):
            if value is not None:
                conditions.append(func.lower(column) == value.lower())
        for column, value in ((t.merchant, f.merchant), (t.der_merchant, f.der_merchant)):
            if value is not None:
                conditions.append(func.lower(column).like(_like_pattern(value), escape="\\"))
        if f.search is not None:
            pattern = _like_pattern(f.search)
            conditions.append(or_(*(func.lower(c).like(pattern, escape="\\") for c in SEARCHED)))
        if f.min_amount is not None:
            conditions.append(t.amount >= f.min_amount)
        if f.max_amount is not None:
            conditions.append(t.amount <= f.max_amount)
        if f.tags:
            tagged = select(transaction_tags.c.transaction_id).where(
                and_(
                    transaction_tags.c.household_id == self._household_id,
                    transaction_tags.c.tag.in_(sorted({tag_key(tag) for tag in f.tags})),
                )
            )
            conditions.append(t.id.in_(tagged))
        return conditions
