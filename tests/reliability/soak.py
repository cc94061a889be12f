"""A bounded soak: many concurrent MCP clients mixing reads and writes against a real multi-worker server on
PostgreSQL, then a full audit. Loopback only; it stops by itself.

    python -m tests.reliability.soak [--clients 32] [--seconds 60] [--workers 2] [--households 4]

Each household's clients share its accounts, so writers contend on the same balance rows. Every client keeps
a ledger of what the server acknowledged (it only edits or deletes its own transactions). At the end:
zero failed calls, and for every account the server's transactions equal the ledger and its balance equals
the opening balance plus their sum, exactly (no lost update). Prints calls/s and p50/p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mcp import Client

from finance_mcp.db.migrate import upgrade
from tests.conftest import PG_HOST, _pg_admin
from tests.e2e.helpers import text_of
from tests.e2e.servers import RunningServer, drain_output, start_server, stop_server
from tests.reliability.clients import mcp_client

ACCOUNTS_PER_HOUSEHOLD = 3
OPENING = Decimal("10000.00")
# Operation mix: weights out of 100; about 40% writes.
MIX = {
    "list_accounts": 12,
    "get_account": 12,
    "list_transactions": 18,
    "get_transaction": 10,
    "read_resource": 8,
    "create_transaction": 18,
    "create_transactions_batch": 4,
    "update_transaction": 10,
    "delete_transaction": 5,
    "update_account": 3,
}


class CallFailed(Exception):
    pass


@dataclass
class Household:
    tenant: str
    accounts: list[int] = field(default_factory=list)
    # Acknowledged transactions: id -> (account, amount), as the server said when each call returned.
    ledger: dict[int, tuple[int, Decimal]] = field(default_factory=dict)


@dataclass
class Figures:
    clients: int
    workers: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    operations: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    accounts_audited: int = 0
    transactions_audited: int = 0
    lost_updates: int = 0

    @property
    def calls(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else 0.0

    def report(self) -> str:
        writes = sum(n for op, n in self.operations.items() if not op.startswith(("list", "get", "read")))
        return "\n".join(
            [
                f"soak: {self.clients} concurrent MCP clients (protocol 2026-07-28), {self.workers} server workers, "
                f"PostgreSQL, {self.seconds:.1f} s",
                f"calls: {self.calls} ({writes} writes), {self.calls / self.seconds:.1f} calls/s",
                f"latency: p50 {self.percentile(50):.1f} ms, p99 {self.percentile(99):.1f} ms, "
                f"mean {statistics.fmean(self.latencies) * 1000 if self.latencies else 0:.1f} ms",
                f"operations: {dict(sorted(self.operations.items()))}",
                f"failed calls: {len(self.failures)}",
                f"audit: {self.accounts_audited} accounts, {self.transactions_audited} transactions, "
                f"lost updates: {self.lost_updates}",
            ]
        )


class Worker:
    """One MCP client of one household, running random operations until the deadline."""

    def __init__(self, client: Client, household: Household, figures: Figures, rng: random.Random) -> None:
        self.client, self.household, self.figures, self.rng = client, household, figures, rng
        self.mine: list[int] = []

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        result = await self.client.call_tool(tool, arguments)
        self.figures.latencies.append(time.perf_counter() - started)
        self.figures.operations[tool] += 1
        if result.is_error or result.structured_content is None:
            raise CallFailed(f"{tool}: {text_of(result)[:300]}")
        return result.structured_content

    def amount(self) -> Decimal:
        return Decimal(self.rng.randint(-50_000, 30_000)) / 100

    def fields(self) -> dict[str, Any]:
        return {
            "amount": str(self.amount()),
            "date": f"2026-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}",
            "category": self.rng.choice(["Food", "Rent", "Travel", "Salary"]),
            "merchant": self.rng.choice(["Shop", "Cafe", "Rail", None]),
            "tags": self.rng.sample(["a", "b", "c"], self.rng.randint(0, 2)),
        }

    async def run(self, deadline: float) -> None:
        operations, weights = list(MIX), list(MIX.values())
        while time.monotonic() < deadline:
            operation = self.rng.choices(operations, weights)[0]
            try:
                await getattr(self, operation)()
            except Exception as error:  # every failure is counted and reported; none ends the soak
                self.figures.failures.append(f"{operation}: {error!r}"[:400])

    # ---- reads --------------------------------------------------------------------------------------------

    async def list_accounts(self) -> None:
        await self.call("list_accounts", {})

    async def get_account(self) -> None:
        await self.call("get_account", {"account_id": self.rng.choice(self.household.accounts)})

    async def list_transactions(self) -> None:
        filters: dict[str, Any] = self.rng.choice(
            [{}, {"account_id": self.rng.choice(self.household.accounts)}, {"category": "food"}, {"tags": ["a"]}]
        )
        await self.call("list_transactions", {**filters, "limit": 20})

    async def get_transaction(self) -> None:
        if self.mine:
            await self.call("get_transaction", {"transaction_id": self.rng.choice(self.mine)})

    async def read_resource(self) -> None:
        started = time.perf_counter()
        await self.client.read_resource(f"finance://accounts/{self.rng.choice(self.household.accounts)}")
        self.figures.latencies.append(time.perf_counter() - started)
        self.figures.operations["read_resource"] += 1

    # ---- writes -------------------------------------------------------------------------------------------

    async def create_transaction(self) -> None:
        account = self.rng.choice(self.household.accounts)
        made = await self.call("create_transaction", {"account_id": account, **self.fields()})
        self.remember(made["transaction"])

    async def create_transactions_batch(self) -> None:
        account = self.rng.choice(self.household.accounts)
        items = [self.fields() for _ in range(self.rng.randint(2, 20))]
        made = await self.call("create_transactions_batch", {"account_id": account, "transactions": items})
        for row in made["transactions"]:
            self.remember(row)

    async def update_transaction(self) -> None:
        if not self.mine:
            return
        ident = self.rng.choice(self.mine)
        changes: dict[str, Any] = {"amount": str(self.amount())}
        if self.rng.random() < 0.4:
            changes["account_id"] = self.rng.choice(self.household.accounts)
        updated = await self.call("update_transaction", {"transaction_id": ident, **changes})
        self.remember(updated["transaction"])

    async def delete_transaction(self) -> None:
        if not self.mine:
            return
        ident = self.rng.choice(self.mine)
        await self.call("delete_transaction", {"transaction_id": ident})
        self.mine.remove(ident)
        del self.household.ledger[ident]

    async def update_account(self) -> None:
        account = self.rng.choice(self.household.accounts)
        await self.call("update_account", {"account_id": account, "name": f"Account {account} {self.rng.random():.3f}"})

    def remember(self, row: dict[str, Any]) -> None:
        ident = int(row["id"])
        if ident not in self.household.ledger:
            self.mine.append(ident)
        self.household.ledger[ident] = (int(row["account_id"]), Decimal(row["amount"]))


async def audit(client: Client, household: Household, figures: Figures) -> None:
    """The server's rows equal the ledger; every balance is opening + Σ amounts, exactly."""
    stored: dict[int, tuple[int, Decimal]] = {}
    cursor = None
    while True:
        page = (await client.call_tool("list_transactions", {"limit": 500, "cursor": cursor})).structured_content
        assert page is not None
        stored.update((int(r["id"]), (int(r["account_id"]), Decimal(r["amount"]))) for r in page["transactions"])
        if (cursor := page["next_cursor"]) is None:
            break
    listed = (await client.call_tool("list_accounts", {})).structured_content
    assert listed is not None
    figures.transactions_audited += len(stored)
    if stored != household.ledger:
        missing = set(household.ledger) - set(stored)
        extra = set(stored) - set(household.ledger)
        changed = {i for i in set(stored) & set(household.ledger) if stored[i] != household.ledger[i]}
        figures.lost_updates += len(missing) + len(extra) + len(changed)
        figures.failures.append(f"audit {household.tenant}: missing {missing}, unexpected {extra}, changed {changed}")
    for account in listed["accounts"]:
        figures.accounts_audited += 1
        expected = OPENING + sum((a for acc, a in household.ledger.values() if acc == account["id"]), Decimal(0))
        from_rows = Decimal(account["opening_balance"]) + sum(
            (a for acc, a in stored.values() if acc == account["id"]), Decimal(0)
        )
        if not Decimal(account["balance"]) == from_rows == expected:
            figures.lost_updates += 1
            figures.failures.append(
                f"audit account {account['id']}: balance {account['balance']}, ledger says {expected}"
            )
        own = (
            await client.call_tool("list_transactions", {"account_id": account["id"], "limit": 1})
        ).structured_content
        assert own is not None
        rows_here = sum(1 for acc, _ in stored.values() if acc == account["id"])
        if own["total"] != rows_here:  # the account's row counter, kept beside its balance
            figures.lost_updates += 1
            figures.failures.append(f"audit account {account['id']}: total {own['total']}, {rows_here} rows stored")


