"""Idempotency keys of one user in one household (reference: `server/idempotency.py`, DESIGN.md §8).

`claim` is one statement on both databases: it inserts the key's row, or takes over a row whose 24 h are up,
or changes nothing when the key is live. The unique (household, user, key) does the ordering: on PostgreSQL a
second claim of a key another transaction has just inserted waits for that transaction, then sees its row;
on SQLite write transactions run one at a time. So simultaneous calls with one key write once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from finance_mcp.db.database import Connection
from finance_mcp.db.models import idempotency_keys as _t

PURGE_BATCH = 1000

_MINE = (
    (_t.c.household_id == bindparam("p_household"))
    & (_t.c.user_id == bindparam("p_user"))
    & (_t.c.key == bindparam("p_key"))
)
_FIND = select(_t.c.tool, _t.c.request_hash, _t.c.result).where(_MINE)
_FINISH = update(_t).where(_MINE).values(result=bindparam("p_result", type_=_t.c.result.type))


@dataclass(frozen=True)
class StoredCall:
    """A live key's first call: which tool, the hash of its arguments, and what it answered."""

    tool: str
    request_hash: str
    result: dict[str, Any]


class IdempotencyRepository:
    def __init__(self, conn: Connection, household_id: int, *, user_id: int) -> None:
        self._conn = conn
        self._mine = {"p_household": household_id, "p_user": user_id}

    async def claim(self, key: str, *, tool: str, request_hash: str, now: dt.datetime, expires_at: dt.datetime) -> bool:
        """Take `key` for a call about to run (True), or leave it to the live call that holds it (False)."""
        dialect = postgresql if self._conn.dialect == "postgresql" else sqlite
        row = {"tool": tool, "request_hash": request_hash, "result": None, "created_at": now, "expires_at": expires_at}
        statement = dialect.insert(_t).values(
            household_id=self._mine["p_household"], user_id=self._mine["p_user"], key=key, **row
        )
        statement = statement.on_conflict_do_update(
            index_elements=[_t.c.household_id, _t.c.user_id, _t.c.key],
            set_=row,
            where=_t.c.expires_at <= now,  # an expired row not yet purged is free to take
        ).returning(_t.c.id)
        return (await self._conn.execute(statement)).first() is not None

    async def find(self, key: str) -> StoredCall | None:
        found = (await self._conn.execute(_FIND, {**self._mine, "p_key": key})).first()
        if found is None or found.result is None:
            return None
        return StoredCall(tool=found.tool, request_hash=found.request_hash, result=found.result)

    async def finish(self, key: str, *, result: dict[str, Any]) -> None:
        """Store the result of the call that claimed `key` (in the claiming transaction)."""
        await self._conn.execute(_FINISH, {**self._mine, "p_key": key, "p_result": result})


class ExpiredKeys:
    """The keys of every household past their 24 h (household-less: one purge serves them all)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def purge(self, *, now: dt.datetime) -> int:
        """Delete up to `PURGE_BATCH` keys past their 24 h; rows another transaction holds are left for next
        time (PostgreSQL `SKIP LOCKED`). How many went."""
        expired = select(_t.c.id).where(_t.c.expires_at <= bindparam("p_now")).limit(PURGE_BATCH)
        if self._conn.dialect == "postgresql":
            expired = expired.with_for_update(skip_locked=True)
        statement = delete(_t).where(_t.c.id.in_(expired))
        result: CursorResult[Any] = await self._conn.execute(statement, {"p_now": now})  # type: ignore[assignment]
        return result.rowcount
