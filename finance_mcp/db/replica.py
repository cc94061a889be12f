"""Reads from a hot-standby replica, with read-your-writes kept by the primary itself.

The rule: every read-only unit of work (read tools, resources, analytics) goes to the replica; every unit that
writes, and everything inside it, goes to the primary. A write is acknowledged only once the replica has
*applied* it: the primary's sessions run with `synchronous_commit = remote_apply`, which waits for the
standbys named in the primary's `synchronous_standby_names`. So a read that follows an acknowledged write,
by the same caller or any other, on any worker process, sees it: no per-caller stickiness, no shared state
between workers, and no window of N seconds to tune.

Two guards keep the rule true when the set-up is not what it needs:
* the primary must name a synchronous standby (checked at first use, then every `SYNC_CHECK_SECONDS`);
  when it names none, `remote_apply` waits for nobody and reads stay on the primary;
* a replica that cannot be reached sends reads to the primary for `REPLICA_RETRY_SECONDS`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator

from sqlalchemy import text

from finance_mcp.db import scans
from finance_mcp.db.database import Connection, Database, PostgresDatabase, open_database
from finance_mcp.domain.errors import Unavailable

logger = logging.getLogger(__name__)

READ_YOUR_WRITES = {"synchronous_commit": "remote_apply"}
SYNC_CHECK_SECONDS = 30.0
REPLICA_RETRY_SECONDS = 5.0


class ReplicatedDatabase(Database):
    dialect = "postgresql"

    def __init__(self, primary: Database, replica: Database, *, sync_check_seconds: float = SYNC_CHECK_SECONDS) -> None:
        self.primary = primary
        self.replica = replica
        self._sync_check_seconds = sync_check_seconds
        self._synchronous: bool | None = None
        self._checked_at = 0.0
        self._replica_down_until = 0.0

    def connect(
        self, *, write: bool, transaction: bool = True, scan: bool = False
    ) -> contextlib.AbstractAsyncContextManager[Connection]:
        if write:
            return self.primary.connect(write=True, transaction=transaction, scan=scan)
        return self._read(transaction=transaction, scan=scan)

    @contextlib.asynccontextmanager
    async def _read(self, *, transaction: bool, scan: bool) -> AsyncGenerator[Connection, None]:
        async with contextlib.AsyncExitStack() as stack:
            conn: Connection | None = None
            if await self._replica_usable():
                try:
                    conn = await stack.enter_async_context(
                        self.replica.connect(write=False, transaction=transaction, scan=scan)
                    )
                except Unavailable:  # only opening the connection is retried: the body's errors are its own
                    logger.warning("replica unreachable: reads go to the primary for %s s", REPLICA_RETRY_SECONDS)
                    self._replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
            if conn is None:
                conn = await stack.enter_async_context(
                    self.primary.connect(write=False, transaction=transaction, scan=scan)
                )
            yield conn

    async def _replica_usable(self) -> bool:
        now = time.monotonic()
        if now < self._replica_down_until:
            return False
        if self._synchronous is None or now - self._checked_at >= self._sync_check_seconds:
            self._synchronous = await self._primary_names_a_standby()
            self._checked_at = now
        return self._synchronous

    async def _primary_names_a_standby(self) -> bool:
        try:
            async with self.primary.connect(write=False, transaction=False) as conn:
                names = (await conn.execute(text("SELECT current_setting('synchronous_standby_names')"))).scalar()
        except Unavailable:
            return False
        if not names:
            logger.warning(
                "DATABASE_REPLICA_URL is set but the primary names no synchronous standby "
                "(synchronous_standby_names is empty): reads stay on the primary so they see every write"
            )
        return bool(names)

    async def ping(self) -> bool:
        """Healthy when the primary is: reads fall back to it, and writes need it."""
        return await self.primary.ping()

    async def dispose(self) -> None:
        await self.primary.dispose()
        await self.replica.dispose()


def open_routed_database(
    url: str,
    *,
    replica_url: str | None = None,
    pgbouncer: bool = False,
    echo: bool = False,
    scan_timeout: float = scans.SCAN_TIMEOUT_SECONDS,
) -> Database:
    """The database the server uses: `url` alone, or `url` for writes and `replica_url` for reads."""
    if not replica_url:
        return open_database(url, echo=echo, pgbouncer=pgbouncer, scan_timeout=scan_timeout)
    # Through PgBouncer the setting cannot travel as a start-up parameter: set it on the role instead
    # (ALTER ROLE ... SET synchronous_commit = remote_apply; docs/DEPLOYMENT.md).
    settings = None if pgbouncer else READ_YOUR_WRITES
    primary = PostgresDatabase(url, echo=echo, pgbouncer=pgbouncer, server_settings=settings, scan_timeout=scan_timeout)
    return ReplicatedDatabase(
        primary, PostgresDatabase(replica_url, echo=echo, pgbouncer=pgbouncer, scan_timeout=scan_timeout)
    )
