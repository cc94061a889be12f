"""Scans: statements that may read many rows (analytics, searches), bounded in time and stopped when their
caller goes away (issue 11, items 1 and 6).

* SQLite: a scan's statements run on a worker thread (`in_thread`), so the event loop keeps serving every
  other household meanwhile. SQLite's progress handler (`SqliteWatch`, installed on every connection)
  interrupts a statement past its deadline or once its caller was cancelled: no work goes on for a client
  that left, and the thread is waited for before its connection goes back to the pool.
* PostgreSQL: the unit sets `SET LOCAL statement_timeout`; a cancelled caller makes asyncpg cancel the
  query on the server. A timed-out statement answers SQLSTATE 57014.

Either way the caller gets `TooSlow`, whose message says to narrow the range.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import anyio
from sqlalchemy.exc import DBAPIError, OperationalError

from finance_mcp.domain.errors import TooSlow

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# How long one statement of a scan may run by default (setting SCAN_TIMEOUT_SECONDS).
SCAN_TIMEOUT_SECONDS = 5.0
TOO_SLOW_MESSAGE = (
    "That question reads too many rows to answer within {seconds:g} s, so it was stopped; nothing was changed. "
    "Narrow the range (fewer months, fewer accounts, or a more specific filter or search) and ask again."
)
# SQLite instructions between progress checks: few enough that a stop is prompt, many enough that the Python
# callback stays a negligible share of the scan (figures: docs/PERFORMANCE.md, "Figures behind the code").
PROGRESS_STEPS = 1000
# PostgreSQL's "canceling statement due to statement timeout" (query_canceled).
QUERY_CANCELED = "57014"


def too_slow(seconds: float) -> TooSlow:
    return TooSlow(TOO_SLOW_MESSAGE.format(seconds=seconds))


class SqliteWatch:
    """One SQLite connection's progress handler: while a scan is armed, a non-zero answer interrupts the
    running statement (past its deadline, or once the caller went away); otherwise it lets SQLite go on."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.armed = False
        self.cancelled = False  # set from the event loop while the statement runs on a worker thread
        self.timed_out = False
        self._deadline = 0.0

    def arm(self, seconds: float) -> None:
        self.seconds, self.armed, self.cancelled, self.timed_out = seconds, True, False, False

    def disarm(self) -> None:
        self.armed = False

    def start_statement(self) -> None:
        self._deadline = time.monotonic() + self.seconds

    def __call__(self) -> int:
        if not self.armed:
            return 0
        if self.cancelled:
            return 1
        if time.monotonic() > self._deadline:
            self.timed_out = True
            return 1
        return 0


def install_watch(dbapi_connection: Any, info: dict[Any, Any]) -> None:
    """Give a new SQLite connection its watch (kept in the pool record's `info`)."""
    watch = info["scan_watch"] = SqliteWatch()
    dbapi_connection.set_progress_handler(watch, PROGRESS_STEPS)


async def run_watched(run: Callable[[], _T], watch: SqliteWatch) -> _T:
    """One statement of an armed scan on a worker thread; `TooSlow` past the deadline."""
    watch.start_statement()
    try:
        return await in_thread(run, watch)
    except OperationalError as error:
        if watch.timed_out and isinstance(error.orig, sqlite3.OperationalError):
            raise too_slow(watch.seconds) from None
        raise


async def in_thread(run: Callable[[], _T], watch: SqliteWatch) -> _T:
    """`run()` on a worker thread. If the caller is cancelled meanwhile (the client went away), the
    statement stops at its next progress check, and the thread is waited for: its connection must not go
    back to the pool while the thread still uses it."""
    future = asyncio.get_running_loop().run_in_executor(None, run)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        watch.cancelled = True
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError), anyio.CancelScope(shield=True):
                await asyncio.wait([future])
        logger.info("a scan was stopped: its caller went away")
        raise


@contextlib.contextmanager
def postgres_timeouts(seconds: float) -> Generator[None]:
    """PostgreSQL's statement timeout as `TooSlow`."""
    try:
        yield
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == QUERY_CANCELED:
            raise too_slow(seconds) from None
        raise


def statement_timeout_sql(seconds: float) -> str:
    """`SET LOCAL` takes no bind parameters; the value is an integer built here."""
    return f"SET LOCAL statement_timeout = {max(1, round(seconds * 1000))}"
