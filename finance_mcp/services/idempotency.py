"""Idempotent writes (DESIGN.md §8): a writing tool called with an `idempotency_key` writes at most once.

A keyed call is ONE write transaction: claim the key (`IdempotencyRepository.claim`), run the tool's body on
a `HeldDatabase` (every unit it opens is that transaction), store its result, commit once. A repeat by the
same user with the same key and arguments within `LIFETIME` finds the stored result and writes nothing; other
arguments under a live key are a `Conflict`. A body that fails rolls everything back, claim included, so
nothing is stored and the key is free for a retry. Expired keys are purged at most every `PURGE_EVERY` per
process, inside a keyed call's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Conflict
from finance_mcp.domain.principals import Principal
from finance_mcp.repositories.idempotency import StoredCall
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork

LIFETIME = dt.timedelta(hours=24)
PURGE_EVERY = dt.timedelta(minutes=10)

T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IdempotencyLedger:
    """One per server process (the lifespan's); `clock` lets tests move time."""

    def __init__(self, db: Database, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock
        self._purged_at: dt.datetime | None = None

    async def run(
        self,
        principal: Principal,
        key: str,
        *,
        tool: str,
        request_hash: str,
        body: Callable[[Database], Awaitable[T]],
        stored: Callable[[T], dict[str, Any]],
    ) -> T | StoredCall:
        """`body`'s result, written once; or the first call's `StoredCall` when this is a repeat."""
        now = self._clock()
        async with UnitsOfWork(self._db).write(principal.household_id) as uow:
            await self._purge_if_due(uow, now)
            keys = uow.idempotency_keys(principal.user_id)
            if not await keys.claim(key, tool=tool, request_hash=request_hash, now=now, expires_at=now + LIFETIME):
                found = await keys.find(key)
                await uow.commit()  # the claim changed nothing; a purge that ran here is kept
                return replay(found, key=key, tool=tool, request_hash=request_hash)
            result = await body(uow.held())
            await keys.finish(key, result=stored(result))
            await uow.commit()
        return result

    async def _purge_if_due(self, uow: UnitOfWork, now: dt.datetime) -> None:
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        await uow.expired_idempotency_keys.purge(now=now)


def replay(found: StoredCall | None, *, key: str, tool: str, request_hash: str) -> StoredCall:
    """The stored call when it is this same request; a `Conflict` that says what to do otherwise."""
    if found is None:  # only between another call's claim and its commit, which the claim waits out
        raise Conflict(
            f"A call with idempotency_key {key!r} is still being written; nothing was changed. "
            "Call again in a moment with the same arguments to get its result."
        )
    if found.tool != tool or found.request_hash != request_hash:
        first = "other arguments" if found.tool == tool else f"the tool {found.tool}"
        raise Conflict(
            f"The idempotency_key {key!r} was already used in the last 24 hours with {first}; nothing was "
            "changed. Use a new idempotency_key for a different request, or repeat the first call's exact "
            "arguments to get its result again."
        )
    return found
