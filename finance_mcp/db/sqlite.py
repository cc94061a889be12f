"""SQLite: a *sync* SQLAlchemy engine called directly from the event loop. Its indexed statements cost less
than one aiosqlite thread hop (docs/PERFORMANCE.md, "Figures behind the code").
Writers are serialised by an `asyncio.Lock` plus `BEGIN IMMEDIATE` (other processes such as the CLI), so
SQLite never fails a write with "database is locked" under load. Scans run on worker threads (`db/scans.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncGenerator
from typing import Any

from sqlalchemy import Connection as SyncConnection
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import FrozenResult, Result
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable

from finance_mcp.db import scans
from finance_mcp.db.connection import Connection, Database, Params, load_json
from finance_mcp.db.outages import translated_outages
from finance_mcp.db.urls import async_url


class _SyncAdapter(Connection):
    def __init__(self, conn: SyncConnection, *, watch: scans.SqliteWatch | None = None) -> None:
        self._conn = conn
        self._watch = watch  # armed: a scan
        self.dialect = conn.dialect.name
        self.rows_written = 0  # parameter sets of executemany writes: a big batch refreshes the statistics

    async def execute(self, statement: Executable, parameters: Params = None) -> Result[Any]:
        if self._watch is not None:
            # The unit holds this connection alone and awaits each statement: one thread at a time uses it.
            # The rows are fetched there too (`freeze`): SQLite does part of a GROUP BY while rows are
            # fetched, and that part must not run on the event loop either.
            def run() -> FrozenResult[Any]:
                return self._conn.execute(statement, parameters).freeze()  # pyright: ignore[reportArgumentType]

            return (await scans.run_watched(run, self._watch))()
        if isinstance(parameters, list):
            self.rows_written += len(parameters)
        return self._conn.execute(statement, parameters)  # pyright: ignore[reportArgumentType]

    async def commit(self) -> None:
        self._conn.commit()

    def sqlite_driver(self) -> sqlite3.Connection | None:
        driver = self._conn.connection.driver_connection
        return driver if isinstance(driver, sqlite3.Connection) else None


def _unicode_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


# Scans (analytics) at once on SQLite, each holding a pooled connection on a worker thread. Every other
# unit runs start to finish on the event loop without yielding, so it needs one more connection at most:
# the pool is sized so that checking one out never waits (a wait would block the event loop itself).
SQLITE_SCANS = 4
# Planner statistics (issue 11): a write unit of this many rows (a big batch) re-runs ANALYZE; at most this
# often a write unit runs `PRAGMA optimize` (it re-analyzes only tables whose size changed a lot); ANALYZE
# reads about this many rows of each index, so it costs milliseconds on any household.
SQLITE_BIG_WRITE_ROWS = 500
SQLITE_OPTIMIZE_EVERY_SECONDS = 600.0
SQLITE_ANALYSIS_LIMIT = 1000


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, url: str, *, echo: bool = False, scan_timeout: float = scans.SCAN_TIMEOUT_SECONDS) -> None:
        self.engine: Engine = create_engine(
            async_url(url),
            echo=echo,
            json_deserializer=load_json,
            pool_size=SQLITE_SCANS + 2,
            connect_args={"check_same_thread": False, "timeout": 10},
        )
        self._write_lock = asyncio.Lock()
        self._scans = asyncio.Semaphore(SQLITE_SCANS)
        self._scan_timeout = scan_timeout
        self._optimized_at = time.monotonic()
        event.listen(self.engine, "connect", _configure_sqlite_connection)
        event.listen(self.engine, "begin", _begin_sqlite_transaction)
        event.listen(self.engine, "close", _optimize_sqlite_connection)

    @contextlib.asynccontextmanager
    async def connect(
        self, *, write: bool, transaction: bool = True, scan: bool = False
    ) -> AsyncGenerator[Connection, None]:
        # Always a transaction: here it costs no round trip, and BEGIN IMMEDIATE is what orders the writers.
        writing = self._write_lock if write else contextlib.nullcontext()
        async with self._scans if scan else contextlib.nullcontext(), writing, translated_outages():
            with self.engine.connect() as conn:
                conn.execution_options(finance_write=write)
                watch: scans.SqliteWatch | None = conn.connection.info["scan_watch"] if scan else None
                if watch is not None:
                    watch.arm(self._scan_timeout)
                begun = conn.begin()
                try:
                    adapter = _SyncAdapter(conn, watch=watch)
                    yield adapter
                    if write and not begun.is_active:  # committed
                        self._refresh_statistics(conn, rows_written=adapter.rows_written)
                finally:
                    if begun.is_active:
                        begun.rollback()
                    if watch is not None:
                        watch.disarm()

    def _refresh_statistics(self, conn: SyncConnection, *, rows_written: int) -> None:
        """Keep the planner's statistics fresh: a missing or stale picture picks plans that suit a small
        household and are quadratic for a large one. Runs holding the write lock, outside any transaction."""
        now = time.monotonic()
        if rows_written >= SQLITE_BIG_WRITE_ROWS:
            conn.connection.driver_connection.execute("ANALYZE")  # type: ignore[union-attr]
        elif now - self._optimized_at >= SQLITE_OPTIMIZE_EVERY_SECONDS:
            conn.connection.driver_connection.execute("PRAGMA optimize")  # type: ignore[union-attr]
        else:
            return
        self._optimized_at = now

    async def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite_connection(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]  # we emit BEGIN ourselves
    # SQLite's own lower() folds ASCII only; Python's matches PostgreSQL for case-insensitive filters.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.execute(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
    cursor.close()
    scans.install_watch(dbapi_connection, record.info)


def _optimize_sqlite_connection(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """SQLite's advice: `PRAGMA optimize` before a connection closes, so that the tables its queries used
    get statistics when they have none or their size changed a lot."""
    with contextlib.suppress(Exception):  # closing goes on whatever happens here
        dbapi_connection.cursor().execute("PRAGMA optimize")


def _begin_sqlite_transaction(conn: SyncConnection) -> None:
    write = conn.get_execution_options().get("finance_write", True)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
