"""Reaching the database: one object per process, one connection and transaction per unit of work.

Two designs behind one small interface, each the faster of those measured in a prototype:

* PostgreSQL: SQLAlchemy's async engine on asyncpg, Core statements, atomic `balance = balance + :d`.
  Round trips are what a call costs here, so a unit of work that needs no transaction (`transaction=False`:
  one write statement, or reads that need no common snapshot) runs in autocommit with no BEGIN/ROLLBACK,
  and a pooled connection is checked for life without a query (asyncpg sees the server close it).
* SQLite: a *sync* SQLAlchemy engine called directly from the event loop. Its indexed statements take
  tens of microseconds, less than one aiosqlite thread hop (117 µs against 456 µs per create in the
  prototype). Writers are serialised by an `asyncio.Lock` plus `BEGIN IMMEDIATE` (other processes
  such as the CLI), so SQLite never fails a write with "database is locked" under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import anyio
import asyncpg  # pyright: ignore[reportMissingTypeStubs]
from sqlalchemy import Connection as SyncConnection
from sqlalchemy import Dialect, Engine, Select, create_engine, event, text
from sqlalchemy.engine import FrozenResult, Result
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable

from finance_mcp.db import scans
from finance_mcp.db.schema import SCHEMA_MESSAGE, is_missing_schema
from finance_mcp.domain.errors import SchemaNotMigrated, Unavailable

logger = logging.getLogger(__name__)

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None

CONNECT_TIMEOUT_SECONDS = 5
UNAVAILABLE_MESSAGE = "The finance database is unavailable right now; nothing was changed. Try again shortly."


def async_url(url: str) -> str:
    """Map plain `sqlite:///` and `postgresql://` URLs to the drivers this server uses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    base = scheme.split("+", 1)[0]
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{_hosts_as_query(rest)}"
    if base == "sqlite":
        return f"sqlite://{rest}"
    raise ValueError(f"unsupported database URL scheme {scheme!r}")


def _hosts_as_query(rest: str) -> str:
    """libpq's multi-host form `user@h1:p1,h2:p2/db?...` as SQLAlchemy's `user@/db?host=h1:p1&host=h2:p2&...`
    (SQLAlchemy cannot parse the first; asyncpg tries the hosts in order, honouring target_session_attrs)."""
    netloc, _, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if "," not in hosts:
        return rest
    path, _, query = tail.partition("?")
    listed = "&".join(f"host={_with_port(host)}" for host in hosts.split(","))
    return f"{userinfo}{at}/{path}?{listed}" + (f"&{query}" if query else "")


def _with_port(host: str) -> str:
    """SQLAlchemy needs every host of a multi-host URL to name its port; libpq's default is 5432."""
    return host if ":" in host.rsplit("]", 1)[-1] else f"{host}:5432"


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


# SQLSTATEs that mean "the server cannot serve right now": connection exceptions (08); the server shutting
# down, crashing, starting up or recovering (57P01-57P05); too many connections (53300). asyncpg raises these
# as plain DBAPI errors, not OperationalError, so a restarting PostgreSQL used to surface as an internal error.
_OUTAGE_SQLSTATES = ("08", "57P", "53300")


# asyncpg's own errors that mean the connection is gone or its protocol state is lost (e.g. the server's
# "terminating connection" arriving in the middle of a query): only the `rows()` fast path sees them.
_DRIVER_OUTAGES = (asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresConnectionError)


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, (OperationalError, InterfaceError, OSError, ConnectionError, *_DRIVER_OUTAGES)):
        return True
    if isinstance(error, asyncpg.PostgresError):  # raised by the driver itself on the `rows()` fast path
        sqlstate = getattr(error, "sqlstate", None)
        return isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES)
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    return error.connection_invalidated or (isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES))


@contextlib.asynccontextmanager
async def _translated_outages() -> AsyncGenerator[None, None]:
    try:
        yield
    except (DBAPIError, OSError, ConnectionError, asyncpg.PostgresError, *_DRIVER_OUTAGES) as error:
        if is_missing_schema(error):  # not an outage: retrying cannot help, migrating does
            logger.warning(
                "the database lacks a table or column (run finance-mcp migrate): %s", getattr(error, "orig", error)
            )
            raise SchemaNotMigrated(SCHEMA_MESSAGE) from error
        if not _is_outage(error):
            raise
        logger.warning("database unavailable: %s", error.__class__.__name__, exc_info=True)
        raise Unavailable(UNAVAILABLE_MESSAGE) from error


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
        processing) costs more than the query itself here (get_account 289 -> 165 µs CPU in process).
        The values are already what the column types give: NUMERIC(15, 2) as two-place Decimals, UTC
        timestamps, and JSON decoded by the codec SQLAlchemy installs on every connection."""
        if self._statements_left is not None:
            return await super().rows(statement, parameters)  # a write unit counts its one statement
        sql, names = _driver_sql(statement, self._conn.dialect)
        driver = (await self._conn.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            records = await driver.fetch(sql, *(parameters[name] for name in names))
        except Exception as error:
            if _is_outage(error) or driver.is_closed():
                await self._conn.invalidate()  # the pool must not hand this connection out again
            raise
        return [dict(record) for record in records]


_DRIVER_SQL: dict[Select[*tuple[Any, ...]], tuple[str, tuple[str, ...]]] = {}


def _driver_sql(statement: Select[*tuple[Any, ...]], dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """A prebuilt statement's PostgreSQL text and the order of its parameters, compiled once."""
    found = _DRIVER_SQL.get(statement)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        if compiled.binds and any(b.type._cached_bind_processor(dialect) for b in compiled.binds.values()):  # pyright: ignore[reportPrivateUsage]
            raise ValueError("Connection.rows() takes statements whose parameters need no conversion")
        found = _DRIVER_SQL[statement] = (str(compiled), tuple(compiled.positiontup or ()))
    return found


def _load_json(text: str) -> Any:
    """`json.loads`, with the common case (a transaction without tags) answered without parsing."""
    return [] if text == "[]" else json.loads(text)


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
            json_deserializer=_load_json,
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
        async with self._scans if scan else contextlib.nullcontext(), writing, _translated_outages():
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
            json_deserializer=_load_json,
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
            async with _translated_outages(), self.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield _AutocommitAdapter(conn, write=write)
            return
        async with _translated_outages(), self.engine.connect() as conn:
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


def open_database(
    url: str, *, echo: bool = False, pgbouncer: bool = False, scan_timeout: float = scans.SCAN_TIMEOUT_SECONDS
) -> Database:
    if async_url(url).startswith("sqlite"):
        return SqliteDatabase(url, echo=echo, scan_timeout=scan_timeout)
    return PostgresDatabase(url, echo=echo, pgbouncer=pgbouncer, scan_timeout=scan_timeout)
