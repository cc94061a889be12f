"""The change log read back, and images put back into their tables (an undo). Writing it: `change_recorder.py`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    RowMapping,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from finance_mcp.db.database import Connection, as_dicts
from finance_mcp.db.models import (
    accounts,
    budgets,
    change_rows,
    changes,
    recurring,
    recurring_postings,
    rules,
    transaction_splits,
    transactions,
)
from finance_mcp.db.types import Money, UTCDateTime
from finance_mcp.repositories.accounts import balance_bounds
from finance_mcp.repositories.change_recorder import TOTALS, Image

TABLES: dict[str, Table] = {
    "accounts": accounts,
    "transactions": transactions,
    "transaction_splits": transaction_splits,
    "budgets": budgets,
    "recurring": recurring,
    "recurring_postings": recurring_postings,
    "rules": rules,
}
# Rows per statement when many rows are read or put back at once (well within bound-parameter limits).
CHUNK = 500
ENTITY_TABLES = {
    "account": "accounts",
    "transaction": "transactions",
    "budget": "budgets",
    "recurring": "recurring",
    "rule": "rules",
}


def decode(table: Table, picture: Mapping[str, Any]) -> dict[str, Any]:
    """An image's values as the table's columns take them."""
    values: dict[str, Any] = {}
    for name, value in picture.items():
        kind = table.c[name].type
        if value is None:
            values[name] = None
        elif isinstance(kind, Money):
            values[name] = Decimal(value)
        elif isinstance(kind, UTCDateTime):
            values[name] = dt.datetime.fromisoformat(value)
        elif isinstance(kind, Date):
            values[name] = dt.date.fromisoformat(value)
        else:
            values[name] = value
    return values


@dataclass(frozen=True, slots=True)
class LoggedRow:
    seq: int
    table_name: str
    row_id: int
    before: Image | None
    after: Image | None


CHANGE_COLUMNS = (
    changes.c.id,
    changes.c.at,
    changes.c.user_id,
    changes.c.role,
    changes.c.client_id,
    changes.c.api_key_id,
    changes.c.tool,
    changes.c.summary,
    changes.c.entity_type,
    changes.c.entity_id,
    changes.c.undoes_change_id,
    changes.c.undone_by_change_id,
)
ROW_COLUMNS = (
    change_rows.c.change_id,
    change_rows.c.seq,
    change_rows.c.table_name,
    change_rows.c.row_id,
    change_rows.c.before,
    change_rows.c.after,
)


class ChangeRepository:
    """Reading the log back, and putting images back into their tables (an undo)."""

    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id

    async def get(self, change_id: int) -> dict[str, Any] | None:
        statement = select(*CHANGE_COLUMNS).where(
            changes.c.id == change_id, changes.c.household_id == self._household_id
        )
        found = as_dicts(await self._conn.execute(statement))
        return found[0] if found else None

    async def page(
        self,
        *,
        since: dt.datetime | None,
        entity_type: str | None,
        entity_id: int | None,
        before_id: int | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Changes newest first (by id), after the keyset position `before_id`."""
        statement = select(*CHANGE_COLUMNS).where(*self._matching(since, entity_type, entity_id))
        if before_id is not None:
            statement = statement.where(changes.c.id < before_id)
        return as_dicts(await self._conn.execute(statement.order_by(changes.c.id.desc()).limit(limit)))

    async def count(self, *, since: dt.datetime | None, entity_type: str | None, entity_id: int | None) -> int:
        """How many changes `page` would go through, over every page."""
        statement = select(func.count()).select_from(changes).where(*self._matching(since, entity_type, entity_id))
        return int((await self._conn.execute(statement)).scalar_one())

    def _matching(
        self, since: dt.datetime | None, entity_type: str | None, entity_id: int | None
    ) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [changes.c.household_id == self._household_id]
        if since is not None:
            conditions.append(changes.c.at >= since)
        if entity_type is not None and entity_id is None:
            conditions.append(changes.c.entity_type == entity_type)
        if entity_id is not None:
            # Changes about the entity, and those that touched its row (an account deletion, a transaction's).
            entity = changes.c.entity_id == entity_id
            if entity_type is not None:
                entity = and_(entity, changes.c.entity_type == entity_type)
            table = ENTITY_TABLES.get(entity_type or "")
            if table is not None:
                touched = select(change_rows.c.change_id).where(
                    change_rows.c.household_id == self._household_id,
                    change_rows.c.table_name == table,
                    change_rows.c.row_id == entity_id,
                )
                entity = or_(entity, changes.c.id.in_(touched))
            conditions.append(entity)
        return conditions

    async def rows_of(self, change_ids: Sequence[int], *, per_change: int | None = None) -> dict[int, list[LoggedRow]]:
        """The logged rows of these changes in order (the first `per_change` of each, when given)."""
        if not change_ids:
            return {}
        statement = select(*ROW_COLUMNS).where(
            change_rows.c.household_id == self._household_id, change_rows.c.change_id.in_(change_ids)
        )
        if per_change is not None:
            statement = statement.where(change_rows.c.seq < per_change)
        found: dict[int, list[LoggedRow]] = {change_id: [] for change_id in change_ids}
        for r in as_dicts(await self._conn.execute(statement.order_by(change_rows.c.change_id, change_rows.c.seq))):
            found[int(r["change_id"])].append(
                LoggedRow(int(r["seq"]), r["table_name"], int(r["row_id"]), r["before"], r["after"])
            )
        return found

    async def row_counts(self, change_ids: Sequence[int]) -> dict[int, int]:
        if not change_ids:
            return {}
        statement = (
            select(change_rows.c.change_id, func.count().label("n"))
            .where(change_rows.c.household_id == self._household_id, change_rows.c.change_id.in_(change_ids))
            .group_by(change_rows.c.change_id)
        )
        return {int(r["change_id"]): int(r["n"]) for r in as_dicts(await self._conn.execute(statement))}

    async def later_touches(self, tables: Sequence[str], row_id: int, *, after: int) -> list[dict[str, Any]]:
        """The changes after change `after` that touched the row, newest first (an indexed range)."""
        statement = (
            select(changes.c.id, changes.c.summary, changes.c.undoes_change_id, changes.c.undone_by_change_id)
            .distinct()
            .join(change_rows, change_rows.c.change_id == changes.c.id)
            .where(
                change_rows.c.household_id == self._household_id,
                change_rows.c.table_name.in_(tables),
                change_rows.c.row_id == row_id,
                change_rows.c.change_id > after,
            )
            .order_by(changes.c.id.desc())
        )
        return as_dicts(await self._conn.execute(statement))

    async def previous_updated_at(self, account_id: int, *, before: int) -> str | None:
        """The account's `updated_at` as the last change before change `before` left it, if one is logged."""
        statement = (
            select(change_rows.c.table_name, change_rows.c.after)
            .where(
                change_rows.c.household_id == self._household_id,
                or_(change_rows.c.table_name == TOTALS, change_rows.c.table_name == "accounts"),
                change_rows.c.row_id == account_id,
                change_rows.c.change_id < before,
            )
            .order_by(change_rows.c.change_id.desc(), change_rows.c.seq.desc())
            .limit(1)
        )
        found = as_dicts(await self._conn.execute(statement))
        if not found or found[0]["after"] is None:
            return None
        stamp = found[0]["after"].get("updated_at")
        return stamp if isinstance(stamp, str) else None

    async def later_touches_of(
        self, tables: Sequence[str], row_ids: Sequence[int], *, after: int
    ) -> dict[int, list[dict[str, Any]]]:
        """`later_touches` of many rows at once, by row id (rows no later change touched are absent)."""
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for part in _chunks(row_ids):
            statement = (
                select(
                    change_rows.c.row_id,
                    changes.c.id,
                    changes.c.summary,
                    changes.c.undoes_change_id,
                    changes.c.undone_by_change_id,
                )
                .distinct()
                .join(change_rows, change_rows.c.change_id == changes.c.id)
                .where(
                    change_rows.c.household_id == self._household_id,
                    change_rows.c.table_name.in_(tables),
                    change_rows.c.row_id.in_(part),
                    change_rows.c.change_id > after,
                )
            )
            for touch in as_dicts(await self._conn.execute(statement)):
                found[int(touch.pop("row_id"))].append(touch)
        return found

    async def current_of(self, table: str, row_ids: Sequence[int]) -> dict[int, RowMapping]:
        """Many rows as they are now (locked), by id; missing rows are absent."""
        t = TABLES[table]
        found: dict[int, RowMapping] = {}
        for part in _chunks(row_ids):
            statement = select(t).where(t.c.id.in_(part), t.c.household_id == self._household_id).with_for_update()
            found |= {int(row["id"]): row for row in (await self._conn.execute(statement)).mappings()}
        return found

    async def put_back_many(self, table: str, pictures: Sequence[tuple[int, Image]]) -> None:
        """Insert deleted rows again with their ids and every value they had: one multi-row INSERT per
        chunk of rows with the same columns."""
        t = TABLES[table]
        params = [{"id": row_id, "household_id": self._household_id, **decode(t, p)} for row_id, p in pictures]
        for group in _same_columns(params):
            for part in _chunks(group):
                await self._conn.execute(insert(t), list(part))

    async def set_back_many(self, table: str, pictures: Sequence[tuple[int, Image]]) -> None:
        """Set rows back to their images: one executemany UPDATE per group of rows with the same columns."""
        t = TABLES[table]
        pictured = [{f"b_{k}": v for k, v in decode(t, p).items()} | {"b_id": row_id} for row_id, p in pictures]
        for group in _same_columns(pictured):
            columns = [name.removeprefix("b_") for name in group[0] if name != "b_id"]
            statement = (
                update(t)
                .where(t.c.id == bindparam("b_id"), t.c.household_id == self._household_id)
                .values({name: bindparam(f"b_{name}") for name in columns})
            )
            await self._conn.execute(statement, group)

    async def take_out_many(self, table: str, row_ids: Sequence[int]) -> None:
        t = TABLES[table]
        for part in _chunks(row_ids):
            await self._conn.execute(delete(t).where(t.c.id.in_(part), t.c.household_id == self._household_id))

    async def move_totals(
        self, account_id: int, delta: Decimal, *, rows: int, size: int, stamp_if: str, stamp: str | None
    ) -> dict[str, Any] | None:
        """`balance = balance + delta` and the counters likewise, atomically; `updated_at` goes to `stamp`
        only while it still is `stamp_if` (no later write touched the account). None: no such account."""
        moved_at = accounts.c.updated_at
        if stamp is not None:
            moved_at = case(
                (
                    accounts.c.updated_at == dt.datetime.fromisoformat(stamp_if),
                    literal(dt.datetime.fromisoformat(stamp), UTCDateTime()),
                ),
                else_=accounts.c.updated_at,
            )
        statement = (
            update(accounts)
            .where(accounts.c.id == account_id, accounts.c.household_id == self._household_id)
            .values(
                balance=accounts.c.balance + literal(delta, Money()),
                transaction_count=accounts.c.transaction_count + rows,
                stored_bytes=accounts.c.stored_bytes + size,
                updated_at=moved_at,
            )
            .returning(accounts.c.balance, accounts.c.updated_at)
        )
        with balance_bounds(account_id):
            found = (await self._conn.execute(statement)).mappings().first()
        return None if found is None else dict(found)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _same_columns(params: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The rows grouped by their set of columns (an executemany binds the same names in every row)."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in params:
        groups.setdefault(frozenset(row), []).append(row)
    return list(groups.values())
