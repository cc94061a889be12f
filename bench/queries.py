"""Per-call cost of the service layer, in process: SQL statements, database round trips and CPU per call.

    .venv/bin/python -m bench.queries [--only sqlite postgres] [--calls 300]

Runs each hot service call (the same ones the tools call) against a freshly seeded database, counts the
statements and round trips (BEGIN/COMMIT/ROLLBACK included, when they go on the wire) and measures the
CPU per call of the whole in-process path (service + repositories + SQLAlchemy + driver). The MCP SDK,
HTTP and JWT are not in these figures; `make bench` measures those end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import Engine, event

from bench.seed import (
    Seed,
    create_postgres_database,
    drop_postgres_database,
    migrate,
    remove_sqlite_database,
    seed,
    sqlite_database_url,
)
from finance_mcp.db.database import Database, open_database
from finance_mcp.domain.principals import Identity, Role
from finance_mcp.schemas.transactions import TransactionFields, TransactionFilter, TransactionUpdate
from finance_mcp.services import accounts, households, transactions
from finance_mcp.services.households import IdentityService

statements: Counter[str] = Counter()


def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    statements[" ".join(statement.split())[:110]] += 1


def _sent(conn: Any) -> bool:
    """Whether BEGIN/COMMIT/ROLLBACK go on the wire: not in autocommit (SQLAlchemy still fires the events)."""
    return conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT"


def _count_begin(conn: Any) -> None:
    if conn.dialect.name == "postgresql" and _sent(conn):  # on SQLite the product's listener sends BEGIN
        statements["BEGIN"] += 1


def _count_commit(conn: Any) -> None:
    if _sent(conn):
        statements["COMMIT"] += 1


def _count_rollback(conn: Any) -> None:
    if _sent(conn):
        statements["ROLLBACK"] += 1


def install_counters() -> None:
    event.listen(Engine, "before_cursor_execute", _count)
    event.listen(Engine, "begin", _count_begin)
    event.listen(Engine, "commit", _count_commit)
    event.listen(Engine, "rollback", _count_rollback)
    # Reads on PostgreSQL's fast path (`Connection.rows`) go to asyncpg directly, past SQLAlchemy's events.
    original = asyncpg.Connection.fetch

    async def counted_fetch(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        _count(None, None, query)
        return await original(self, query, *args, **kwargs)

    asyncpg.Connection.fetch = counted_fetch  # type: ignore[method-assign]


Call = Callable[[], Awaitable[Any]]


async def calls(db: Database, seeded: Seed, hot_row: int) -> dict[str, Call]:
    ids = IdentityService(db)
    big, hot = seeded.big, seeded.hot

    async def principal_of(h: Any) -> Any:
        return await ids.resolve(Identity(auth_user_id=h.sub, tenant_id=h.tenant, email=h.email, role=Role.OWNER))

    p_big, p_hot = await principal_of(big), await principal_of(hot)
    rng = random.Random(7)
    account = big.account_ids[0]

    def fields() -> TransactionFields:
        return TransactionFields(
            amount=Decimal(rng.randint(-9999, 9999)) / 100, date=dt.date(2026, 3, 1), category="Food"
        )

    async def paging() -> int:
        cursor, pages = None, 0
        while True:
            page = await transactions.list_transactions(
                db,
                p_big,
                TransactionFilter(start_date=dt.date(2025, 6, 1), end_date=dt.date(2025, 6, 30)),
                limit=500,
                cursor=cursor,
            )
            pages += 1
            if not page.next_cursor:
                return pages
            cursor = page.next_cursor

    return {
        "whoami (identity cached)": lambda: _async(households.describe(p_big)),
        "create_transaction": lambda: transactions.record_transaction(db, p_hot, hot.account_ids[0], fields()),
        "list_transactions 50 of 10,000": lambda: transactions.list_transactions(
            db, p_big, TransactionFilter(account_id=account), limit=50
        ),
        "get_account": lambda: accounts.get_account(db, p_big, account),
        "list_accounts (5)": lambda: accounts.list_accounts(db, p_big),
        "get_transaction": lambda: transactions.get_transaction(db, p_big, rng.choice(big.transaction_ids)),
        "update_transaction (amount)": lambda: transactions.update_transaction(
            db, p_hot, hot_row, TransactionUpdate(amount=Decimal(rng.randint(1, 999)))
        ),
        "W4 month by paging (500/page)": paging,
    }


async def _async(value: Any) -> Any:
    return value


async def measure(url: str, n: int) -> list[tuple[str, float, float, Counter[str]]]:
    seeded = await seed(url)
    db = open_database(url)
    try:
        hot_principal = await IdentityService(db).resolve(
            Identity(auth_user_id="1", tenant_id=seeded.hot.tenant, email=seeded.hot.email, role=Role.OWNER)
        )
        created = await transactions.record_transaction(
            db,
            hot_principal,
            seeded.hot.account_ids[0],
            TransactionFields(amount=Decimal("1.00"), date=dt.date(2026, 1, 1), category="x"),
        )
        table: list[tuple[str, float, float, Counter[str]]] = []
        for name, call in (await calls(db, seeded, created.transaction.id)).items():
            for _ in range(5):
                await call()  # warm caches (statement cache, identity cache, pool)
            statements.clear()
            reps = max(5, n // 20) if name.startswith("W4") else n
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for _ in range(reps):
                await call()
            cpu, wall = (time.process_time() - cpu0) / reps, (time.perf_counter() - wall0) / reps
            per_call = Counter({k: round(v / reps, 2) for k, v in statements.items()})
            table.append((name, cpu * 1e6, wall * 1e6, per_call))
        return table
    finally:
        await db.dispose()


def print_table(db: str, table: list[tuple[str, float, float, Counter[str]]]) -> None:
    print(f"\n### {db}: per service call, in process\n")
    print("| call | statements/call (PostgreSQL: round trips) | CPU µs/call | wall µs/call |")
    print("|---|---|---|---|")
    for name, cpu, wall, per_call in table:
        print(f"| {name} | {sum(per_call.values()):g} | {cpu:.0f} | {wall:.0f} |")
    for name, _cpu, _wall, per_call in table:
        print(f"\n{name}:")
        for statement, count in per_call.most_common():
            print(f"  {count:>5g} x {statement}")


async def main_async(args: argparse.Namespace) -> None:
    install_counters()
    for db in args.only:
        url = await create_postgres_database() if db == "postgres" else sqlite_database_url()
        try:
            await asyncio.to_thread(migrate, url)
            print_table(db, await measure(url, args.calls))
        finally:
            if db == "postgres":
                await drop_postgres_database(url)
            else:
                remove_sqlite_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--calls", type=int, default=300)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
