"""One unit of work = one database transaction, scoped to one household. It rolls back unless committed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

from finance_mcp.db.database import Connection, Database
from finance_mcp.repositories.accounts import AccountRepository
from finance_mcp.repositories.analytics import AnalyticsRepository
from finance_mcp.repositories.change_recorder import ChangeRecorder
from finance_mcp.repositories.changes import ChangeRepository
from finance_mcp.repositories.quota_usage import QuotaUsage
from finance_mcp.repositories.transactions import TransactionRepository


class UnitOfWork:
    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self.log = ChangeRecorder(conn, household_id)
        self.changes = ChangeRepository(conn, household_id)
        self.accounts = AccountRepository(conn, household_id)
        self.transactions = TransactionRepository(conn, household_id, log=self.log)
        self.analytics = AnalyticsRepository(conn, household_id)
        self.usage = QuotaUsage(conn, household_id)

    async def commit(self) -> None:
        await self.log.flush()  # the change log, in the same database transaction as the change
        await self._conn.commit()


@contextlib.asynccontextmanager
async def unit_of_work(
    db: Database, household_id: int, *, write: bool, transaction: bool = True, scan: bool = False
) -> AsyncGenerator[UnitOfWork, None]:
    """`transaction=False` (one write statement, or reads needing no snapshot) and `scan=True` (reads of
    many rows, kept off the event loop): see `Database.connect`."""
    async with db.connect(write=write, transaction=transaction, scan=scan) as conn:
        yield UnitOfWork(conn, household_id)
