"""A `Database` whose every unit of work is one transaction the caller already holds.

An idempotent tool call (`server/idempotency.py`) claims its key, runs the tool's body and stores the
result in ONE transaction, so that the claim, the writes and the result commit together or not at all. The
body reaches the database through `Database.connect(...)` as usual; given a `HeldDatabase`, every unit it
opens (read or write, with or without a transaction, a scan or not) is that same connection, and its
`commit()` only says "this unit is done": the holder commits once, at the end.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Result
from sqlalchemy.sql import Executable

from finance_mcp.db.database import Connection, Database, Params


class _HeldConnection(Connection):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect

    async def execute(self, statement: Executable, parameters: Params = None) -> Result[Any]:
        return await self._conn.execute(statement, parameters)

    async def rows(self, statement: Select[*tuple[Any, ...]], parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await self._conn.rows(statement, parameters)

    async def commit(self) -> None:
        """Deferred: the holder commits the whole transaction once."""

    def sqlite_driver(self) -> sqlite3.Connection | None:
        return self._conn.sqlite_driver()


class HeldDatabase(Database):
    def __init__(self, conn: Connection) -> None:
        self._held = _HeldConnection(conn)
        self.dialect = conn.dialect

    @contextlib.asynccontextmanager
    async def connect(
        self, *, write: bool, transaction: bool = True, scan: bool = False
    ) -> AsyncGenerator[Connection, None]:
        yield self._held

    async def dispose(self) -> None:
        """Nothing to do: the holder owns the connection."""
