"""Isolation, roles and the balance invariant under random sequences of tool calls (a hypothesis state machine).

Three households, each with an owner, an admin, a member and a viewer, drive random creates, updates, moves,
deletes, reads and probes of other households' ids through the real MCP client against the real server (on
SQLite and on PostgreSQL). A model predicts every answer. After every step:

* no response has ever contained another household's data (every text the household wrote carries its marker);
* every account's balance equals its opening balance plus the sum of its transactions, exactly, and the
  server's accounts and transactions equal the model's;
* each id of another household reads "not found": every foreign id is probed every step (the tool or resource
  rotates), every new id meets every tool and resource of every other household when it is created, and the
  final state of each run is swept with every tool and resource on every foreign id.

Each role's refusals are checked on every step a role cannot take. The example count is small in CI;
`RELIABILITY_EXAMPLES` raises it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from mcp import MCPError

from tests.e2e.helpers import assert_safe, text_of
from tests.reliability.clients import SyncClient, everything_said, open_client
from tests.reliability.tallies import tally

HOUSEHOLDS = 3
ROLES = ("owner", "admin", "member", "viewer")
WRITERS = {"owner", "admin", "member"}
ACCOUNT_DELETERS = {"owner", "admin"}
LIMIT = Decimal(10) ** 13
EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "5"))
STEPS = int(os.environ.get("RELIABILITY_STEPS", "14"))
NOT_FOUND = "was not found in your household"
RESOURCE_NOT_FOUND = -32602
# Counts for docs/RELIABILITY.md: reported at the end of each run (tests/reliability/tallies.py).
TALLY = tally(
    "isolation properties",
    "runs",
    "steps",
    "calls",
    "foreign_probes",
    "undos",
    "undos_refused",
    "replays",
    "transfers",
    "splits",
)

small_money = st.decimals(min_value=-5000, max_value=5000, places=2, allow_nan=False, allow_infinity=False)
huge_money = st.decimals(min_value=-(LIMIT - 1), max_value=LIMIT - Decimal("0.01"), places=2)
amounts = st.one_of(small_money, small_money, small_money, huge_money)
days = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))
households = st.integers(0, HOUSEHOLDS - 1)
roles = st.sampled_from(ROLES)
undoers = st.sampled_from(("owner", "owner", "admin", "member", "viewer"))  # mostly roles that may
picks = st.integers(min_value=0, max_value=10_000)


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


@dataclass
class ModelAccount:
    household: int
    name: str
    opening: Decimal


@dataclass
class ModelTransaction:
    household: int
    account: int
    amount: Decimal
    date: str
    category: str
    description: str
    transfer_id: int | None = None  # a leg of this transfer (create_transfer)


@dataclass
class Household:
    index: int
    tenant: str = field(default_factory=lambda: f"prop-{uuid.uuid4().hex[:12]}")
    marker: str = field(default_factory=lambda: f"mk{uuid.uuid4().hex[:10]}")
    subs: dict[str, str] = field(default_factory=lambda: {r: str(uuid.uuid4().int % 10**12) for r in ROLES})


def account_probes(account_id: int, own_transaction: int | None) -> list[tuple[str, Any]]:
    """Every way to reach an account by id: (tool name or "resource", arguments or URI)."""
    new = {"amount": "-1.00", "date": "2026-01-01", "category": "probe"}
    probes: list[tuple[str, Any]] = [
        ("get_account", {"account_id": account_id}),
        ("update_account", {"account_id": account_id, "name": "taken over"}),
        ("delete_account", {"account_id": account_id}),
        ("create_transaction", {"account_id": account_id, **new}),
        ("create_transactions_batch", {"account_id": account_id, "transactions": [new, new]}),
        ("list_transactions", {"account_id": account_id}),
        ("resource", f"finance://accounts/{account_id}"),
        ("resource", f"finance://accounts/{account_id}/transactions"),
    ]
    if own_transaction is not None:
        probes.append(("update_transaction", {"transaction_id": own_transaction, "account_id": account_id}))
    return probes


def transaction_probes(transaction_id: int) -> list[tuple[str, Any]]:
    return [
        ("get_transaction", {"transaction_id": transaction_id}),
        ("update_transaction", {"transaction_id": transaction_id, "amount": "-4242.00"}),
        ("update_transaction", {"transaction_id": transaction_id, "clear_fields": ["description"]}),
        ("delete_transaction", {"transaction_id": transaction_id}),
        ("resource", f"finance://transactions/{transaction_id}"),
    ]


class HouseholdsMachine(RuleBasedStateMachine):
    """The model: accounts and transactions by id, each owned by one household."""

    server: Any = None
    portal: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.households = [Household(i) for i in range(HOUSEHOLDS)]
        self.accounts: dict[int, ModelAccount] = {}
        self.transactions: dict[int, ModelTransaction] = {}
        self.parts: dict[int, tuple[int, Decimal]] = {}  # split part id: (its transaction, its amount)
        # Keyed writes that succeeded: (household, role, tool, arguments with the key, the first answer).
        self.keyed: list[tuple[int, str, str, dict[str, Any], dict[str, Any]]] = []
        self.clients: dict[tuple[int, str], SyncClient] = {}
        self.stack = ExitStack()
        self.step = 0
        self.names = itertools.count()
        TALLY["runs"] += 1

    # ---- plumbing -------------------------------------------------------------------------------------

    def client(self, household: int, role: str) -> SyncClient:
        key = (household, role)
        if key not in self.clients:
            h = self.households[household]
            token = self.server.token(tenant=h.tenant, sub=h.subs[role], role=role.upper())
            mode = "legacy" if household == 1 else "auto"  # both protocol eras in every run
            self.clients[key] = self.stack.enter_context(
                open_client(self.portal, self.server.mcp_url, token, mode=mode)
            )
        return self.clients[key]

    def foreign_markers(self, household: int) -> list[str]:
        return [h.marker for h in self.households if h.index != household]

    def check_said(self, household: int, said: str) -> None:
        assert_safe(said)
        for marker in self.foreign_markers(household):
            assert marker not in said, f"household {household} was shown another household's data: {said[:500]}"

    def call(self, household: int, role: str, tool: str, **arguments: Any) -> Any:
        """Call a tool; return the structured result, or the error text. Every answer is checked for leaks."""
        TALLY["calls"] += 1
        result = self.client(household, role).call_tool(tool, arguments)
        self.check_said(household, everything_said(result))
        return text_of(result) if result.is_error else result.structured_content

    def read(self, household: int, role: str, uri: str) -> Any:
        TALLY["calls"] += 1
        try:
            content = self.client(household, role).read_resource(uri)
        except MCPError as error:
            self.check_said(household, str(error.error.message) + repr(error.error.data))
            return error
        self.check_said(household, repr(content))
        return content

    def accounts_of(self, household: int) -> list[int]:
        return sorted(i for i, a in self.accounts.items() if a.household == household)

    def transactions_of(self, household: int, account: int | None = None) -> list[int]:
        return sorted(
            i
            for i, t in self.transactions.items()
            if t.household == household and (account is None or t.account == account)
        )

    def balance(self, account: int) -> Decimal:
        opening = self.accounts[account].opening
        return opening + sum((t.amount for t in self.transactions.values() if t.account == account), Decimal(0))

    def parts_of(self, transaction: int) -> list[tuple[int, Decimal]]:
        return sorted((i, amount) for i, (owner, amount) in self.parts.items() if owner == transaction)

    def forget(self, transaction: int) -> None:
        """A transaction deleted, and its parts with it."""
        del self.transactions[transaction]
        for ident in [i for i, (owner, _) in self.parts.items() if owner == transaction]:
            del self.parts[ident]

    def other_leg(self, transaction: int) -> int | None:
        """The other leg of the transfer `transaction` is a leg of, while both exist."""
        transfer_id = self.transactions[transaction].transfer_id
        if transfer_id is None:
            return None
        others = [i for i, t in self.transactions.items() if t.transfer_id == transfer_id and i != transaction]
        return others[0] if others else None

    def balance_without(self, transaction: int) -> Decimal:
        row = self.transactions[transaction]
        return self.balance(row.account) - row.amount

    def expect_refusal(self, answer: Any, role: str) -> None:
        assert isinstance(answer, str), f"a {role} was allowed: {answer}"
        assert f"Your role ({role}) does not allow" in answer, answer

    @staticmethod
    def expect_said(answer: Any, reason: str) -> None:
        assert isinstance(answer, str), f"refusal expected ({reason}): {answer}"
        assert reason in answer, answer

    def expect_out_of_range(self, answer: Any) -> None:
        assert isinstance(answer, str), f"a balance beyond 10^13 was accepted: {answer}"
        assert "beyond the supported size" in answer, answer

    @staticmethod
    def fits(*balances: Decimal) -> bool:
        return all(abs(b) < LIMIT for b in balances)

    def new_fields(self, household: int, amount: Decimal, day: Any) -> dict[str, Any]:
        marker = self.households[household].marker
        return {
            "amount": money(amount),
            "date": day.isoformat(),
            "category": f"{marker} cat",
            "description": f"{marker} note {next(self.names)}",
        }

    def remember(self, household: int, row: dict[str, Any]) -> None:
        self.transactions[int(row["id"])] = ModelTransaction(
            household,
            int(row["account_id"]),
            Decimal(row["amount"]),
            row["date"],
            row["category"],
            row["description"],
            row.get("transfer_id"),
        )
        self.probe_everywhere(transaction=int(row["id"]))

    # ---- foreign ids: every tool and resource --------------------------------------------------------

    def probe(self, household: int, tool: str, target: Any) -> None:
        """One attempt by `household`'s owner to reach another household's row: it must read "not found"."""
        TALLY["foreign_probes"] += 1
        if tool == "resource":
            error = self.read(household, "owner", target)
            assert isinstance(error, MCPError), f"household {household} read {target}: {error}"
            assert error.error.code == RESOURCE_NOT_FOUND, error
            return
        answer = self.call(household, "owner", tool, **target)
        assert isinstance(answer, str), f"household {household} reached a foreign id with {tool}: {answer}"
        assert NOT_FOUND in answer, answer

    def probes_for(self, household: int, *, account: int | None = None, transaction: int | None = None) -> list:
        if account is not None:
            # Moving one of our own transactions there; one whose removal keeps its own balance in range.
            movable = [t for t in self.transactions_of(household) if self.fits(self.balance_without(t))]
            return account_probes(account, movable[0] if movable else None)
        assert transaction is not None
        return transaction_probes(transaction)

    def probe_everywhere(self, *, account: int | None = None, transaction: int | None = None) -> None:
        owner = self.accounts[account].household if account is not None else self.transactions[transaction].household  # type: ignore[index]
        for household in range(HOUSEHOLDS):
            if household != owner:
                for tool, target in self.probes_for(household, account=account, transaction=transaction):
                    self.probe(household, tool, target)

    # ---- rules ------------------------------------------------------------------------------------------

    @rule(household=households, role=roles, opening=amounts)
    def create_account(self, household: int, role: str, opening: Decimal) -> None:
        name = f"{self.households[household].marker} acct {next(self.names)}"
        answer = self.call(
            household, role, "create_account", name=name, account_type="checking", opening_balance=money(opening)
        )
        if role not in WRITERS:
            return self.expect_refusal(answer, role)
        assert isinstance(answer, dict), answer
        assert answer["balance"] == answer["opening_balance"] == money(opening)
        self.accounts[int(answer["id"])] = ModelAccount(household, name, opening)
        self.probe_everywhere(account=int(answer["id"]))
        return None

    @precondition(lambda self: self.accounts)
    @rule(pick=picks, role=roles, amount=amounts, day=days, keyed=st.booleans())
    def create_transaction(self, pick: int, role: str, amount: Decimal, day: Any, keyed: bool) -> None:
        account = sorted(self.accounts)[pick % len(self.accounts)]
        household = self.accounts[account].household
        arguments = {"account_id": account, **self.new_fields(household, amount, day)}
        if keyed:
            arguments["idempotency_key"] = f"k-{uuid.uuid4()}"
        answer = self.call(household, role, "create_transaction", **arguments)
        if role not in WRITERS:
            return self.expect_refusal(answer, role)
        if not self.fits(self.balance(account) + amount):
            return self.expect_out_of_range(answer)
        assert isinstance(answer, dict), answer
        if keyed:
            self.keyed.append((household, role, "create_transaction", arguments, answer))
        self.remember(household, answer["transaction"])
        assert answer["account_balance"] == money(self.balance(account))
        return None

    @precondition(lambda self: self.accounts)
    @rule(pick=picks, role=roles, batch=st.lists(amounts, min_size=1, max_size=6), day=days)
    def create_batch(self, pick: int, role: str, batch: list[Decimal], day: Any) -> None:
        account = sorted(self.accounts)[pick % len(self.accounts)]
        household = self.accounts[account].household
        items = [self.new_fields(household, amount, day) for amount in batch]
        answer = self.call(household, role, "create_transactions_batch", account_id=account, transactions=items)
        if role not in WRITERS:
            return self.expect_refusal(answer, role)
        if not self.fits(self.balance(account) + sum(batch, Decimal(0))):
            return self.expect_out_of_range(answer)
        assert isinstance(answer, dict), answer
        assert answer["count"] == len(batch)
        for row in answer["transactions"]:
            self.remember(household, row)
        assert answer["account_balance"] == money(self.balance(account))
        return None

    @precondition(lambda self: self.transactions)
    @rule(pick=picks, role=roles, amount=st.none() | amounts, move=st.none() | picks, day=st.none() | days)
    def update_transaction(self, pick: int, role: str, amount: Decimal | None, move: int | None, day: Any) -> None:
        ident = sorted(self.transactions)[pick % len(self.transactions)]
        row = self.transactions[ident]
        mine = self.accounts_of(row.household)
        target = mine[move % len(mine)] if move is not None else None
        changes: dict[str, Any] = {"description": f"{self.households[row.household].marker} edited {next(self.names)}"}
        if amount is not None:
            changes["amount"] = money(amount)
        if target is not None:
            changes["account_id"] = target
        if day is not None:
            changes["date"] = day.isoformat()
        answer = self.call(row.household, role, "update_transaction", transaction_id=ident, **changes)
        if role not in WRITERS:
            return self.expect_refusal(answer, role)
        new_amount = amount if amount is not None else row.amount
        new_account = target if target is not None else row.account
        if amount is not None and amount != row.amount and self.parts_of(ident):
            self.expect_said(answer, "split it again with parts for the new amount")
            return None
        other = self.other_leg(ident)
        partner = self.transactions[other] if other is not None else None
        if partner is not None and new_account == partner.account:
            self.expect_said(answer, "holds the other leg")
            return None
        if partner is not None and amount is not None and (amount == 0 or (amount > 0) != (row.amount > 0)):
            self.expect_said(answer, "its amount stays")
            return None
        after = {row.account: self.balance(row.account) - row.amount}
        after[new_account] = after.get(new_account, self.balance(new_account)) + new_amount
        if partner is not None and partner.amount != -new_amount:  # one currency: the other leg mirrors it
            after[partner.account] = after.get(partner.account, self.balance(partner.account)) - new_amount
            after[partner.account] -= partner.amount
        if not self.fits(*after.values()):
            return self.expect_out_of_range(answer)
        assert isinstance(answer, dict), answer
        row.amount, row.account, row.description = new_amount, new_account, changes["description"]
        row.date = changes.get("date", row.date)
        if partner is not None:
            partner.amount, partner.date = -new_amount, row.date
        for account_id, balance in answer["account_balances"].items():
            assert balance == money(self.balance(int(account_id))), (account_id, balance)
        return None

    @precondition(lambda self: self.transactions)
    @rule(pick=picks, role=roles)
    def delete_transaction(self, pick: int, role: str) -> None:
        ident = sorted(self.transactions)[pick % len(self.transactions)]
        row = self.transactions[ident]
        answer = self.call(row.household, role, "delete_transaction", transaction_id=ident)
        if role not in WRITERS:
            return self.expect_refusal(answer, role)
        gone = [ident] + ([other] if (other := self.other_leg(ident)) is not None else [])
        after: dict[int, Decimal] = {}
        for leg in gone:
            leg_row = self.transactions[leg]
            after[leg_row.account] = after.get(leg_row.account, self.balance(leg_row.account)) - leg_row.amount
        if not self.fits(*after.values()):
            return self.expect_out_of_range(answer)
        assert isinstance(answer, dict), answer
        assert answer["deleted_transaction_ids"] == gone, answer
        for leg in gone:
            self.forget(leg)
        assert answer["account_balance"] == money(self.balance(row.account))
        for account_id, balance in answer["account_balances"].items():
            assert balance == money(self.balance(int(account_id))), (account_id, balance)
        return None

    @precondition(lambda self: self.transactions)
    @rule(
        pick=picks,
        role=roles,
        shares=st.lists(st.integers(1, 5), min_size=0, max_size=4),
        off=st.sampled_from([0, 0, 0, 1, -1]),
    )
    def split_transaction(self, pick: int, role: str, shares: list[int], off: int) -> None:
        """Split a transaction into parts in these proportions (off by a cent, sometimes), or remove its split."""
        ident = sorted(self.transactions)[pick % len(self.transactions)]
        row = self.transactions[ident]
        cents = int(row.amount * 100)
        amounts = [Decimal(cents * share // sum(shares)) / 100 for share in shares[:-1]] if shares else []
        if shares:
            amounts.append(row.amount - sum(amounts, Decimal(0)) + Decimal(off) / 100)
        marker = self.households[row.household].marker
        parts = [{"amount": money(a), "category": f"{marker} part {n}"} for n, a in enumerate(amounts)]
        answer = self.call(row.household, role, "split_transaction", transaction_id=ident, parts=parts)
        if role not in WRITERS:
            return self.expect_refusal(answer, role)
        if len(parts) == 1:
            return self.expect_said(answer, "2 to 50 parts, got 1")
        if row.transfer_id is not None:
            return self.expect_said(answer, "a transfer cannot be split")
        if not parts and not self.parts_of(ident):
            return self.expect_said(answer, "is not split")
        if parts and sum(amounts, Decimal(0)) != row.amount:
            return self.expect_said(answer, "they are off by 0.01")
        assert isinstance(answer, dict), answer
        for gone, _ in self.parts_of(ident):
            del self.parts[gone]
        for part in answer["transaction"]["splits"]:
            self.parts[int(part["id"])] = (ident, Decimal(part["amount"]))
        assert [Decimal(p["amount"]) for p in answer["transaction"]["splits"]] == amounts, answer
        TALLY["splits"] += 1
        return None

    @precondition(lambda self: self.accounts)
    @rule(pick=picks, to=picks, role=roles, amount=amounts, day=days)
    def create_transfer(self, pick: int, to: int, role: str, amount: Decimal, day: Any) -> None:
        """Money moved between two accounts of one household: two linked legs (or one account: refused)."""
        source = sorted(self.accounts)[pick % len(self.accounts)]
        household = self.accounts[source].household
        others = [account for account in self.accounts_of(household) if account != source] or [source]
        target = others[to % len(others)]
        amount = abs(amount)
        fields = self.new_fields(household, amount, day)
        answer = self.call(
            household,
            role,
            "create_transfer",
            from_account_id=source,
            to_account_id=target,
            amount=fields["amount"],
            date=fields["date"],
            description=fields["description"],
        )
        if role not in WRITERS:
            return self.expect_refusal(answer, role)
        if amount == 0:
            self.expect_said(answer, "must be positive")
            return None
        if source == target:
            self.expect_said(answer, "the same account")
            return None
        if not self.fits(self.balance(source) - amount, self.balance(target) + amount):
            return self.expect_out_of_range(answer)
        assert isinstance(answer, dict), answer
        out, into = answer["from_transaction"], answer["to_transaction"]
        assert out["transfer_id"] == into["transfer_id"] == answer["transfer_id"] == out["id"], answer
        assert (out["amount"], into["amount"]) == (money(-amount), money(amount)), answer
        TALLY["transfers"] += 1
        self.remember(household, out)
        self.remember(household, into)
        assert answer["account_balances"] == {
            str(source): money(self.balance(source)),
            str(target): money(self.balance(target)),
        }, answer
        return None

    @precondition(lambda self: self.accounts)
    @rule(pick=picks, role=roles)
    def rename_account(self, pick: int, role: str) -> None:
        account = sorted(self.accounts)[pick % len(self.accounts)]
        household = self.accounts[account].household
        name = f"{self.households[household].marker} renamed {next(self.names)}"
        answer = self.call(household, role, "update_account", account_id=account, name=name)
        if role not in WRITERS:
            return self.expect_refusal(answer, role)
        assert isinstance(answer, dict), answer
        self.accounts[account].name = name
        return None

    @precondition(lambda self: self.accounts)
    @rule(pick=picks, role=roles)
    def delete_account(self, pick: int, role: str) -> None:
        account = sorted(self.accounts)[pick % len(self.accounts)]
        household = self.accounts[account].household
        answer = self.call(household, role, "delete_account", account_id=account)
        if role not in ACCOUNT_DELETERS:
            return self.expect_refusal(answer, role)
        assert isinstance(answer, dict), answer
        gone = self.transactions_of(household, account)
        assert answer["transactions_deleted"] == len(gone)
        parted = {self.transactions[ident].transfer_id for ident in gone} - {None}
        for ident in gone:
            self.forget(ident)
        for row in self.transactions.values():  # a leg whose pair went with the account: now a plain row
            if row.transfer_id in parted:
                row.transfer_id = None
        del self.accounts[account]
        return None

    @precondition(lambda self: self.keyed)
    @rule(which=picks)
    def replay_a_keyed_write(self, which: int) -> None:
        """A retry of a keyed write that succeeded answers the first result again and writes nothing, whatever
        happened since (the invariants check that nothing moved)."""
        household, role, tool, arguments, first = self.keyed[which % len(self.keyed)]
        again = self.call(household, role, tool, **arguments)
        TALLY["replays"] += 1
        assert again == {**first, "replayed": True}, again

    @precondition(lambda self: self.accounts)
    @rule(pick=picks, role=undoers)
    def undo_the_latest_change(self, pick: int, role: str) -> None:
        self.undo_a_change(pick, role, 0)

    @precondition(lambda self: self.accounts)
    @rule(pick=picks, role=undoers, which=picks)
    def undo_a_change(self, pick: int, role: str, which: int) -> None:
        """Undo one of the household's latest changes. Another household cannot reach it; a role that could not
        have made it cannot undo it; a refusal names why (done already, or the later change in the way, or a
        balance out of range); an undo puts the change's rows back as its log images say, and the
        invariants (exact balances, each household its own rows) still hold at the next check."""
        household = self.accounts[sorted(self.accounts)[pick % len(self.accounts)]].household
        listed = self.call(household, "owner", "list_changes", limit=8)
        assert isinstance(listed, dict), listed
        whole = [c for c in listed["changes"] if c["row_count"] <= len(c["rows"])]
        if not whole:
            return None
        change = whole[which % len(whole)]
        foreign = self.call((household + 1) % HOUSEHOLDS, "owner", "undo_change", change_id=change["id"])
        assert isinstance(foreign, str), foreign
        assert NOT_FOUND in foreign, foreign
        if change["tool"] == "undo_change":
            role = "owner"  # the permission needed is that of the change first undone
        allowed = ACCOUNT_DELETERS if change["tool"] == "delete_account" else WRITERS
        answer = self.call(household, role, "undo_change", change_id=change["id"])
        if role not in allowed:
            return self.expect_refusal(answer, role)
        if isinstance(answer, str):
            TALLY["undos_refused"] += 1
            if change["undone_by_change_id"] is not None:
                assert f"already undone by change {change['undone_by_change_id']}" in answer, answer
            elif "has had its id given to a newer row" in answer:  # SQLite reuses a deleted row's id
                pass
            elif "beyond the supported size" not in answer:
                assert "cannot be undone: change " in answer, answer
                blocker = int(answer.split("cannot be undone: change ")[1].split(" ")[0])
                assert blocker > change["id"], answer
            return None
        assert answer["undone"] is True, answer
        TALLY["undos"] += 1
        for row in reversed(change["rows"]):
            self.put_back(household, row)
        return None

    def put_back(self, household: int, row: dict[str, Any]) -> None:
        """The model's side of an undo: the row as the log's before-image has it."""
        ident, before = int(row["row_id"]), row["before"]
        if row["table"] == "transaction_splits":
            if before is None:
                del self.parts[ident]
            else:
                self.parts[ident] = (int(before["transaction_id"]), Decimal(before["amount"]))
        if row["table"] == "transactions":
            if before is None:
                del self.transactions[ident]
            else:
                self.transactions[ident] = ModelTransaction(
                    household,
                    int(before["account_id"]),
                    Decimal(before["amount"]),
                    before["date"],
                    before["category"],
                    before["description"],
                    before.get("transfer_id"),
                )
        elif row["table"] == "accounts":
            if before is None:
                del self.accounts[ident]
            else:
                self.accounts[ident] = ModelAccount(household, before["name"], Decimal(before["opening_balance"]))

    @rule(household=households, role=roles, pick=picks)
    def read_through_resources(self, household: int, role: str, pick: int) -> None:
        listed = self.read(household, role, "finance://accounts")
        assert sorted(a["id"] for a in listed["accounts"]) == self.accounts_of(household)
        mine = self.accounts_of(household)
        if mine:
            account = mine[pick % len(mine)]
            recent = self.read(household, role, f"finance://accounts/{account}/transactions")
            assert recent["total"] == len(self.transactions_of(household, account))
            if recent["total"] <= len(recent["transactions"]):
                assert sorted(t["id"] for t in recent["transactions"]) == self.transactions_of(household, account)

    @precondition(lambda self: self.accounts or self.transactions)
    @rule(household=households, pick=picks, which=picks)
    def probe_a_foreign_id(self, household: int, pick: int, which: int) -> None:
        foreign_accounts = [a for a in self.accounts if self.accounts[a].household != household]
        foreign_transactions = [t for t in self.transactions if self.transactions[t].household != household]
        targets = [("a", a) for a in sorted(foreign_accounts)] + [("t", t) for t in sorted(foreign_transactions)]
        if not targets:
            return
        kind, ident = targets[pick % len(targets)]
        probes = self.probes_for(household, **({"account": ident} if kind == "a" else {"transaction": ident}))
        self.probe(household, *probes[which % len(probes)])

    # ---- invariants -------------------------------------------------------------------------------------

    @invariant()
    def every_household_sees_exactly_its_own_rows_and_exact_balances(self) -> None:
        self.step += 1
        TALLY["steps"] += 1
        for household in range(HOUSEHOLDS):
            role = ROLES[(self.step + household) % len(ROLES)]
            listed = self.call(household, role, "list_accounts")
            assert isinstance(listed, dict), listed
            assert sorted(a["id"] for a in listed["accounts"]) == self.accounts_of(household)
            rows = self.all_transactions(household, role)
            assert sorted(rows) == self.transactions_of(household)
            for ident, row in rows.items():
                expected = self.transactions[ident]
                assert (row["account_id"], Decimal(row["amount"]), row["date"]) == (
                    expected.account,
                    expected.amount,
                    expected.date,
                ), ident
                assert row["description"] == expected.description
                assert row["transfer_id"] == expected.transfer_id, ident
                parts = [(int(p["id"]), Decimal(p["amount"])) for p in row["splits"]]
                assert parts == self.parts_of(ident), ident
                assert not parts or sum((amount for _, amount in parts), Decimal(0)) == Decimal(row["amount"]), row
            self.transfers_are_pairs(household, rows)
            for account in listed["accounts"]:
                recorded = [Decimal(r["amount"]) for r in rows.values() if r["account_id"] == account["id"]]
                opening = Decimal(account["opening_balance"])
                assert Decimal(account["balance"]) == opening + sum(recorded, Decimal(0)), account
                assert account["balance"] == money(self.balance(account["id"])), account
                assert account["name"] == self.accounts[account["id"]].name

    @staticmethod
    def transfers_are_pairs(household: int, rows: dict[int, dict[str, Any]]) -> None:
        """Both legs of a transfer cancel out (one currency), share a date and sit in two accounts; a leg is
        alone only when its pair went with a deleted account."""
        legs: dict[int, list[dict[str, Any]]] = {}
        for row in rows.values():
            if row["transfer_id"] is not None:
                legs.setdefault(int(row["transfer_id"]), []).append(row)
        for transfer_id, pair in legs.items():
            assert len(pair) <= 2, (household, transfer_id, pair)
            assert all(leg["category"] == "transfer" for leg in pair), pair
            if len(pair) == 2:
                out, into = pair
                assert Decimal(out["amount"]) == -Decimal(into["amount"]) != 0, pair
                assert out["date"] == into["date"], pair
                assert out["account_id"] != into["account_id"], pair

    def all_transactions(self, household: int, role: str) -> dict[int, dict[str, Any]]:
        rows: dict[int, dict[str, Any]] = {}
        cursor = None
        while True:
            page = self.call(household, role, "list_transactions", limit=500, cursor=cursor)
            assert isinstance(page, dict), page
            rows.update((int(r["id"]), r) for r in page["transactions"])
            cursor = page["next_cursor"]
            if cursor is None:
                return rows

    @invariant()
    def every_foreign_id_reads_not_found(self) -> None:
        """Each step, every foreign id is tried once; the tool and the probing household rotate."""
        others = itertools.cycle(range(HOUSEHOLDS))
        for index, account in enumerate(sorted(self.accounts)):
            household = self.other_than(self.accounts[account].household, next(others))
            probes = self.probes_for(household, account=account)
            self.probe(household, *probes[(self.step + index) % len(probes)])
        for index, ident in enumerate(sorted(self.transactions)):
            household = self.other_than(self.transactions[ident].household, next(others))
            probes = self.probes_for(household, transaction=ident)
            self.probe(household, *probes[(self.step + index) % len(probes)])

    @staticmethod
    def other_than(owner: int, candidate: int) -> int:
        return candidate if candidate != owner else (owner + 1) % HOUSEHOLDS

    def teardown(self) -> None:
        try:
            for account in sorted(self.accounts):
                self.probe_everywhere(account=account)
            for ident in sorted(self.transactions):
                self.probe_everywhere(transaction=ident)
            self.every_household_sees_exactly_its_own_rows_and_exact_balances()
        finally:
            self.stack.close()


def test_random_sequences_of_calls_keep_households_apart_roles_enforced_and_balances_exact(server, portal):
    HouseholdsMachine.server, HouseholdsMachine.portal = server, portal
    run_state_machine_as_test(
        HouseholdsMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
            print_blob=True,
        ),
    )
