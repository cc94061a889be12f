"""The small interface repositories and services see: a `Database` opens a `Connection` for one unit of work."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.engine import Result
from sqlalchemy.sql import Executable

from finance_mcp.domain.errors import Unavailable

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class Connection(ABC):
    """What repositories see: `await execute(...)` inside an open transaction."""

    dialect: str

    @abstractmethod
    async def execute(self, statement: Executable, parameters: Params = None) -> Result[Any]: ...

    @abstractmethod
    async def commit(self) -> None: ...

    def sqlite_driver(self) -> sqlite3.Connection | None:
        """SQLite's own connection, for the few writes that cannot afford SQLAlchemy's per-statement cost
        (the change log: two inserts on every write); None on other databases."""
        return None

    async def rows(self, statement: Select[*tuple[Any, ...]], parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows of a *prebuilt* SELECT (built once, at module level, with named bind parameters) as
        plain dicts, typed as its columns declare. A database may run these on a faster path."""
        return as_dicts(await self.execute(statement, parameters))


def as_dicts(result: Result[Any]) -> list[dict[str, Any]]:
    """A result's rows as plain dicts: a quarter of the cost of `dict(RowMapping)` on a page of 50."""
    names = list(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result.all()]


class Database(ABC):
    dialect: str

    @abstractmethod
    def connect(
        self, *, write: bool, transaction: bool = True, scan: bool = False
    ) -> contextlib.AbstractAsyncContextManager[Connection]:
        """Open a unit of work: a transaction, rolled back on exit unless `commit()` was awaited.

        `transaction=False` promises that each statement stands on its own: a write unit that runs one
        statement (atomic by itself), or reads that need no common snapshot. A database may then skip the
        transaction (PostgreSQL runs them in autocommit); a second statement in such a write unit is refused.

        `scan=True` says the statements may read many rows (analytics, searches): SQLite then runs them on a
        worker thread, so one long summary does not stall every other call on the event loop. Each statement
        of a scan is stopped after the database's scan timeout (`TooSlow`, "narrow the range"), and as soon
        as its caller goes away (`db/scans.py`).
        """

    @abstractmethod
    async def dispose(self) -> None: ...

    async def ping(self) -> bool:
        try:
            async with self.connect(write=False) as conn:
                await conn.execute(text("SELECT 1"))
        except Unavailable:
            return False
        return True


def load_json(text: str) -> Any:
    """`json.loads`, with the common case (a transaction without tags) answered without parsing."""
    return [] if text == "[]" else json.loads(text)
