"""Analytics latency on PostgreSQL: 1,000,000 transactions in one household, plus noise households.

    .venv/bin/python bench/analytics.py [--rows 1000000] [--noise-households 4] [--noise-rows 100000]
                                        [--repeats 15] [--timeout 1200]        (or: make bench-analytics)

What it does, all on loopback and bounded by --timeout (the database is dropped whatever happens):

1. creates its own database on 127.0.0.1:5432 (user postgres), migrates it, and loads the rows with COPY:
   five years (2021-2025), interleaved by day with the noise households' rows as a live server would write
   them; every balance = opening + sum; the tag table filled; VACUUM ANALYZE;
2. starts the real server (`python -m finance_mcp serve`) on a free port and, through the MCP SDK client,
   calls every analytics tool, resource and prompt `--repeats` times after two warm-ups; prints p50/p95/min
   (the targets: p50 < 250 ms for a 12-month spending_summary and cash_flow);
3. pages the same 12 months through list_transactions (500 a page) for a sample of pages and prints how long
   an assistant would need to read them all that way;
4. prints EXPLAIN (ANALYZE, BUFFERS) of the two main queries, captured from the service itself;
5. measures the two main calls without and with the analytics index (migration 0002) in alternating rounds,
   with the plans without it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import event

from finance_mcp.cli.dev import mint_token
from finance_mcp.db.database import PostgresDatabase, open_database
from finance_mcp.db.migrate import upgrade
from finance_mcp.domain.principals import Identity, Principal, Role
from finance_mcp.schemas.accounts import AccountCreate
from finance_mcp.services import accounts as account_service
from finance_mcp.services import analytics
from finance_mcp.services.households import IdentityService

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PREFIX = "finance_mcp_bench_analytics_"
FIRST_DAY, LAST_DAY = dt.date(2021, 1, 1), dt.date(2025, 12, 31)
YEAR = {"start_date": "2025-01-01", "end_date": "2025-12-31"}
PAGE = 500
SAMPLE_PAGES = 20
COPY_CHUNK = 50_000
CATEGORIES = [
    ("Groceries", 20), ("Dining", 12), ("Transport", 10), ("Shopping", 10), ("Utilities", 5), ("Rent", 2),
    ("Health", 4), ("Entertainment", 6), ("Travel", 3), ("Fuel", 6), ("Education", 2), ("Gifts", 2),
    ("Subscriptions", 4), ("Insurance", 1), ("Pets", 2), ("Kids", 3), ("Home", 3), ("Fees", 1),
]  # fmt: skip
CATEGORY_NAMES = [name for name, _ in CATEGORIES]
CATEGORY_WEIGHTS = [weight for _, weight in CATEGORIES]
MERCHANTS = [f"Merchant {n:03d}" for n in range(300)]
TAGS = ["family", "work", "trip", "reimbursable", "gift"]
COLUMNS = [
    "household_id", "account_id", "created_by", "amount", "date", "category", "description", "merchant",
    "location", "tags", "der_category", "der_merchant", "created_at", "updated_at",
]  # fmt: skip


def say(text: str = "") -> None:
    print(text, flush=True)


# ---- database and data ---------------------------------------------------------------------------------


async def admin(statement: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres", timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def household(
    identities: IdentityService, db: PostgresDatabase, tenant: str, accounts: int
) -> tuple[Principal, list[int]]:
    principal = await identities.resolve(Identity(auth_user_id="1", tenant_id=tenant, email=None, role=Role.OWNER))
    ids: list[int] = []
    for n in range(accounts):
        kind = "credit_card" if n == accounts - 1 else "checking"
        opening = "-1500.00" if kind == "credit_card" else "2500.00"
        data = AccountCreate(name=f"{tenant} {n}", account_type=kind, opening_balance=Decimal(opening))
        ids.append((await account_service.create_account(db, principal, data)).id)
    return principal, ids


def day_rows(rng: random.Random, day: dt.date, owner: tuple[Principal, list[int]], count: int) -> list[tuple[Any, ...]]:
    principal, account_ids = owner
    now = dt.datetime.now(dt.UTC)
    rows: list[tuple[Any, ...]] = []
    categories = rng.choices(CATEGORY_NAMES, CATEGORY_WEIGHTS, k=count)
    for category in categories:
        roll = rng.random()
        if roll < 0.08:
            category, amount = "Salary", Decimal(rng.randint(50_000, 500_000)) / 100
        elif roll < 0.10:
            category, amount = rng.choice(["Transfer", "transfer"]), Decimal(rng.randint(-100_000, 100_000)) / 100
        else:
            amount = Decimal(-rng.randint(100, 50_000)) / 100
        tags = rng.sample(TAGS, rng.randint(1, 2)) if rng.random() < 0.2 else []
        merchant = rng.choice(MERCHANTS) if rng.random() < 0.9 else None
        der = category if rng.random() < 0.7 else None
        rows.append(
            (principal.household_id, rng.choice(account_ids), principal.user_id, amount, day, category,
             f"bench {category.lower()} {rng.randint(1, 99999)}", merchant, None, json.dumps(tags), der,
             merchant, now, now)
        )  # fmt: skip
    return rows


# Recurring bills in the measured household, among its 300 busy merchants: (merchant, amount, days apart or
# None for monthly on `day`, day of the month).
SUBSCRIPTIONS: list[tuple[str, str, int | None, int]] = [
    ("Streamflix", "-15.99", None, 7), ("Songbox", "-9.99", None, 31), ("Cloud Drive", "-2.99", None, 15),
    ("City Gym", "-40.00", None, 3), ("Power Co", "-85.00", None, 20), ("Water Board", "-32.50", None, 12),
    ("Phone Plan", "-25.00", None, 28), ("Landlord", "-1450.00", None, 1), ("News Daily", "-4.50", 7, 0),
    ("Cleaner", "-60.00", 14, 0), ("Car Insurance", "-410.00", 365, 0), ("Payroll Inc", "3200.00", None, 25),
]  # fmt: skip


def subscription_rows(rng: random.Random, owner: tuple[Principal, list[int]]) -> list[tuple[Any, ...]]:
    principal, account_ids = owner
    now = dt.datetime.now(dt.UTC)
    rows: list[tuple[Any, ...]] = []
    for merchant, amount, every, day in SUBSCRIPTIONS:
        dates: list[dt.date] = []
        if every is None:
            for index in range((LAST_DAY.year - FIRST_DAY.year + 1) * 12):
                year, month = FIRST_DAY.year + index // 12, index % 12 + 1
                last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
                dates.append(dt.date(year, month, min(day, last)) + dt.timedelta(days=rng.randint(-1, 1)))
        else:
            dates = [FIRST_DAY + dt.timedelta(days=every * n + rng.randint(-1, 1)) for n in range(1830 // every)]
        for when in dates:
            if FIRST_DAY <= when <= LAST_DAY:
                rows.append(
                    (principal.household_id, account_ids[0], principal.user_id, Decimal(amount), when, "Bills",
                     "bench bill", merchant, None, "[]", None, merchant, now, now)
                )  # fmt: skip
    return rows


async def load(url: str, args: argparse.Namespace) -> str:
    """Households, accounts and rows; returns the main household's tenant."""
    db = open_database(url)
    assert isinstance(db, PostgresDatabase)
    identities = IdentityService(db)
    main = await household(identities, db, "bench-main", 4)
    noise = [await household(identities, db, f"bench-noise-{n}", 2) for n in range(args.noise_households)]
    await db.dispose()
    days = (LAST_DAY - FIRST_DAY).days + 1
    rng = random.Random(20251231)
    conn = await asyncpg.connect(url, timeout=10)
    began = time.perf_counter()
    try:
        pending: list[tuple[Any, ...]] = []
        written = 0
        for offset in range(days):
            day = FIRST_DAY + dt.timedelta(days=offset)
            share = (offset + 1) * args.rows // days - offset * args.rows // days
            pending += day_rows(rng, day, main, share)
            for owner in noise:
                per_day = (offset + 1) * args.noise_rows // days - offset * args.noise_rows // days
                pending += day_rows(rng, day, owner, per_day)
            if len(pending) >= COPY_CHUNK or offset == days - 1:
                rng.shuffle(pending)
                await conn.copy_records_to_table("transactions", records=pending, columns=COLUMNS)
                written += len(pending)
                pending = []
        say(f"loaded {written:,} rows with COPY in {time.perf_counter() - began:.1f} s")
        bills = subscription_rows(rng, main)
        await conn.copy_records_to_table("transactions", records=bills, columns=COLUMNS)
        say(f"and {len(bills):,} rows of {len(SUBSCRIPTIONS)} recurring bills (for detect_recurring)")
        await conn.execute(
            """INSERT INTO transaction_tags (transaction_id, tag, household_id)
               SELECT t.id, lower(tag), t.household_id FROM transactions t, json_array_elements_text(t.tags) AS tag"""
        )
        await conn.execute(
            """UPDATE accounts a SET balance = a.opening_balance + s.total
               FROM (SELECT account_id, sum(amount) AS total FROM transactions GROUP BY account_id) s
               WHERE s.account_id = a.id"""
        )
        await conn.execute("VACUUM ANALYZE")
        say(f"tags, balances and VACUUM ANALYZE done at {time.perf_counter() - began:.1f} s")
    finally:
        await conn.close()
    return "bench-main"


