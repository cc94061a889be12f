"""The workloads W0-W5 as load-generator operations over the seeded households.

Every operation issues real MCP `tools/call` requests and returns how many it issued. Write workloads
record what the client saw succeed, per account, so the runner can prove there were no lost updates.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bench.load import CallFailed, McpConnection, Operation
from bench.seed import Seed, SeededHousehold
from finance_mcp.cli.dev import mint_token

TOKEN_TTL_SECONDS = 3 * 3600
PAGE = 500  # W4 fallback page size: the largest list_transactions allows


class Tokens:
    """MCP_Auth-shaped HS256 tokens for the seeded users, minted once."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._cache: dict[str, str] = {}

    def __call__(self, household: SeededHousehold) -> str:
        token = self._cache.get(household.key)
        if token is None:
            token = mint_token(
                self._secret,
                sub=household.sub,
                tenant=household.tenant,
                role="OWNER",
                email=household.email,
                ttl_seconds=TOKEN_TTL_SECONDS,
            )
            self._cache[household.key] = token
        return token


@dataclass
class Workload:
    key: str
    title: str
    operation: Operation
    tokens_for_task: Callable[[int], list[str]]
    writes: list[int] = field(default_factory=list[int])  # accounts whose ledger the runner checks
    successes: dict[int, list[int]] = field(default_factory=dict[int, list[int]])  # account -> [rows, cents]
    uncertain: int = 0  # writes whose outcome the client never learned (timeouts, broken connections)
    note: str = ""

    def record(self, account_id: int, cents: int) -> None:
        entry = self.successes.setdefault(account_id, [0, 0])
        entry[0] += 1
        entry[1] += cents


def _amount(rng: random.Random) -> tuple[str, int]:
    cents = rng.randint(-20_000, 20_000) or 1
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}", cents


def _create_args(account_id: int, rng: random.Random) -> tuple[dict[str, Any], int]:
    amount, cents = _amount(rng)
    day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    args = {
        "account_id": account_id,
        "amount": amount,
        "date": day,
        "category": rng.choice(["Groceries", "Dining", "Transport"]),
        "merchant": "Bench Mart",
    }
    return args, cents


def _create(workload: Workload, token_of: Callable[[int], str], account_of: Callable[[int], int]) -> Operation:
    async def op(conn: McpConnection, task: int, rng: random.Random) -> int:
        account_id = account_of(task)
        args, cents = _create_args(account_id, rng)
        try:
            await conn.call_tool(token_of(task), "create_transaction", args)
        except CallFailed:
            raise
        except BaseException:
            workload.uncertain += 1
            raise
        workload.record(account_id, cents)
        return 1

    return op


def _single(tool: str, token: str, args: dict[str, Any]) -> Operation:
    async def op(conn: McpConnection, _task: int, _rng: random.Random) -> int:
        await conn.call_tool(token, tool, args)
        return 1

    return op


# --- W4: a month's spending by category --------------------------------------------------------------


def month_range(month: str) -> tuple[str, str]:
    year, mon = (int(part) for part in month.split("-"))
    return f"{month}-01", f"{month}-{calendar.monthrange(year, mon)[1]:02d}"


def summary_arguments(schema: dict[str, Any], month: str) -> dict[str, Any] | None:
    """Arguments for a `spending_summary` tool from its input schema, or None if its shape is not understood."""
    properties: dict[str, Any] = schema.get("properties", {})
    start, end = month_range(month)
    args: dict[str, Any] = {}
    if "month" in properties:
        kind = _schema_type(properties["month"])
        args["month"] = int(month[5:]) if kind == "integer" else month
        if "year" in properties:
            args["year"] = int(month[:4])
    if "start_date" in properties and "end_date" in properties:
        args["start_date"], args["end_date"] = start, end
    for name in ("date_from", "from_date", "start"):
        if name in properties:
            args[name] = start
    for name in ("date_to", "to_date", "end"):
        if name in properties:
            args[name] = end
    if "group_by" in properties:
        args["group_by"] = "category"
    missing = [name for name in schema.get("required", []) if name not in args]
    return None if missing or not args else args


def _schema_type(prop: dict[str, Any]) -> str | None:
    if "type" in prop:
        return prop["type"]
    for option in prop.get("anyOf", []):
        if option.get("type") not in (None, "null"):
            return option["type"]
    return None


def _spending_by_paging(token: str, month: str) -> Operation:
    start, end = month_range(month)

    async def op(conn: McpConnection, _task: int, _rng: random.Random) -> int:
        totals: dict[str, Decimal] = {}
        cursor: str | None = None
        calls = 0
        while True:
            args: dict[str, Any] = {"start_date": start, "end_date": end, "limit": PAGE}
            if cursor:
                args["cursor"] = cursor
            page = await conn.call_tool(token, "list_transactions", args)
            calls += 1
            for row in page["transactions"]:
                amount = Decimal(row["amount"])
                if amount < 0:
                    totals[row["category"]] = totals.get(row["category"], Decimal(0)) - amount
            cursor = page.get("next_cursor")
            if not cursor:
                return calls

    return op


