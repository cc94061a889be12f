"""The change log of one household: the recorder every write fills in, and the reads an undo needs.

A service describes its change (`describe`) and hands over the images of the rows it touched (`row`,
`totals`) from values it already holds; the unit of work flushes them inside `commit()`, before the
database commit, in two statements (the change, then all its rows in one multi-row INSERT). Images are
JSON: money as two-place strings, dates and times in ISO 8601; the row's id lives beside the image
(`row_id`), never inside it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
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
from finance_mcp.db.models import accounts, change_rows, changes, transactions
from finance_mcp.db.types import Money, UTCDateTime
from finance_mcp.domain.money import format_amount
from finance_mcp.domain.principals import Principal
from finance_mcp.repositories.accounts import balance_bounds

# A move of an account's balance and counters (`balance = balance + delta`): undone by the opposite move,
# so concurrent writes to the same account never block each other's undo.
TOTALS = "account_totals"
TABLES: dict[str, Table] = {"accounts": accounts, "transactions": transactions}
ENTITY_TABLES = {"account": "accounts", "transaction": "transactions"}
_NOT_IMAGED = frozenset({"id", "household_id", "account_balance", "total"})

Image = dict[str, Any]


def encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    return value


def image(row: Mapping[Any, Any], **more: Any) -> Image:
    """A row's JSON image, without its id (kept as `row_id`) and household (the log's own)."""
    return {name: encode(value) for name, value in {**row, **more}.items() if name not in _NOT_IMAGED}


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


_INSERT_CHANGE = insert(changes).returning(changes.c.id)
_INSERT_ROWS = insert(change_rows)
_MARK_UNDONE = (
    update(changes)
    .where(changes.c.id == bindparam("p_id"), changes.c.household_id == bindparam("p_household"))
    .values(undone_by_change_id=bindparam("p_by"))
)


def who(principal: Principal) -> dict[str, Any]:
    """The columns of a change that say who made it."""
    return {
        "user_id": principal.user_id,
        "role": principal.role.value,
        "client_id": principal.client_id,
        "api_key_id": principal.api_key_id,
    }


class ChangeRecorder:
    """What one unit of work changed, written by `flush()` (inside `UnitOfWork.commit()`)."""

    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id
        self.change: dict[str, Any] | None = None
        self.rows: list[dict[str, Any]] = []
        self.change_id: int | None = None  # once written
        self._undoes: int | None = None

    def describe(
        self,
        *,
        by: Principal,
        tool: str,
        summary: str,
        entity_type: str,
        entity_id: int | None = None,
        undoes: int | None = None,
    ) -> None:
        self.change = {"tool": tool, "summary": summary[:500], "entity_type": entity_type, "entity_id": entity_id}
        self.change |= who(by) | {"household_id": self._household_id, "undoes_change_id": undoes}
        self._undoes = undoes

    def row(self, table: str, row_id: int, before: Image | None, after: Image | None) -> None:
        self.rows.append({"table_name": table, "row_id": row_id, "before": before, "after": after})

    def totals(self, account_id: int, delta: Decimal, *, rows: int, size: int, now: dt.datetime) -> None:
        """The account's balance moved by `delta`, its row counter by `rows`, its stored bytes by `size`."""
        moved = {"delta": encode(delta), "rows": rows, "bytes": size, "updated_at": encode(now)}
        self.row(TOTALS, account_id, None, moved)

    def written(self, change_id: int) -> None:
        """The change went out with the write's own statement (PostgreSQL's one-statement create)."""
        self.change_id = change_id

    async def flush(self, now: dt.datetime | None = None) -> None:
        if self.change is None or self.change_id is not None:
            return
        at = now or dt.datetime.now(dt.UTC)
        driver = self._conn.sqlite_driver()
        if driver is not None:
            self._flush_to_sqlite(driver, at)
            return
        result = await self._conn.execute(_INSERT_CHANGE, {**self.change, "at": at})
        self.change_id = change_id = int(result.scalar_one())
        household = self._household_id
        if self.rows:
            params = [
                {**r, "change_id": change_id, "seq": i, "household_id": household} for i, r in enumerate(self.rows)
            ]
            await self._conn.execute(_INSERT_ROWS, params)
        if self._undoes is not None:
            await self._conn.execute(_MARK_UNDONE, {"p_id": self._undoes, "p_household": household, "p_by": change_id})

    def _flush_to_sqlite(self, driver: sqlite3.Connection, at: dt.datetime) -> None:
        """`flush` on SQLite through its own connection: SQLAlchemy's work per statement cost several times
        the inserts themselves (docs/CHANGE_LOG.md). Values stored as the column types store them: UTC
        timestamps as naive text, JSON as `json.dumps` writes it."""
        change = self.change or {}
        stamp = at.astimezone(dt.UTC).strftime(_SQLITE_TIME)
        cursor = driver.execute(_SQLITE_CHANGE, (stamp, *(change[name] for name in _CHANGE_FIELDS)))
        self.change_id = change_id = cursor.lastrowid
        household = self._household_id
        rows = [
            (change_id, seq, household, r["table_name"], r["row_id"], _json(r["before"]), _json(r["after"]))
            for seq, r in enumerate(self.rows)
        ]
        if rows:
            driver.executemany(_SQLITE_ROWS, rows)
        if self._undoes is not None:
            driver.execute(_SQLITE_UNDONE, (change_id, self._undoes, household))


def _json(picture: Image | None) -> str | None:
    return None if picture is None else json.dumps(picture)


_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for SQLite DATETIME
_CHANGE_FIELDS = (
    "household_id",
    "user_id",
    "role",
    "client_id",
    "api_key_id",
    "tool",
    "summary",
    "entity_type",
    "entity_id",
    "undoes_change_id",
)
_SQLITE_CHANGE = (
    "INSERT INTO changes (at, household_id, user_id, role, client_id, api_key_id, tool, summary, entity_type, "
    "entity_id, undoes_change_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_ROWS = (
    "INSERT INTO change_rows (change_id, seq, household_id, table_name, row_id, before, after) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_UNDONE = "UPDATE changes SET undone_by_change_id = ? WHERE id = ? AND household_id = ?"


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
        statement = select(*CHANGE_COLUMNS).where(changes.c.household_id == self._household_id)
        if since is not None:
            statement = statement.where(changes.c.at >= since)
        if entity_type is not None and entity_id is None:
            statement = statement.where(changes.c.entity_type == entity_type)
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
            statement = statement.where(entity)
        if before_id is not None:
            statement = statement.where(changes.c.id < before_id)
        return as_dicts(await self._conn.execute(statement.order_by(changes.c.id.desc()).limit(limit)))

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

    async def current(self, table: str, row_id: int) -> RowMapping | None:
        t = TABLES[table]
        statement = select(t).where(t.c.id == row_id, t.c.household_id == self._household_id).with_for_update()
        return (await self._conn.execute(statement)).mappings().first()

    async def put_back(self, table: str, row_id: int, picture: Image) -> None:
        """Insert a deleted row again with its id and every value it had."""
        t = TABLES[table]
        await self._conn.execute(insert(t).values(id=row_id, household_id=self._household_id, **decode(t, picture)))

    async def set_back(self, table: str, row_id: int, picture: Image) -> None:
        t = TABLES[table]
        statement = update(t).where(t.c.id == row_id, t.c.household_id == self._household_id)
        await self._conn.execute(statement.values(**decode(t, picture)))

    async def take_out(self, table: str, row_id: int) -> None:
        t = TABLES[table]
        await self._conn.execute(delete(t).where(t.c.id == row_id, t.c.household_id == self._household_id))

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