# ---- the server and the client -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_server(url: str, secret: str) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secret, "LOG_LEVEL": "WARNING", "HOST": "127.0.0.1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "finance_mcp", "serve", "--host", "127.0.0.1", "--port", str(port),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    async with httpx2.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"{base}/health")).status_code == 200:
                    return process, f"{base}/mcp"
            except httpx2.TransportError:
                pass
            await asyncio.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not become healthy within 30 s")


@asynccontextmanager
async def client_for(mcp_url: str, token: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(120))
    async with http, Client(streamable_http_client(mcp_url, http_client=http)) as client:  # type: ignore[arg-type]
        yield client


async def timed(call: Callable[[], Awaitable[Any]], repeats: int) -> tuple[list[float], Any]:
    result = await call()  # warm-up (plans, caches)
    result = await call()
    times: list[float] = []
    for _ in range(repeats):
        began = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - began) * 1000)
    return times, result


def row(label: str, times: list[float], note: str = "") -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"| {label} | {statistics.median(ordered):.1f} | {p95:.1f} | {ordered[0]:.1f} | {note} |"


MAIN_CASES = 2  # the first two cases carry the targets

CASES: list[tuple[str, str, dict[str, Any]]] = [
        ("spending_summary 12 months by category", "spending_summary", {**YEAR, "group_by": "category"}),
        ("cash_flow 12 months by month", "cash_flow", {**YEAR, "interval": "month"}),
        ("spending_summary 12 months by merchant", "spending_summary", {**YEAR, "group_by": "merchant"}),
        ("spending_summary 12 months by tag", "spending_summary", {**YEAR, "group_by": "tag"}),
        ("spending_summary 12 months by month, with income", "spending_summary",
         {**YEAR, "group_by": "month", "include_income": True}),
        ("cash_flow 12 months by week", "cash_flow", {**YEAR, "interval": "week"}),
        ("cash_flow 12 months by day", "cash_flow", {**YEAR, "interval": "day"}),
        ("cash_flow 5 years by month", "cash_flow", {"start_date": "2021-01-01", "end_date": "2025-12-31"}),
        ("top_merchants 12 months", "top_merchants", {**YEAR, "limit": 10}),
        ("category_trends 12 months", "category_trends", {"months": 12, "end_month": "2025-12"}),
        ("net_worth today", "net_worth", {}),
        ("net_worth 2025-01-01", "net_worth", {"as_of": "2025-01-01"}),
        ("net_worth 12-month history", "net_worth", {"as_of": "2025-12-31", "interval": "month", "periods": 12}),
]  # fmt: skip
# The analytics index (migration 0002), dropped and re-created in turns to measure what it is worth.
TOTALS_INDEX = "ix_transactions_household_date_totals"
CREATE_TOTALS_INDEX = (
    f"CREATE INDEX {TOTALS_INDEX} ON transactions (household_id, date, account_id, amount, category, merchant)"
)
AB_ROUNDS = 3


