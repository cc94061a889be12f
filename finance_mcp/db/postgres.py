"""PostgreSQL: SQLAlchemy's async engine on asyncpg, Core statements, atomic `balance = balance + :d`.

Round trips are what a call costs here, so a unit of work that needs no transaction (`transaction=False`:
one write statement, or reads that need no common snapshot) runs in autocommit with no BEGIN/ROLLBACK, its
reads on the raw-asyncpg path (`db/asyncpg_driver.py`), and a pooled connection is checked for life without
a query (asyncpg sees the server close it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import anyio
from sqlalchemy import Select, event, text
from sqlalchemy.engine import Result
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable

from finance_mcp.db import scans
from finance_mcp.db.asyncpg_driver import fetch_rows
from finance_mcp.db.connection import Connection, Database, Params, load_json
from finance_mcp.db.outages import translated_outages
from finance_mcp.db.urls import async_url

logger = logging.getLogger("finance_mcp.db.database")  # the name operators' log filters know

CONNECT_TIMEOUT_SECONDS = 5


class _AsyncAdapter(Connection):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.dialect = conn.dialect.name

    async def execute(self, statement: Executable, parameters: Params = None) -> Result[Any]:
        return await self._conn.execute(statement, parameters)  # pyright: ignore[reportArgumentType]

    async def commit(self) -> None:
        await self._conn.commit()


class _PostgresScanAdapter(_AsyncAdapter):
    """A scan's statements, each stopped by the server after the `statement_timeout` the unit set."""

    def __init__(self, conn: AsyncConnection, *, seconds: float) -> None:
        super().__init__(conn)
        self._seconds = seconds

    async def execute(self, statement: Executable, parameters: Params = None) -> Result[Any]:
        with scans.postgres_timeouts(self._seconds):
            return await super().execute(statement, parameters)


class _AutocommitAdapter(_AsyncAdapter):
    """Statements commit as they run. A write unit gets one statement: a second would not be atomic with it."""

    def __init__(self, conn: AsyncConnection, *, write: bool) -> None:
        super().__init__(conn)
        self._statements_left = 1 if write else None

    async def execute(self, statement: Executable, parameters: Params = None) -> Result[Any]:
        if self._statements_left is not None:
            if self._statements_left == 0:
                raise RuntimeError("a write unit opened with transaction=False runs exactly one statement")
            self._statements_left -= 1
        return await super().execute(statement, parameters)

    async def commit(self) -> None:
        """Nothing to do: the statement committed when it ran."""

    async def rows(self, statement: Select[*tuple[Any, ...]], parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Reads go straight to the asyncpg connection: SQLAlchemy's async layer (greenlet, result
        processing) costs more than the query itself here (docs/PERFORMANCE.md, "Figures behind the code").
        The values are already what the column types give: NUMERIC(15, 2) as two-place Decimals, UTC
        timestamps, and JSON decoded by the codec SQLAlchemy installs on every connection."""
        if self._statements_left is not None:
            return await super().rows(statement, parameters)  # a write unit counts its one statement
        return await fetch_rows(self._conn, statement, parameters)


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        pgbouncer: bool = False,
        server_settings: Mapping[str, str] | None = None,
        scan_timeout: float = scans.SCAN_TIMEOUT_SECONDS,
    ) -> None:
        self._scan_timeout = scan_timeout
        connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_SECONDS}
        if pgbouncer:
            connect_args |= _PGBOUNCER_CONNECT_ARGS
        if server_settings:
            connect_args["server_settings"] = dict(server_settings)
        # Behind PgBouncer's transaction pooling each autocommit statement may run on another server
        # connection than the one that prepared it, so every unit of work is a real transaction there.
        self._autocommit = not pgbouncer
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            json_deserializer=load_json,
            # No pool_pre_ping: on asyncpg it costs BEGIN + query + ROLLBACK, three round trips per unit of
            # work. `_refuse_closed_connection` catches the connections a restarted server closed, for free.
            # Fail fast when the server is gone, so callers get "unavailable, try again" promptly.
            connect_args=connect_args,
        )
        event.listen(self.engine.sync_engine.pool, "checkout", _refuse_closed_connection)

    @contextlib.asynccontextmanager
    async def connect(
        self, *, write: bool, transaction: bool = True, scan: bool = False
    ) -> AsyncGenerator[Connection, None]:
        # asyncpg never blocks the event loop while PostgreSQL works; a scan gets a transaction for its
        # `SET LOCAL statement_timeout`, whatever `transaction` says.
        if not transaction and not scan and self._autocommit:
            async with translated_outages(), self.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield _AutocommitAdapter(conn, write=write)
            return
        async with translated_outages(), self.engine.connect() as conn:
            begun = await conn.begin()
            try:
                if not scan:
                    yield _AsyncAdapter(conn)
                    return
                await conn.execute(text(scans.statement_timeout_sql(self._scan_timeout)))
                backend = (await conn.get_raw_connection()).driver_connection.get_server_pid()  # pyright: ignore[reportOptionalMemberAccess]
                try:
                    yield _PostgresScanAdapter(conn, seconds=self._scan_timeout)
                except asyncio.CancelledError:
                    with anyio.CancelScope(shield=True):
                        await self._cancel_query(backend)
                    raise
            finally:
                if begun.is_active:
                    # Shielded: a caller that went away still returns the connection to the pool clean.
                    with anyio.CancelScope(shield=True):
                        await begun.rollback()

    async def _cancel_query(self, backend: int) -> None:
        """Stop the statement a cancelled caller left running on `backend`. The driver's own cancel request
        does not go out when the cancel comes from an anyio scope (how the SDK cancels a tool call whose
        client went away), and PostgreSQL would go on working, or waiting on a lock, for nobody."""
        with contextlib.suppress(Exception):  # the statement timeout still ends it
            async with self.engine.connect() as other:
                await other.execute(text("SELECT pg_cancel_backend(:pid)"), {"pid": backend})
        logger.info("a scan was stopped: its caller went away")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _unique_statement_name() -> str:
    return f"__finance_mcp_{uuid.uuid4().hex}__"


# PgBouncer before 1.21 (Debian 12 ships 1.18) keeps no prepared statements across server connections: a
# statement asyncpg cached on one is missing, or another's, on the next. So no statement is cached (asyncpg's
# cache, SQLAlchemy's), and each gets a name no other client uses (measured in docs/DEPLOYMENT.md).
_PGBOUNCER_CONNECT_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": _unique_statement_name,
}


def _refuse_closed_connection(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry, _proxy: Any) -> None:
    """A pooled connection whose server went away (restart, crash, idle kill) is closed on asyncpg's side as
    soon as the event loop saw the socket close; the pool then replaces it instead of failing the call."""
    if dbapi_connection.driver_connection.is_closed():  # type: ignore[attr-defined]
        raise DisconnectionError("connection closed by the server")
