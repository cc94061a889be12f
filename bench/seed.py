"""Benchmark data: a throw-away database, seeded through the product's own services, and the checks.

Households (tenants are prefixed ``bench-``):

* ``big``: 5 accounts; the first holds 10,000 transactions over 2025 (W2 pages it, W3 reads it, W4 sums
  a month of it); the household has exactly 10,000 transactions.
* ``hot``: one account that 16 writers share (W1 hot).
* ``w1-0`` .. ``w1-15``: one account each, one writer each (W1 spread).
* ``hh-0`` .. ``hh-19``: 3 accounts with 200 transactions each (W5, the mixed workload).

The PostgreSQL database is created here and dropped by `drop_database`; no other database is touched.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

from finance_mcp.db.database import Database, open_database
from finance_mcp.db.migrate import upgrade
from finance_mcp.domain.principals import Identity, Role
from finance_mcp.schemas.accounts import AccountCreate
from finance_mcp.schemas.transactions import TransactionFields
from finance_mcp.services import accounts as account_service
from finance_mcp.services import transactions as transaction_service
from finance_mcp.services.households import IdentityService

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_PREFIX = "finance_mcp_bench_"

BIG_ROWS = 10_000
W1_SPREAD = 16
W5_HOUSEHOLDS = 20
W5_ACCOUNTS = 3
W5_ROWS_PER_ACCOUNT = 200
BATCH = 1000

CATEGORIES = [
    "Groceries",
    "Dining",
    "Rent",
    "Utilities",
    "Transport",
    "Fuel",
    "Health",
    "Entertainment",
    "Shopping",
    "Travel",
    "Education",
    "Gifts",
]
MERCHANTS = ["Lidl", "Aldi", "Shell", "Amazon", "Uber", "Netflix", "IKEA", "Pharmacy", "Cafe Nero", "Deutsche Bahn"]


@dataclass
class SeededHousehold:
    key: str
    tenant: str
    sub: str
    email: str
    household_id: int
    account_ids: list[int]
    transaction_ids: list[int] = field(default_factory=list[int])


@dataclass
class Seed:
    database_url: str
    big: SeededHousehold
    hot: SeededHousehold
    spread: list[SeededHousehold]
    mixed: list[SeededHousehold]
    month: str = "2025-06"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for household in [data["big"], data["hot"], *data["spread"], *data["mixed"]]:
            household["transaction_ids"] = len(household["transaction_ids"])  # counts only, in the report
        return data


# --- databases -------------------------------------------------------------------------------------


async def create_postgres_database() -> str:
    name = f"{PG_PREFIX}{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


async def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    if not name.startswith(PG_PREFIX):  # never anything but our own
        raise ValueError(f"refusing to drop {name!r}")
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def sqlite_database_url() -> str:
    directory = Path(tempfile.mkdtemp(prefix="finance-mcp-bench-"))
    return f"sqlite:///{directory / 'bench.db'}"


def remove_sqlite_database(url: str) -> None:
    path = Path(url.removeprefix("sqlite:///"))
    if path.parent.name.startswith("finance-mcp-bench-"):  # only the directory sqlite_database_url made
        shutil.rmtree(path.parent, ignore_errors=True)


def migrate(url: str) -> None:
    upgrade(url)


# --- seeding ---------------------------------------------------------------------------------------


def _fields(rng: random.Random, day: dt.date) -> TransactionFields:
    expense = rng.random() < 0.85
    cents = rng.randint(100, 20_000) if expense else rng.randint(50_000, 300_000)
    return TransactionFields(
        amount=Decimal(-cents if expense else cents) / 100,
        date=day,
        category=rng.choice(CATEGORIES) if expense else "Salary",
        description=f"bench row {rng.randint(1, 10**6)}",
        merchant=rng.choice(MERCHANTS) if expense else "Employer",
        tags=["bench"] if rng.random() < 0.2 else None,
    )


async def _household(
    db: Database, identities: IdentityService, key: str, n_accounts: int, opening: Decimal = Decimal("1000.00")
) -> SeededHousehold:
    tenant, sub, email = f"bench-{key}", "1", f"{key}@bench.example"
    principal = await identities.resolve(Identity(auth_user_id=sub, tenant_id=tenant, email=email, role=Role.OWNER))
    ids: list[int] = []
    for n in range(n_accounts):
        created = await account_service.create_account(
            db,
            principal,
            AccountCreate(name=f"{key} account {n}", account_type="checking", opening_balance=opening),
        )
        ids.append(created.id)
    return SeededHousehold(key, tenant, sub, email, principal.household_id, ids)


async def _fill(
    db: Database,
    identities: IdentityService,
    household: SeededHousehold,
    account_id: int,
    rows: int,
    rng: random.Random,
    *,
    year: int = 2025,
) -> None:
    principal = await identities.resolve(
        Identity(auth_user_id=household.sub, tenant_id=household.tenant, email=household.email, role=Role.OWNER)
    )
    start = dt.date(year, 1, 1)
    days = [start + dt.timedelta(days=rng.randrange(365)) for _ in range(rows)]
    for offset in range(0, rows, BATCH):
        items = [_fields(rng, day) for day in days[offset : offset + BATCH]]
        created = await transaction_service.record_batch(db, principal, account_id, items)
        household.transaction_ids.extend(t.id for t in created.transactions)


async def seed(url: str) -> Seed:
    rng = random.Random(20250601)
    db = open_database(url)
    try:
        identities = IdentityService(db)
        big = await _household(db, identities, "big", 5)
        await _fill(db, identities, big, big.account_ids[0], BIG_ROWS, rng)
        hot = await _household(db, identities, "hot", 1)
        spread = [await _household(db, identities, f"w1-{i}", 1) for i in range(W1_SPREAD)]
        mixed: list[SeededHousehold] = []
        for i in range(W5_HOUSEHOLDS):
            household = await _household(db, identities, f"hh-{i}", W5_ACCOUNTS)
            for account_id in household.account_ids:
                await _fill(db, identities, household, account_id, W5_ROWS_PER_ACCOUNT, rng)
            mixed.append(household)
        if db.dialect == "postgresql":
            await analyze_postgres(url)  # fresh statistics, as a live database would have
        return Seed(url, big, hot, spread, mixed)
    finally:
        await db.dispose()


async def analyze_postgres(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# --- checks ----------------------------------------------------------------------------------------

_LEDGER = text(
    """
    SELECT a.id, a.balance, a.opening_balance, a.transaction_count,
           (SELECT COALESCE(SUM(t.amount), 0) FROM transactions t WHERE t.account_id = a.id) AS total,
           (SELECT COUNT(*) FROM transactions t WHERE t.account_id = a.id) AS n
    FROM accounts a
    """
)


@dataclass
class Ledger:
    """Per account: (rows, balance); and the accounts whose balance is not opening + Σ rows, exactly, or
    whose row counter is not the number of its rows."""

    rows: dict[int, int]
    balances: dict[int, int]  # in cents
    mismatches: list[dict[str, Any]]


def _cents(value: Any, dialect: str) -> int:
    """Raw column values: integer cents on SQLite, exact NUMERIC on PostgreSQL."""
    if dialect == "sqlite":
        return int(value)
    return int(Decimal(value) * 100)


async def ledger(url: str) -> Ledger:
    db = open_database(url)
    try:
        async with db.connect(write=False) as conn:
            result = await conn.execute(_LEDGER)
            raw = [tuple(row) for row in result.all()]
    finally:
        await db.dispose()
    rows: dict[int, int] = {}
    balances: dict[int, int] = {}
    mismatches: list[dict[str, Any]] = []
    for account_id, balance, opening, counter, total, n in raw:
        b, o, t = (_cents(v, db.dialect) for v in (balance, opening, total))
        rows[account_id], balances[account_id] = int(n), b
        if b != o + t or int(counter) != int(n):
            mismatches.append(
                {"account_id": account_id, "balance": b, "opening": o, "sum": t, "counter": counter, "rows": n}
            )
    return Ledger(rows, balances, mismatches)