async def measure_tools(client: Client, repeats: int, cases: list[tuple[str, str, dict[str, Any]]]) -> None:
    async def tool(name: str, **arguments: Any) -> Any:
        result = await client.call_tool(name, arguments)
        if result.is_error:
            raise RuntimeError(f"{name} failed: {result.content}")
        return result.structured_content

    say("| call (through the MCP client) | p50 ms | p95 ms | min ms | answer |")
    say("|---|---|---|---|---|")
    for label, name, arguments in cases:
        times, result = await timed(lambda n=name, a=arguments: tool(n, **a), repeats)
        totals = result.get("totals") or {}
        note = f"spending {totals['spending']}, {totals['count']:,} rows" if totals else ""
        if name == "net_worth":
            note = f"total {result['total']}"
        say(row(label, times, note))


async def measure_resources_and_prompts(client: Client, repeats: int) -> None:
    for label, uri in (("resource monthly report 2025-06", "finance://reports/monthly/2025-06"),
                       ("resource net worth (12 months)", "finance://reports/net-worth")):  # fmt: skip
        times, _ = await timed(lambda u=uri: client.read_resource(u), repeats)
        say(row(label, times))
    prompts: list[tuple[str, str, dict[str, str]]] = [
        ("prompt monthly_review 2025-06", "monthly_review", {"month": "2025-06"}),
        ("prompt categorize_uncategorized 20", "categorize_uncategorized", {"limit": "20"}),
        ("prompt spending_alert Dining 400", "spending_alert", {"category": "Dining", "limit_amount": "400"}),
    ]
    for label, name, arguments in prompts:
        times, _ = await timed(lambda n=name, a=arguments: client.get_prompt(n, a), repeats)
        say(row(label, times))


