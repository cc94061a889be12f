"""How many sign-in guesses anyone gets, counted in the database so every worker and replica shares it.

The scheme (docs/RELIABILITY.md, "Sign-in"):

* An attempt is **reserved before MCP_Auth is asked**, one atomic upsert per key, so a hundred concurrent
  guesses cannot get past a budget of five.
* Three keys: the account from this address (5 free attempts), the account from everywhere (20) and the
  address across accounts (50). Past its free attempts a key **waits**, it is never locked: the next
  attempt is allowed after `backoff`, then twice that, up to 15 minutes (429 with Retry-After).
* Only failures count: a successful sign-in gives its reservations back and clears its own
  account-and-address key. It also marks that address as **known** for the account for 30 days, and a
  known address is held to its own key only: an attacker elsewhere who spends the account's wider budget
  delays strangers, never the person who signed in from there before.
* A key that stays quiet for 15 minutes past its last wait is forgotten, and forgotten rows are deleted in
  batches of 1,000 after each answered attempt: nothing is ever wiped wholesale.
"""

from __future__ import annotations

import hashlib
import math
import time
import unicodedata
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from finance_mcp.db.database import Database
from finance_mcp.repositories.signin_attempts import SignInAttemptRepository
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from finance_mcp.services.client_address import source_of

WINDOW_MS = 15 * 60 * 1000
CAP_MS = 15 * 60 * 1000
KNOWN_MS = 30 * 24 * 3600 * 1000
FREE = {"pair": 5, "account": 20, "address": 50}


def account_of(tenant_email: str, username: str) -> str:
    """The account MCP_Auth's `/auth/login-user` checks: the tenant (emails compare without case, and
    compatibility forms fold, so `ACME@Example.com` is not a fresh key) and the case-sensitive username."""
    return f"{unicodedata.normalize('NFKC', tenant_email).casefold()}\n{username}"


def _key(kind: str, *parts: str) -> str:
    return hashlib.sha256("\0".join((kind, *parts)).encode()).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Reservation:
    """The keys one attempt was counted under."""

    pair: str
    known: str
    others: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Wait:
    """The attempt was not made: try again after `seconds`."""

    seconds: int


class SignInThrottle:
    def __init__(self, db: Database, *, backoff_seconds: float) -> None:
        self._units = UnitsOfWork(db)
        self._base_ms = max(1, int(backoff_seconds * 1000))

    async def reserve(self, *, account: str, address: str | None) -> Reservation | Wait:
        """Count this attempt under each of its keys, or under none of them if one must still wait."""
        now = _now_ms()
        source = source_of(address)  # an IPv6 /64 is one source: rotating addresses within it buys nothing
        pair, known = _key("pair", account, source), _key("known", account, source)
        wider = [(_key("account", account), FREE["account"]), (_key("address", source), FREE["address"])]
        async with self._units.read() as uow:
            waits = await uow.sign_in_attempts.waits([pair, known, *(k for k, _ in wider)], now_ms=now)
        keys = [(pair, FREE["pair"])] + ([] if known in waits else wider)
        # A read can only refuse, never grant: under a flood, refusals cost no write (SQLite's writers queue).
        waiting = max(waits.get(key, 0) for key, _ in keys)
        if waiting:
            return Wait(seconds=math.ceil(waiting / 1000))
        return await self._count(keys, pair=pair, known=known, now=now)

    async def _count(self, keys: list[tuple[str, int]], *, pair: str, known: str, now: int) -> Reservation | Wait:
        """The atomic part: each key's upsert counts the attempt only if the key need not wait."""
        granted: list[str] = []
        for key, free in keys:
            async with self._writing() as repo:
                reserved = await repo.reserve(
                    key, now_ms=now, free=free, base_ms=self._base_ms, cap_ms=CAP_MS, window_ms=WINDOW_MS
                )
            if not reserved:
                await self._release(granted)
                async with self._units.read() as uow:
                    wait = await uow.sign_in_attempts.wait_ms(key, now_ms=now)
                return Wait(seconds=max(1, math.ceil(wait / 1000)))
            granted.append(key)
        return Reservation(pair=pair, known=known, others=tuple(granted[1:]))

    async def succeeded(self, reservation: Reservation) -> None:
        async with self._writing() as repo:
            await repo.clear(reservation.pair)
        await self._release(reservation.others)
        async with self._writing() as repo:
            await repo.remember(reservation.known, now_ms=_now_ms(), lifetime_ms=KNOWN_MS)
        await self._purge()  # successes add marker rows too: they also clear a batch of forgotten ones

    async def failed(self) -> None:
        """The attempt stays counted. Each attempt may add rows, so each also deletes a batch of old ones."""
        await self._purge()

    async def _purge(self) -> None:
        async with self._writing() as repo:
            await repo.purge_expired(now_ms=_now_ms())

    async def abandoned(self, reservation: Reservation) -> None:
        """MCP_Auth gave no verdict (down, timeout), so the guesser learnt nothing: give every key back."""
        await self._release((reservation.pair, *reservation.others))

    async def _release(self, keys: tuple[str, ...] | list[str]) -> None:
        for key in keys:
            async with self._writing() as repo:
                await repo.release(key)

    @asynccontextmanager
    async def _writing(self) -> AsyncGenerator[SignInAttemptRepository]:
        """One statement in its own unit of work: no request ever holds two keys' rows at once, so
        concurrent sign-ins cannot deadlock on PostgreSQL."""
        async with self._units.write_statement() as uow:
            yield uow.sign_in_attempts
            await uow.commit()