# --- W5: 20 households, mixed --------------------------------------------------------------------------

MIX = [
    ("create_transaction", 30),
    ("list_transactions", 20),
    ("list_accounts", 15),
    ("get_account", 15),
    ("get_transaction", 10),
    ("update_transaction", 5),
    ("whoami", 5),
]


def _mixed(workload: Workload, households: list[SeededHousehold], tokens: Tokens) -> Operation:
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]

    async def op(conn: McpConnection, _task: int, rng: random.Random) -> int:
        household = rng.choice(households)
        token = tokens(household)
        account_id = rng.choice(household.account_ids)
        tool = rng.choices(names, weights)[0]
        if tool == "create_transaction":
            args, cents = _create_args(account_id, rng)
            try:
                await conn.call_tool(token, tool, args)
            except CallFailed:
                raise
            except BaseException:
                workload.uncertain += 1
                raise
            workload.record(account_id, cents)
            return 1
        args: dict[str, Any] = {}
        if tool == "list_transactions":
            args = {"account_id": account_id, "limit": 20}
        elif tool == "get_account":
            args = {"account_id": account_id}
        elif tool == "get_transaction":
            args = {"transaction_id": rng.choice(household.transaction_ids)}
        elif tool == "update_transaction":
            args = {"transaction_id": rng.choice(household.transaction_ids), "amount": _amount(rng)[0]}
        await conn.call_tool(token, tool, args)
        return 1

    return op


# --- the catalogue ----------------------------------------------------------------------------------------


def build(seed: Seed, tokens: Tokens, tools: dict[str, dict[str, Any]]) -> dict[str, Workload]:
    """Every workload by key; `tools` is the server's tools/list (name -> tool) for W4's choice."""
    big, hot = seed.big, seed.hot
    big_token = tokens(big)
    workloads: dict[str, Workload] = {}

    def add(workload: Workload) -> None:
        workloads[workload.key] = workload

    add(Workload("ping", "ping (trivial-tool ceiling)", _single("ping", big_token, {}), lambda _t: [big_token]))
    add(Workload("w0", "W0 whoami", _single("whoami", big_token, {}), lambda _t: [big_token]))

    w1_hot = Workload(
        "w1_hot", "W1 create, one hot account", _noop, lambda _t: [tokens(hot)], writes=[*hot.account_ids]
    )
    w1_hot.operation = _create(w1_hot, lambda _t: tokens(hot), lambda _t: hot.account_ids[0])
    add(w1_hot)

    spread = seed.spread
    w1_spread = Workload(
        "w1_spread",
        "W1 create, one account per task",
        _noop,
        lambda t: [tokens(spread[t % len(spread)])],
        writes=[h.account_ids[0] for h in spread],
    )
    w1_spread.operation = _create(
        w1_spread, lambda t: tokens(spread[t % len(spread)]), lambda t: spread[t % len(spread)].account_ids[0]
    )
    add(w1_spread)

    w2_args = {"account_id": big.account_ids[0], "limit": 50}
    add(
        Workload(
            "w2", "W2 list_transactions 50 of 10,000", _single("list_transactions", big_token, w2_args), _big(big_token)
        )
    )
    add(
        Workload(
            "w3_get",
            "W3 get_account",
            _single("get_account", big_token, {"account_id": big.account_ids[0]}),
            _big(big_token),
        )
    )
    add(Workload("w3_list", "W3 list_accounts (5)", _single("list_accounts", big_token, {}), _big(big_token)))

    summary = tools.get("spending_summary")
    summary_args = summary_arguments(summary.get("inputSchema", {}), seed.month) if summary else None
    if summary_args is not None:
        w4 = Workload(
            "w4",
            "W4 month spending by category",
            _single("spending_summary", big_token, summary_args),
            _big(big_token),
            note=f"spending_summary {summary_args}",
        )
    else:
        why = "not on the server" if summary is None else "input schema not understood"
        w4 = Workload(
            "w4",
            "W4 month spending by category",
            _spending_by_paging(big_token, seed.month),
            _big(big_token),
            note=f"spending_summary {why}: pages list_transactions (limit {PAGE}) for {seed.month} and sums",
        )
    add(w4)

    as_of = month_range(seed.month)[1]
    add(
        Workload(
            "w6",
            "W6 get_overview (10,000 rows)",
            _single("get_overview", big_token, {"as_of": as_of}),
            _big(big_token),
            note=f"get_overview as_of {as_of}",
        )
    )

    mixed = seed.mixed
    w5 = Workload(
        "w5",
        f"W5 mixed, {len(mixed)} households",
        _noop,
        lambda _t: [tokens(h) for h in mixed],
        writes=[a for h in mixed for a in h.account_ids],
        note=", ".join(f"{name} {weight}%" for name, weight in MIX),
    )
    w5.operation = _mixed(w5, mixed, tokens)
    add(w5)
    return workloads


def _big(token: str) -> Callable[[int], list[str]]:
    return lambda _t: [token]


async def _noop(_conn: McpConnection, _task: int, _rng: random.Random) -> int:
    return 0
