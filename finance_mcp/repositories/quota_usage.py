"""What one household holds, for its quotas (finance_mcp/quotas.py). Read only when a quota is on.

`lock()` takes the household's row lock (PostgreSQL; SQLite's writers are serialised already), so that
count-then-insert writers (accounts, API keys, batches) check and write one at a time and cannot overshoot.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select

from finance_mcp.db.database import Connection
from finance_mcp.db.models import accounts, api_keys, households

_LOCK = select(households.c.id).where(households.c.id == bindparam("p_household")).with_for_update()
_ACCOUNTS = select(func.count()).select_from(accounts).where(accounts.c.household_id == bindparam("p_household"))
_TOTALS = select(
    func.coalesce(func.sum(accounts.c.transaction_count), 0).label("held_rows"),
    func.coalesce(func.sum(accounts.c.stored_bytes), 0).label("held_bytes"),
).where(accounts.c.household_id == bindparam("p_household"))
_ACTIVE_KEYS = (
    select(func.count())
    .select_from(api_keys)
    .where(
        api_keys.c.household_id == bindparam("p_household"),
        api_keys.c.revoked_at.is_(None),
        api_keys.c.expires_at > bindparam("p_now"),
    )
)


class QuotaUsage:
    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._params = {"p_household": household_id}

    async def lock(self) -> None:
        await self._conn.execute(_LOCK, self._params)

    async def accounts(self) -> int:
        return int((await self._conn.execute(_ACCOUNTS, self._params)).scalar_one())

    async def totals(self) -> tuple[int, int]:
        """The household's (transactions, estimated stored bytes)."""
        row = (await self._conn.execute(_TOTALS, self._params)).mappings().one()
        return int(row["held_rows"]), int(row["held_bytes"])

    async def active_api_keys(self, *, now: dt.datetime) -> int:
        return int((await self._conn.execute(_ACTIVE_KEYS, {**self._params, "p_now": now})).scalar_one())
