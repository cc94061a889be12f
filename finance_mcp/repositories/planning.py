"""The household's plans: budgets, recurring series and their postings, categorisation rules. Small tables
read and written off the hot path, one household each; every statement is filtered by the household."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, func, insert, not_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from finance_mcp.db.database import Connection, as_dicts
from finance_mcp.db.models import budgets, recurring, recurring_postings, rules, transactions
from finance_mcp.domain.transfers import TRANSFER_CATEGORY
from finance_mcp.repositories.ids import storable


class ScopedTable:
    """Rows of one table in one household: every row read or returned whole (its change-log image)."""

    table: Table
    order: tuple[str, ...] = ("id",)

    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id

    def _mine(self) -> ColumnElement[bool]:
        return self.table.c.household_id == self._household_id

    async def add(self, values: dict[str, Any]) -> dict[str, Any]:
        statement = insert(self.table).values(household_id=self._household_id, **values).returning(*self.table.c)
        return as_dicts(await self._conn.execute(statement))[0]

    async def get(self, row_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
        if not storable(row_id):
            return None
        statement = select(*self.table.c).where(self.table.c.id == row_id, self._mine())
        found = as_dicts(await self._conn.execute(statement.with_for_update() if for_update else statement))
        return found[0] if found else None

    async def list(self, *where: ColumnElement[bool]) -> list[dict[str, Any]]:
        ordered = [self.table.c[name] for name in self.order]
        return as_dicts(await self._conn.execute(select(*self.table.c).where(self._mine(), *where).order_by(*ordered)))

    async def update(self, row_id: int, values: dict[str, Any]) -> dict[str, Any]:
        statement = update(self.table).where(self.table.c.id == row_id, self._mine()).values(**values)
        return as_dicts(await self._conn.execute(statement.returning(*self.table.c)))[0]

    async def delete(self, row_id: int) -> dict[str, Any] | None:
        if not storable(row_id):
            return None
        statement = delete(self.table).where(self.table.c.id == row_id, self._mine()).returning(*self.table.c)
        found = as_dicts(await self._conn.execute(statement))
        return found[0] if found else None


class BudgetRepository(ScopedTable):
    table = budgets
    order = ("category_key", "id")

    async def by_category(self, key: str, *, for_update: bool = False) -> dict[str, Any] | None:
        statement = select(*budgets.c).where(self._mine(), budgets.c.category_key == key)
        found = as_dicts(await self._conn.execute(statement.with_for_update() if for_update else statement))
        return found[0] if found else None


class RuleRepository(ScopedTable):
    table = rules
    order = ("priority", "id")


class RecurringRepository(ScopedTable):
    table = recurring

    async def posted_dates(self, recurring_ids: Sequence[int]) -> dict[int, set[dt.date]]:
        found: dict[int, set[dt.date]] = {rid: set() for rid in recurring_ids}
        if not recurring_ids:
            return found
        p = recurring_postings.c
        statement = select(p.recurring_id, p.due_date).where(
            p.household_id == self._household_id, p.recurring_id.in_(recurring_ids)
        )
        for row in as_dicts(await self._conn.execute(statement)):
            found[int(row["recurring_id"])].add(row["due_date"])
        return found

    async def of_account(self, account_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The account's series and their postings (what deleting the account takes with it)."""
        series = await self.list(recurring.c.account_id == account_id) if storable(account_id) else []
        if not series:
            return [], []
        p = recurring_postings.c
        statement = select(*recurring_postings.c).where(
            p.household_id == self._household_id, p.recurring_id.in_([int(r["id"]) for r in series])
        )
        return series, as_dicts(await self._conn.execute(statement.order_by(p.id)))

    async def postings_of(self, recurring_id: int) -> list[dict[str, Any]]:
        p = recurring_postings.c
        statement = select(*recurring_postings.c).where(
            p.household_id == self._household_id, p.recurring_id == recurring_id
        )
        return as_dicts(await self._conn.execute(statement.order_by(p.id)))

    async def claim(self, recurring_id: int, due_date: dt.date, now: dt.datetime) -> int | None:
        """Mark a due date posted; None when it already is (a concurrent call's insert waits, then finds it)."""
        dialect_insert = pg_insert if self._conn.dialect == "postgresql" else sqlite_insert
        statement = (
            dialect_insert(recurring_postings)
            .values(household_id=self._household_id, recurring_id=recurring_id, due_date=due_date, created_at=now)
            .on_conflict_do_nothing(index_elements=["recurring_id", "due_date"])
            .returning(recurring_postings.c.id)
        )
        found = (await self._conn.execute(statement)).scalar_one_or_none()
        return None if found is None else int(found)

    async def history(self, *, since: dt.date, until: dt.date, max_per_merchant: int) -> list[dict[str, Any]]:
        return await payment_history(
            self._conn, self._household_id, since=since, until=until, max_per_merchant=max_per_merchant
        )

    async def link(self, posting_id: int, transaction_id: int) -> dict[str, Any]:
        p = recurring_postings.c
        statement = (
            update(recurring_postings)
            .where(p.id == posting_id, p.household_id == self._household_id)
            .values(transaction_id=transaction_id)
            .returning(*recurring_postings.c)
        )
        return as_dicts(await self._conn.execute(statement))[0]


async def payment_history(
    conn: Connection, household_id: int, *, since: dt.date, until: dt.date, max_per_merchant: int
) -> list[dict[str, Any]]:
    """(merchant, date, amount, account_id, category) of the transactions with a merchant, transfers left out,
    of merchants with 2 to `max_per_merchant` of them in the window (busier ones are shopping, not bills).

    Raw merchant values, as analytics groups them (the caller folds case): both passes are index-only
    scans of the analytics index, which holds every column read here."""
    t = transactions.c
    window = (
        t.household_id == household_id,
        t.date >= since,
        t.date <= until,
        t.merchant.is_not(None),
        # Same as lower(category) != 'transfer', but lower() runs only for eight-character categories.
        not_(and_(func.length(t.category) == len(TRANSFER_CATEGORY), func.lower(t.category) == TRANSFER_CATEGORY)),
    )
    keys = select(t.merchant).where(*window).group_by(t.merchant).having(func.count().between(2, max_per_merchant))
    statement = select(t.merchant, t.date, t.amount, t.account_id, t.category).where(*window, t.merchant.in_(keys))
    return as_dicts(await conn.execute(statement))