async def measure_planning(client: Client, repeats: int) -> None:
    """Budgets (one per category, then half of them rolling over from a year before) and detect_recurring."""

    async def tool(name: str, **arguments: Any) -> Any:
        result = await client.call_tool(name, arguments)
        if result.is_error:
            raise RuntimeError(f"{name} failed: {result.content}")
        return result.structured_content

    for name in CATEGORY_NAMES:
        await tool("set_budget", category=name, amount="500", start_month="2025-01")
    times, status = await timed(lambda: tool("budget_status", month="2025-12"), repeats)
    say(
        row(
            "budget_status 2025-12, 18 budgets (target p50 < 30)",
            times,
            f"spent {sum(Decimal(b['spent']) for b in status['budgets'])}",
        )
    )
    for name in CATEGORY_NAMES[::2]:
        await tool("set_budget", category=name, amount="500", start_month="2025-01", rollover=True)
    times, _ = await timed(lambda: tool("budget_status", month="2025-12"), repeats)
    say(row("budget_status 2025-12, 9 of 18 rolling over 11 months", times))
    times, found = await timed(lambda: tool("detect_recurring", months=12, as_of="2025-12-31"), repeats)
    note = f"{len(found['series'])} series, {found['expenses_per_month']} a month out"
    say(row("detect_recurring 12 months (target p50 < 500)", times, note))


