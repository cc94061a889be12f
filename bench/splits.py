"""What counting split parts costs analytics (issue 15), on PostgreSQL: a seeded household, the 12-month
spending summaries (by category, by tag) and cash flow through the services, before any split and with 1 % of
the year's rows split in two parts; beside them the plain statement over every row alone, which is what
analytics ran before splits existed.

    nice -n 10 .venv/bin/python bench/splits.py [--rows 1000000] [--repeats 9]

Uses `bench/analytics.py`'s loader (same rows, same mix); its own database, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import Date, cast, null

from bench.analytics import PG_SERVER, admin, load, say
from finance_mcp.db.database import open_database
from finance_mcp.db.migrate import upgrade
from finance_mcp.domain.principals import Identity, Role
from finance_mcp.repositories.analytics import Scope, Slice
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from finance_mcp.services import analytics
from finance_mcp.services.households import IdentityService

PREFIX = "finance_mcp_bench_splits_"
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


async def timed(call: Callable[[], Awaitable[Any]], repeats: int) -> float:
    for _ in range(2):
        await call()
    times: list[float] = []
    for _ in range(repeats):
        began = time.perf_counter()
        await call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


async def split_one_percent(url: str, household_id: int) -> int:
    """Split 1 % of the household's 2025 rows (not transfers) into two parts: 60 % Groceries, the rest Home."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(
            """INSERT INTO transaction_splits (household_id, transaction_id, amount, category, der_category, tags)
               SELECT household_id, id, part.amount, part.category, NULL, '[]'::json
               FROM (SELECT * FROM transactions WHERE household_id = $1 AND date >= '2025-01-01'
                     AND lower(category) <> 'transfer' AND id % 100 = 0) t,
               LATERAL (VALUES (round(t.amount * 0.6, 2), 'Groceries'),
                               (t.amount - round(t.amount * 0.6, 2), 'Home')) AS part(amount, category)""",
            household_id,
        )
        await conn.execute("VACUUM ANALYZE transaction_splits")
        return int(await conn.fetchval("SELECT count(DISTINCT transaction_id) FROM transaction_splits"))
    finally:
        await conn.close()


async def measure(url: str, repeats: int, label: str) -> None:
    db = open_database(url)
    try:
        principal = await IdentityService(db).resolve(
            Identity(auth_user_id="1", tenant_id="bench-main", email=None, role=Role.OWNER)
        )
        start, end = YEAR

        async def plain_rows() -> None:
            """The statement over every row alone (before splits: the whole of it)."""
            async with UnitsOfWork(db).scan(principal.household_id) as uow:
                repository = uow.analytics
                item = Slice(by="category", expenses_only=True)
                statement = repository._sums("rows", Scope(start, end), item, cast(null(), Date()))
                await repository._conn.execute(statement)

        cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("plain statement over every row, by category", plain_rows),
            (
                "spending_summary 12 months by category",
                lambda: analytics.spending_summary(db, principal, start=start, end=end, group_by="category"),
            ),
            (
                "spending_summary 12 months by tag",
                lambda: analytics.spending_summary(db, principal, start=start, end=end, group_by="tag"),
            ),
            ("cash_flow 12 months by month", lambda: analytics.cash_flow(db, principal, start=start, end=end)),
        ]
        say(f"\n{label} (load average {os.getloadavg()[0]:.2f})")
        for name, call in cases:
            say(f"  {name}: p50 {await timed(call, repeats):.1f} ms")
    finally:
        await db.dispose()


async def run(args: argparse.Namespace) -> None:
    name = f"{PREFIX}{uuid.uuid4().hex[:10]}"
    url = f"{PG_SERVER}/{name}"
    await admin(f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade, url)
        await load(url, argparse.Namespace(rows=args.rows, noise_households=0, noise_rows=0))
        await measure(url, args.repeats, f"{args.rows:,} rows, no split")
        db = open_database(url)
        principal = await IdentityService(db).resolve(
            Identity(auth_user_id="1", tenant_id="bench-main", email=None, role=Role.OWNER)
        )
        await db.dispose()
        split = await split_one_percent(url, principal.household_id)
        await measure(url, args.repeats, f"{args.rows:,} rows, {split:,} of them split in two parts")
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        say(f"\ndropped {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=9)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
