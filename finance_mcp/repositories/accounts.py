"""Accounts of one household. The household is fixed at construction; no query can escape it."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Generator
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, RowMapping, bindparam, delete, func, insert, literal_column, select, update
from sqlalchemy.exc import DBAPIError

from finance_mcp.db.database import Connection
from finance_mcp.db.models import accounts, transaction_splits, transactions
from finance_mcp.db.types import MoneyDelta
from finance_mcp.domain.currencies import WHOLE_ONLY
from finance_mcp.domain.errors import Invalid
from finance_mcp.repositories.ids import storable

COLUMNS = (
    accounts.c.id,
    accounts.c.name,
    accounts.c.account_type,
    accounts.c.currency,
    accounts.c.opening_balance,
    accounts.c.balance,
    accounts.c.created_at,
    accounts.c.updated_at,
)

# Built once: statement construction per call costs more than the query itself
# (docs/PERFORMANCE.md, "Figures behind the code").
_IN_HOUSEHOLD = accounts.c.household_id == bindparam("p_household")
_BY_ID = (accounts.c.id == bindparam("p_account"), _IN_HOUSEHOLD)
_INSERT = insert(accounts).returning(*COLUMNS)
_GET = select(*COLUMNS).where(*_BY_ID)
_LIST = select(*COLUMNS).where(_IN_HOUSEHOLD).order_by(accounts.c.name, accounts.c.id)
_LOCK = select(accounts.c.id).where(*_BY_ID).with_for_update()
_BALANCE = select(accounts.c.balance).where(*_BY_ID)
_TRANSACTION_COUNT = select(accounts.c.transaction_count).where(*_BY_ID)
_ADJUST = (
    update(accounts)
    .where(*_BY_ID)
    .values(
        balance=accounts.c.balance + bindparam("p_delta", type_=MoneyDelta()),
        transaction_count=accounts.c.transaction_count + bindparam("p_rows"),
        stored_bytes=accounts.c.stored_bytes + bindparam("p_bytes"),
        updated_at=bindparam("p_now"),
    )
    .returning(accounts.c.balance)
)
# Our own constant codes, written into the statement once (no parameters to expand on every create).
NOT_WHOLE_ONLY = literal_column(
    f"accounts.currency NOT IN ({', '.join(repr(code) for code in sorted(WHOLE_ONLY))})", Boolean()
)
# A currency without a minor unit (JPY) takes whole amounts only (domain/currencies.py): the same statement,
# moving nothing for such an account, so a create needs no read of the account first.
_ADJUST_FRACTIONAL = _ADJUST.where(NOT_WHOLE_ONLY)
_DELETE_ROWS = (
    delete(transactions)
    .where(
        transactions.c.account_id == bindparam("p_account"),
        transactions.c.household_id == bindparam("p_household"),
    )
    .returning(*transactions.c)
)
_SPLITS_OF_ROWS = (
    select(*(c for c in transaction_splits.c if c.name != "household_id"))
    .where(
        transaction_splits.c.household_id == bindparam("p_household"),
        transaction_splits.c.transaction_id.in_(
            select(transactions.c.id).where(
                transactions.c.account_id == bindparam("p_account"),
                transactions.c.household_id == bindparam("p_household"),
            )
        ),
    )
    .order_by(transaction_splits.c.id)
)
_GET_ALL = select(*accounts.c).where(*_BY_ID)
_DELETE = delete(accounts).where(*_BY_ID).returning(*accounts.c)
_LOCK_ROWS = (
    select(transactions.c.id)
    .where(transactions.c.account_id == bindparam("p_account"), transactions.c.household_id == bindparam("p_household"))
    .with_for_update()
)

NUMERIC_OUT_OF_RANGE = "22003"


@contextlib.contextmanager
def balance_bounds(account_id: int) -> Generator[None]:
    """PostgreSQL refuses a balance beyond Numeric(15, 2) (SQLSTATE 22003): say so in the caller's terms."""
    try:
        yield
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == NUMERIC_OUT_OF_RANGE:
            raise Invalid(
                f"This change would take account {account_id}'s balance beyond the supported size; nothing was changed"
            ) from None
        raise