async def soak(server: RunningServer, *, clients: int, seconds: float, households: int, seed: int) -> Figures:
    figures = Figures(clients=clients, workers=0)
    rng = random.Random(seed)
    homes = [Household(f"soak-{uuid.uuid4().hex[:10]}") for _ in range(households)]
    async with AsyncExitStack() as stack:
        workers: list[Worker] = []
        for n in range(clients):
            home = homes[n % households]
            token = server.token(tenant=home.tenant, sub=f"{n + 1}", role="OWNER", ttl_seconds=int(seconds) + 600)
            client = await stack.enter_async_context(mcp_client(server.mcp_url, token, "auto"))
            workers.append(Worker(client, home, figures, random.Random(rng.random())))
        for worker in workers[:households]:
            for k in range(ACCOUNTS_PER_HOUSEHOLD):
                made = await worker.call(
                    "create_account", {"name": f"Soak {k}", "account_type": "checking", "opening_balance": str(OPENING)}
                )
                worker.household.accounts.append(int(made["id"]))
        figures.latencies.clear()
        figures.operations.clear()
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            for worker in workers:
                group.create_task(worker.run(started + seconds))
        figures.seconds = time.monotonic() - started
        for worker in workers[:households]:
            await audit(worker.client, worker.household, figures)
    return figures


async def fresh_database() -> str:
    name = f"finance_mcp_soak_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    return name


def run(*, clients: int = 32, seconds: float = 60.0, workers: int = 2, households: int = 4, seed: int = 1) -> Figures:
    """Create a database on the test PostgreSQL, serve it with `workers` processes, soak, audit, clean up."""
    name = asyncio.run(fresh_database())
    try:
        url = f"{PG_HOST}/{name}"
        upgrade(url)
        # Each soak client writes far faster than a person: the write quota would refuse most of its calls.
        server = start_server(url, env={"WRITE_QUOTA_PER_MINUTE": "0"}, args=["--workers", str(workers)])
        drain = drain_output(server)
        try:
            figures = asyncio.run(soak(server, clients=clients, seconds=seconds, households=households, seed=seed))
            figures.workers = workers
        finally:
            stop_server(server)
            drain.join(timeout=10)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soak", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--households", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    figures = run(
        clients=args.clients, seconds=args.seconds, workers=args.workers, households=args.households, seed=args.seed
    )
    print(figures.report())  # noqa: T201
    for failure in figures.failures[:20]:
        print("  failure:", failure)  # noqa: T201
    return 1 if figures.failures or figures.lost_updates else 0


if __name__ == "__main__":
    sys.exit(main())
