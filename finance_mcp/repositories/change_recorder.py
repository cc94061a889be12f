"""The change-log recorder every write fills in: a service describes its change (`describe`) and hands over
the images of the rows it touched (`row`, `totals`) from values it already holds; the unit of work flushes
them inside `commit()`, before the database commit, in two statements (the change, then all its rows in one
multi-row INSERT). Images are JSON: money as two-place strings, dates and times in ISO 8601; the row's id
lives beside the image (`row_id`), never inside it. (Reading the log back: `repositories/changes.py`.)
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, text, update

from finance_mcp.db.database import Connection
from finance_mcp.db.models import change_rows, changes
from finance_mcp.domain.money import format_amount
from finance_mcp.domain.principals import Principal

# A move of an account's balance and counters (`balance = balance + delta`): undone by the opposite move,
# so concurrent writes to the same account never block each other's undo.
TOTALS = "account_totals"
_NOT_IMAGED = frozenset({"id", "household_id", "account_balance", "total"})

Image = dict[str, Any]


_AS_IS = frozenset({str, int, bool, list, type(None)})


def encode(value: Any) -> Any:
    if type(value) in _AS_IS:  # most values of most rows: one set lookup (an import images 100,000 rows)
        return value
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    return value


def image(row: Mapping[Any, Any], **more: Any) -> Image:
    """A row's JSON image, without its id (kept as `row_id`) and household (the log's own)."""
    return {name: encode(value) for name, value in {**row, **more}.items() if name not in _NOT_IMAGED}


_INSERT_CHANGE = insert(changes).returning(changes.c.id)
_INSERT_ROWS = insert(change_rows)
_PG_ROWS = text(
    "INSERT INTO change_rows (change_id, seq, household_id, table_name, row_id, before, after) "
    "SELECT :p_change, u.seq, :p_household, u.table_name, u.row_id, CAST(u.before AS JSON), CAST(u.after AS JSON) "
    "FROM unnest(CAST(:p_seq AS INTEGER[]), CAST(:p_table AS TEXT[]), CAST(:p_row AS BIGINT[]), "
    "CAST(:p_before AS TEXT[]), CAST(:p_after AS TEXT[])) AS u(seq, table_name, row_id, before, after)"
)
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
        self._spilled = 0  # rows already written by `spill()`
        self._done = False

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
        self._done = True

    async def spill(self) -> None:
        """Write the change and its rows so far now, inside the unit's transaction, and forget them: a
        large import holds one chunk's images at a time. `flush()` writes the rest at commit."""
        if self.change is None or self._done or not self.rows:
            return
        await self._write(dt.datetime.now(dt.UTC))
        self._spilled += len(self.rows)
        self.rows = []

    async def flush(self, now: dt.datetime | None = None) -> None:
        if self.change is None or self._done:
            return
        await self._write(now or dt.datetime.now(dt.UTC))
        self._done = True
        household, change_id = self._household_id, self.change_id
        if self._undoes is None:
            return
        driver = self._conn.sqlite_driver()
        if driver is not None:
            driver.execute(_SQLITE_UNDONE, (change_id, self._undoes, household))
        else:
            await self._conn.execute(_MARK_UNDONE, {"p_id": self._undoes, "p_household": household, "p_by": change_id})

    async def _write(self, at: dt.datetime) -> None:
        """The change (unless written already) and the rows not yet written."""
        driver = self._conn.sqlite_driver()
        if driver is not None:
            self._write_to_sqlite(driver, at)
            return
        if self.change_id is None:
            result = await self._conn.execute(_INSERT_CHANGE, {**(self.change or {}), "at": at})
            self.change_id = int(result.scalar_one())
        change_id, household, first = self.change_id, self._household_id, self._spilled
        if len(self.rows) > 1:
            # As column arrays, one statement: an executemany would process every value in Python.
            columns = {
                "p_seq": list(range(first, first + len(self.rows))),
                "p_table": [r["table_name"] for r in self.rows],
                "p_row": [r["row_id"] for r in self.rows],
                "p_before": [_json(r["before"]) for r in self.rows],
                "p_after": [_json(r["after"]) for r in self.rows],
            }
            await self._conn.execute(_PG_ROWS, {**columns, "p_change": change_id, "p_household": household})
        elif self.rows:
            params = [
                {**r, "change_id": change_id, "seq": first + i, "household_id": household}
                for i, r in enumerate(self.rows)
            ]
            await self._conn.execute(_INSERT_ROWS, params)

    def _write_to_sqlite(self, driver: sqlite3.Connection, at: dt.datetime) -> None:
        """`_write` on SQLite through its own connection: SQLAlchemy's work per statement cost several times
        the inserts themselves (docs/CHANGE_LOG.md). Values stored as the column types store them: UTC
        timestamps as naive text, JSON as `json.dumps` writes it."""
        if self.change_id is None:
            change = self.change or {}
            stamp = at.astimezone(dt.UTC).strftime(_SQLITE_TIME)
            cursor = driver.execute(_SQLITE_CHANGE, (stamp, *(change[name] for name in _CHANGE_FIELDS)))
            self.change_id = cursor.lastrowid
        change_id, household, first = self.change_id, self._household_id, self._spilled
        rows = [
            (change_id, first + seq, household, r["table_name"], r["row_id"], _json(r["before"]), _json(r["after"]))
            for seq, r in enumerate(self.rows)
        ]
        if rows:
            driver.executemany(_SQLITE_ROWS, rows)


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