async def measure_paging(client: Client) -> None:
    """Reading the same 12 months through list_transactions, as an assistant without analytics would."""
    cursor: str | None = None
    times: list[float] = []
    sizes: list[int] = []
    total = 0
    for _ in range(SAMPLE_PAGES):
        arguments: dict[str, Any] = {**YEAR, "limit": PAGE}
        if cursor:
            arguments["cursor"] = cursor
        began = time.perf_counter()
        result = await client.call_tool("list_transactions", arguments)
        times.append(time.perf_counter() - began)
        page = result.structured_content or {}
        sizes.append(len(json.dumps(page)))
        total, cursor = int(page["total"]), page.get("next_cursor")
        if not cursor:
            break
    pages = -(-total // PAGE)
    per_page = statistics.mean(times)
    megabytes = statistics.mean(sizes) * pages / 1e6
    say(f"list_transactions over the same 12 months: {total:,} rows = {pages:,} pages of {PAGE}")
    p50 = statistics.median(times) * 1000
    say(f"  measured {len(times)} pages: mean {per_page * 1000:.0f} ms, p50 {p50:.0f} ms per page")
    say(f"  all pages: about {per_page * pages:.0f} s of tool calls alone, {megabytes:.0f} MB of JSON")
    say(f"  (~{megabytes * 1e6 / 4 / 1e6:.0f} million tokens for a model to read and add up, before any model time)")


# ---- query plans ---------------------------------------------------------------------------------------


async def explain(url: str, tenant: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements the service really sends for the two main calls."""
    db = open_database(url)
    assert isinstance(db, PostgresDatabase)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "GROUP BY" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        principal = await IdentityService(db).resolve(
            Identity(auth_user_id="1", tenant_id=tenant, email=None, role=Role.OWNER)
        )
        start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
        await analytics.spending_summary(db, principal, start=start, end=end, group_by="category")
        await analytics.cash_flow(db, principal, start=start, end=end, interval="month")
    finally:
        await db.dispose()
    conn = await asyncpg.connect(url, timeout=10)
    try:
        titles = ("spending_summary by category", "cash_flow by month")
        for title, (statement, parameters) in zip(titles, captured, strict=True):
            say(f"\n-- {title}\n{statement}\n-- parameters: {list(parameters)}")
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
            say("\n".join(record[0] for record in plan))
    finally:
        await conn.close()


# ---- main ------------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    name = f"{PREFIX}{uuid.uuid4().hex[:10]}"
    url = f"{PG_SERVER}/{name}"
    secret = secrets.token_urlsafe(48)
    process: asyncio.subprocess.Process | None = None
    await admin(f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade, url)
        tenant = await load(url, args)
        process, mcp_url = await start_server(url, secret)
        token = mint_token(secret, sub="1", tenant=tenant, role="OWNER", ttl_seconds=3600)
        async with client_for(mcp_url, token) as client:
            version = await server_version(url)
            say(f"\n{args.rows:,} rows in the measured household, {args.noise_households} x {args.noise_rows:,} noise;")
            say(f"{args.repeats} timed calls each after 2 warm-ups; PostgreSQL {version}; {os.cpu_count()} CPUs")
            say("load average before: {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
            await measure_tools(client, args.repeats, CASES)
            await measure_resources_and_prompts(client, args.repeats)
            await measure_planning(client, args.repeats)
            say("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            say()
            await measure_paging(client)
            say("\nQuery plans (the schema as migrated):")
            await explain(url, tenant)
            if args.index_comparison:
                await compare_without_index(client, url, tenant, args.repeats)
    finally:
        if process is not None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        say(f"\ndropped {name}")


async def compare_without_index(client: Client, url: str, tenant: str, repeats: int) -> None:
    """The main calls without and with the analytics index, in alternating rounds under the same load."""
    say(f"\nWithout / with {TOTALS_INDEX}, {AB_ROUNDS} alternating rounds of {repeats} calls each:\n")
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(AB_ROUNDS):
        for present in (False, True):
            if present:
                await execute(url, CREATE_TOTALS_INDEX, "VACUUM ANALYZE transactions")
            else:
                await execute(url, f"DROP INDEX {TOTALS_INDEX}")
            for label, name, arguments in CASES[:MAIN_CASES]:
                took, _ = await timed(lambda n=name, a=arguments: client.call_tool(n, a), repeats)
                times.setdefault((label, present), []).extend(took)
    say("| call | index | p50 ms | p95 ms | min ms | |")
    say("|---|---|---|---|---|---|")
    for (label, present), took in times.items():
        say(row(f"{label} | {'with' if present else 'without'}", took))
    await execute(url, f"DROP INDEX {TOTALS_INDEX}")
    say("\nQuery plans without the index:")
    await explain(url, tenant)
    await execute(url, CREATE_TOTALS_INDEX, "VACUUM ANALYZE transactions")


async def execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def server_version(url: str) -> str:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/analytics.py", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--noise-households", type=int, default=4)
    parser.add_argument("--noise-rows", type=int, default=100_000, help="per noise household")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=1200, help="seconds for the whole run")
    parser.add_argument(
        "--no-index-comparison", dest="index_comparison", action="store_false", help="skip the with/without index runs"
    )
    args = parser.parse_args()

    async def bounded() -> None:
        async with asyncio.timeout(args.timeout):
            await run(args)

    asyncio.run(bounded())


if __name__ == "__main__":
    main()