class AccountRepository:
    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id
        self.deleted_rows: list[tuple[str, dict[str, Any]]] = []

    def _params(self, **values: Any) -> dict[str, Any]:
        return {"p_household": self._household_id, **values}

    async def add(self, *, created_by: int, now: dt.datetime, **values: Any) -> RowMapping:
        row = {**values, "household_id": self._household_id, "created_by": created_by}
        result = await self._conn.execute(_INSERT, {**row, "created_at": now, "updated_at": now})
        return result.mappings().one()

    async def get(self, account_id: int) -> dict[str, Any] | None:
        if not storable(account_id):
            return None
        found = await self._conn.rows(_GET, self._params(p_account=account_id))
        return found[0] if found else None

    async def list(self) -> list[dict[str, Any]]:
        return await self._conn.rows(_LIST, self._params())

    async def lock(self, account_id: int) -> bool:
        """Lock the account row for the rest of the transaction; False when it is not in the household."""
        if not storable(account_id):
            return False
        result = await self._conn.execute(_LOCK, self._params(p_account=account_id))
        return result.first() is not None

    async def balance(self, account_id: int) -> Decimal | None:
        if not storable(account_id):
            return None
        result = await self._conn.execute(_BALANCE, self._params(p_account=account_id))
        return result.scalar_one_or_none()

    async def transaction_count(self, account_id: int) -> int | None:
        """How many transactions the account holds (its row counter); None when it is not in the household."""
        if not storable(account_id):
            return None
        result = await self._conn.execute(_TRANSACTION_COUNT, self._params(p_account=account_id))
        return result.scalar_one_or_none()

    async def adjust_balance(
        self, account_id: int, delta: Decimal, *, rows: int, now: dt.datetime, size: int = 0, whole: bool = True
    ) -> Decimal | None:
        """`balance = balance + delta`, `transaction_count = transaction_count + rows` and `stored_bytes =
        stored_bytes + size` in one atomic statement; None when the account is not found, or when `whole`
        is false (an amount with a fractional part) and the account's currency has no minor unit."""
        if not storable(account_id):
            return None
        params = self._params(p_account=account_id, p_delta=delta, p_rows=rows, p_bytes=size, p_now=now)
        with balance_bounds(account_id):
            result = await self._conn.execute(_ADJUST if whole else _ADJUST_FRACTIONAL, params)
        return result.scalar_one_or_none()

    async def update(self, account_id: int, *, now: dt.datetime, **values: Any) -> RowMapping | None:
        if not storable(account_id):
            return None
        statement = (
            update(accounts)
            .where(accounts.c.id == account_id, accounts.c.household_id == self._household_id)
            .values(**values, updated_at=now)
            .returning(*COLUMNS)
        )
        result = await self._conn.execute(statement)
        return result.mappings().first()

    async def image(self, account_id: int) -> dict[str, Any] | None:
        """Every column of the account (for the change log)."""
        if not storable(account_id):
            return None
        found = (await self._conn.execute(_GET_ALL, self._params(p_account=account_id))).mappings().first()
        return None if found is None else dict(found)

    async def delete(self, account_id: int) -> int | None:
        """Delete the account and its transactions; return how many transactions went, None if not found.
        The rows as they were are kept in `deleted_rows` (the account last) for the change log.

        Locks go transactions first, then the account: the order every other writer uses (a transaction
        update or delete locks its row, then the balance), so the two can never deadlock on PostgreSQL.
        """
        if not storable(account_id):
            return None
        params = self._params(p_account=account_id)
        await self._conn.execute(_LOCK_ROWS, params)
        if not await self.lock(account_id):
            return None
        # The parts of its split transactions go with them (the foreign key): first in the log, so an undo
        # puts them back last.
        parts = [dict(row) for row in (await self._conn.execute(_SPLITS_OF_ROWS, params)).mappings()]
        gone = [dict(row) for row in (await self._conn.execute(_DELETE_ROWS, params)).mappings()]
        account = (await self._conn.execute(_DELETE, params)).mappings().one()
        self.deleted_rows = [
            *(("transaction_splits", row) for row in parts),
            *(("transactions", row) for row in gone),
            ("accounts", dict(account)),
        ]
        return len(gone)

    async def count(self) -> int:
        statement = select(func.count()).select_from(accounts).where(_IN_HOUSEHOLD)
        return int((await self._conn.execute(statement, self._params())).scalar_one())
