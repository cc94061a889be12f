"""Sign-in attempts per key (reference: the sign-in throttle in `services/sign_in_throttle.py`).

Each statement here stands on its own and is atomic on both databases: the reservation is one conditional
upsert that counts the attempt and moves the key's backoff forward, or changes nothing and returns no row
when the key must still wait. Concurrent requests, workers and replicas therefore cannot exceed a budget.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, CursorResult, bindparam, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from finance_mcp.db.database import Connection
from finance_mcp.db.models import signin_attempts as _t

PURGE_BATCH = 1000

_NOW = bindparam("p_now", type_=BigInteger)
_EXPIRED = _t.c.expires_ms <= _NOW
# The wait after this attempt: none while free attempts remain, then `base`, doubling up to `cap`.
_NEXT_DELAY = case(
    (_EXPIRED, 0),
    (_t.c.attempts + 1 < bindparam("p_free", type_=BigInteger), 0),
    (_t.c.delay_ms == 0, bindparam("p_base", type_=BigInteger)),
    (_t.c.delay_ms * 2 > bindparam("p_cap", type_=BigInteger), bindparam("p_cap", type_=BigInteger)),
    else_=_t.c.delay_ms * 2,
)
_WINDOW = bindparam("p_window", type_=BigInteger)

_WAIT = select(_t.c.not_before_ms).where(_t.c.key == bindparam("p_key"))
_LIVE = select(_t.c.key, _t.c.not_before_ms).where(
    _t.c.key.in_(bindparam("p_keys", expanding=True)), _t.c.expires_ms > _NOW
)
_RELEASE = update(_t).where(_t.c.key == bindparam("p_key"), _t.c.attempts > 0).values(attempts=_t.c.attempts - 1)
_CLEAR = delete(_t).where(_t.c.key == bindparam("p_key"))


class SignInAttemptRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _insert(self) -> Any:
        return (postgresql if self._conn.dialect == "postgresql" else sqlite).insert(_t)

    async def reserve(self, key: str, *, now_ms: int, free: int, base_ms: int, cap_ms: int, window_ms: int) -> bool:
        """Count one attempt for `key` if it may be made now; False (nothing changed) while it must wait."""
        statement = (
            self._insert()
            .values(key=key, attempts=1, delay_ms=0, not_before_ms=0, expires_ms=_NOW + _WINDOW)
            .on_conflict_do_update(
                index_elements=[_t.c.key],
                set_={
                    "attempts": case((_EXPIRED, 1), else_=_t.c.attempts + 1),
                    "delay_ms": _NEXT_DELAY,
                    # 0 while free attempts remain: requests that began a moment earlier are not refused.
                    "not_before_ms": case((_NEXT_DELAY == 0, 0), else_=_NOW + _NEXT_DELAY),
                    "expires_ms": _NOW + _WINDOW + _NEXT_DELAY,
                },
                where=or_(_EXPIRED, _t.c.not_before_ms <= _NOW),
            )
            .returning(_t.c.attempts)
        )
        params = {"p_now": now_ms, "p_free": free, "p_base": base_ms, "p_cap": cap_ms, "p_window": window_ms}
        return (await self._conn.execute(statement, params)).first() is not None

    async def wait_ms(self, key: str, *, now_ms: int) -> int:
        """How long `key` must still wait (0 if it need not)."""
        not_before = (await self._conn.execute(_WAIT, {"p_key": key})).scalar()
        return max(0, int(not_before) - now_ms) if not_before is not None else 0

    async def release(self, key: str) -> None:
        """Uncount one reserved attempt (it turned out not to be a failure)."""
        await self._conn.execute(_RELEASE, {"p_key": key})

    async def clear(self, key: str) -> None:
        await self._conn.execute(_CLEAR, {"p_key": key})

    async def remember(self, key: str, *, now_ms: int, lifetime_ms: int) -> None:
        """Keep a marker row (no attempts, never waiting) until `now + lifetime`."""
        expires = now_ms + lifetime_ms
        statement = (
            self._insert()
            .values(key=key, attempts=0, delay_ms=0, not_before_ms=0, expires_ms=expires)
            .on_conflict_do_update(index_elements=[_t.c.key], set_={"expires_ms": expires})
        )
        await self._conn.execute(statement)

    async def waits(self, keys: list[str], *, now_ms: int) -> dict[str, int]:
        """The keys that are live (not forgotten), each with how long it must still wait (0: need not)."""
        rows = (await self._conn.execute(_LIVE, {"p_keys": keys, "p_now": now_ms})).mappings()
        return {str(row["key"]): max(0, int(row["not_before_ms"]) - now_ms) for row in rows}

    async def purge_expired(self, *, now_ms: int) -> int:
        """Delete up to `PURGE_BATCH` forgotten keys; rows another request holds are left for next time, so
        concurrent purges never wait on each other (PostgreSQL `SKIP LOCKED`)."""
        expired = select(_t.c.key).where(_t.c.expires_ms < _NOW).limit(PURGE_BATCH)
        if self._conn.dialect == "postgresql":
            expired = expired.with_for_update(skip_locked=True)
        result: CursorResult[Any] = await self._conn.execute(  # type: ignore[assignment]
            delete(_t).where(_t.c.key.in_(expired)), {"p_now": now_ms}
        )
        return result.rowcount
