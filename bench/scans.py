"""Scans over a large household (issue 11, items 1 and 6): the tag summary before and after the tag-join index.

    .venv/bin/python -m bench.scans [--rows 20000 100000] [--cap 120]

For each size, on SQLite and on PostgreSQL (127.0.0.1:5432, a throw-away database): one household's rows
(one tag each) are loaded through the repositories, then `spending_summary(group_by="tag")` over 2025 is
captured from the service and run

* *after*: the schema as migrated (with `ix_transaction_tags_household_transaction`), through the service;
* *before*: the same statement with that index dropped and, on SQLite, no planner statistics (the old code
  never ran ANALYZE), stopped after `--cap` seconds (SQLite: progress handler; PostgreSQL: statement_timeout).

It prints seconds and, on SQLite, virtual-machine instructions (counted by a progress handler, in thousands).
`seed` is also what `tests/reliability/abuse/test_scans.py` fills households with.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, select

from finance_mcp.db.database import Database, open_database
from finance_mcp.db.migrate import upgrade
from finance_mcp.db.models import accounts
from finance_mcp.domain.principals import Identity, Principal, Role
from finance_mcp.repositories.accounts import AccountRepository
from finance_mcp.repositories.transactions import TransactionRepository
from finance_mcp.schemas.accounts import AccountCreate
from finance_mcp.services import accounts as account_service
from finance_mcp.services import analytics
from finance_mcp.services.households import IdentityService

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
FIRST_DAY = dt.date(2025, 1, 1)
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
TAGS = 20
CHUNK = 5000
CATEGORIES = ("Groceries", "Dining", "Transport", "Shopping", "Utilities", "Health")


async def seed(db: Database, account_id: int, rows: int, *, tags: int = TAGS) -> Decimal:
    """`rows` expenses dated over 2025 in the account's household, each with one of `tags` tags; the
    account's balance and counter move with them. Returns their total spending (positive)."""
    async with db.connect(write=False) as conn:
        statement = select(accounts.c.household_id, accounts.c.created_by).where(accounts.c.id == account_id)
        owner = (await conn.execute(statement)).one()
    now, spent = dt.datetime.now(dt.UTC), Decimal(0)
    for start in range(0, rows, CHUNK):
        batch = [_row(account_id, n, tags) for n in range(start, min(rows, start + CHUNK))]
        total = sum((row["amount"] for row in batch), Decimal(0))
        async with db.connect(write=True) as conn:
            household_id = owner.household_id
            await TransactionRepository(conn, household_id).add_many(batch, created_by=owner.created_by, now=now)
            await AccountRepository(conn, household_id).adjust_balance(account_id, total, rows=len(batch), now=now)
            await conn.commit()
        spent -= total
    return spent


def _row(account_id: int, n: int, tags: int) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "amount": -Decimal(n % 50 + 1),
        "date": FIRST_DAY + dt.timedelta(days=n % 365),
        "category": CATEGORIES[n % len(CATEGORIES)],
        "description": f"purchase number {n}",
        "merchant": f"Shop {n % 300}",
        "location": None,
        "tags": [f"tag{n % tags}"],
        "der_category": None,
        "der_merchant": None,
    }


async def household(db: Database) -> tuple[Principal, int]:
    identity = Identity(auth_user_id="1", tenant_id=f"scan-{uuid.uuid4().hex[:8]}", email=None, role=Role.OWNER)
    principal = await IdentityService(db).resolve(identity)
    data = AccountCreate.model_validate({"name": "Card", "account_type": "credit_card"})
    return principal, (await account_service.create_account(db, principal, data)).id


async def captured_tag_summary(db: Database, principal: Principal) -> tuple[str, Any]:
    """The statement (text and parameters) the service sends for a 2025 tag summary."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "transaction_tags" in statement:
            seen.append((statement, parameters))

    engine = db.engine.sync_engine if hasattr(db.engine, "sync_engine") else db.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await analytics.spending_summary(db, principal, start=YEAR[0], end=YEAR[1], group_by="tag")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen[-1]


def sqlite_run(path: str, sql: str, parameters: Any, *, cap_seconds: float) -> tuple[float, int, bool, list[str]]:
    """(seconds, VM instructions, whether it finished, the query plan) of one statement on a fresh connection."""
    conn = sqlite3.connect(path)
    steps, deadline = [0], time.monotonic() + cap_seconds

    def count() -> int:
        steps[0] += 1000
        return 1 if time.monotonic() > deadline else 0

    try:
        plan = [str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql, parameters)]
        conn.set_progress_handler(count, 1000)
        began = time.perf_counter()
        try:
            conn.execute(sql, parameters).fetchall()
            finished = True
        except sqlite3.OperationalError:
            finished = False
        return time.perf_counter() - began, steps[0], finished, plan
    finally:
        conn.close()


async def measure_sqlite(rows: int, cap: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "scans.db")
        upgrade(f"sqlite:///{path}")
        db = open_database(f"sqlite:///{path}", scan_timeout=cap)
        try:
            principal, account_id = await household(db)
            await seed(db, account_id, rows)
            began = time.perf_counter()
            await analytics.spending_summary(db, principal, start=YEAR[0], end=YEAR[1], group_by="tag")
            service_seconds = time.perf_counter() - began
            sql, parameters = await captured_tag_summary(db, principal)
        finally:
            await db.dispose()
        after = sqlite_run(path, sql, parameters, cap_seconds=cap)
        with sqlite3.connect(path) as conn:  # the old schema, and no statistics (the old code never analyzed)
            conn.execute("DROP INDEX ix_transaction_tags_household_transaction")
            conn.execute("DROP TABLE IF EXISTS sqlite_stat1")
        before = sqlite_run(path, sql, parameters, cap_seconds=cap)
    print(f"sqlite {rows} tag rows: service {service_seconds:.3f} s")
    for label, (seconds, steps, finished, plan) in (("after", after), ("before", before)):
        state = "" if finished else f" (stopped at the {cap:g} s cap)"
        print(f"  {label}: {seconds:.3f} s{state}, {steps // 1000:,} k VM instructions; plan: {' | '.join(plan)}")


async def measure_postgres(rows: int, cap: float) -> None:
    name = f"finance_mcp_bench_scans_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade, f"{PG_SERVER}/{name}")
        db = open_database(f"{PG_SERVER}/{name}", scan_timeout=cap)
        try:
            principal, account_id = await household(db)
            await seed(db, account_id, rows)
            timings = await _service_times(db, principal)
            conn = await asyncpg.connect(f"{PG_SERVER}/{name}")
            try:
                await conn.execute("DROP INDEX ix_transaction_tags_household_transaction")
                before = await _service_times(db, principal, repeats=1)
            finally:
                await conn.close()
        finally:
            await db.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(f"postgresql {rows} tag rows: after {timings}; before (index dropped) {before}")


async def _service_times(db: Database, principal: Principal, repeats: int = 3) -> str:
    times: list[float] = []
    for _ in range(repeats):
        began = time.perf_counter()
        try:
            await analytics.spending_summary(db, principal, start=YEAR[0], end=YEAR[1], group_by="tag")
        except Exception as error:  # the cap is reported, not raised
            return f"stopped: {error.__class__.__name__}"
        times.append(time.perf_counter() - began)
    return ", ".join(f"{seconds:.3f} s" for seconds in times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--cap", type=float, default=120.0)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for rows in args.rows:
        if args.backend in ("sqlite", "both"):
            await measure_sqlite(rows, args.cap)
        if args.backend in ("postgres", "both"):
            await measure_postgres(rows, args.cap)


if __name__ == "__main__":
    asyncio.run(main())
