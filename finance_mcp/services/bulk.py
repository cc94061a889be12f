"""Bulk edits: one category, merchant or tag change, or one deletion, for every transaction a listing's
filters (or a list of ids) select. Previews by default (`dry_run`); a real run is one database transaction
and ONE change-log entry however many rows, so `undo_change` puts every row, tag and balance back at once.

Balances move with `balance = balance + :delta` per touched account in the same transaction as the rows.
At most `MAX_BULK` rows per call: a larger selection is refused, never cut short.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.money import check_balance, format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.domain.quotas import row_bytes
from finance_mcp.repositories.change_recorder import image
from finance_mcp.repositories.transactions import tag_key
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.bulk import BulkResult, BulkSet
from finance_mcp.schemas.transactions import TransactionFilter, TransactionRead
from finance_mcp.services.accounts import account_not_found

MAX_BULK = 10_000
SAMPLE_SIZE = 10
COMPARED = ("category", "der_category", "merchant", "der_merchant", "tags")


@dataclass(frozen=True)
class Selection:
    """Which transactions a bulk call is about: the filters of `list_transactions`, and or ids."""

    filters: TransactionFilter
    transaction_ids: Sequence[int] | None = None

    def check(self) -> None:
        """Refuse a selection that is empty, unbounded by accident, or self-contradictory."""
        f, ids = self.filters, self.transaction_ids
        if ids is not None and not ids:
            raise Invalid("transaction_ids is empty; give the ids to change, or filters instead (null for none)")
        if ids is not None and len(ids) > MAX_BULK:
            raise Invalid(f"At most {MAX_BULK} transaction_ids per call, got {len(ids)}; split them into parts")
        given = [name for name, value in f.model_dump().items() if value not in (None, [])]
        if ids is None and not given:
            raise Invalid(
                "Give at least one filter (account_id, start_date, end_date, category, merchant, tags, ...) or "
                "transaction_ids: a bulk edit never means every transaction by default. To really select all of "
                "an account's transactions, pass its account_id."
            )
        if f.start_date and f.end_date and f.start_date > f.end_date:
            raise Invalid(f"start_date {f.start_date} is after end_date {f.end_date}; swap them or fix one")
        if f.min_amount is not None and f.max_amount is not None and f.min_amount > f.max_amount:
            raise Invalid(f"min_amount {f.min_amount} is greater than max_amount {f.max_amount}")


async def _matching(uow: UnitOfWork, selection: Selection, *, lock: bool) -> list[dict[str, Any]]:
    rows = await uow.bulk.select(selection.filters, selection.transaction_ids, limit=MAX_BULK + 1, lock=lock)
    if len(rows) > MAX_BULK:
        raise Invalid(
            f"These filters select more than {MAX_BULK} transactions; one bulk call changes at most {MAX_BULK}. "
            "Narrow them (a date range, an account) and repeat for each part; nothing was changed."
        )
    account_id = selection.filters.account_id
    if not rows and account_id is not None and await uow.accounts.get(account_id) is None:
        raise account_not_found(account_id)
    return rows


def _sample(rows: Sequence[dict[str, Any]]) -> list[TransactionRead]:
    return [TransactionRead.model_validate(row) for row in rows[:SAMPLE_SIZE]]


async def _balances(uow: UnitOfWork, rows: Sequence[dict[str, Any]], deltas: dict[int, Decimal]) -> dict[str, Decimal]:
    """Every account of the rows, with its balance moved by its delta (a preview's "as it would be")."""
    balances: dict[str, Decimal] = {}
    for account_id in sorted({int(row["account_id"]) for row in rows}):
        balance = await uow.accounts.balance(account_id)
        if balance is not None:
            balances[str(account_id)] = balance + deltas.get(account_id, Decimal(0))
    return balances


async def _move(uow: UnitOfWork, account_id: int, delta: Decimal, *, rows: int, size: int, now: dt.datetime) -> Decimal:
    """Move the account's balance and counters atomically, and log the move (undone by the opposite one)."""
    balance = await uow.accounts.adjust_balance(account_id, delta, rows=rows, size=size, now=now)
    if balance is None:
        raise account_not_found(account_id)
    uow.log.totals(account_id, delta, rows=rows, size=size, now=now)
    return check_balance(balance, account_id=account_id)


# ---- update -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """What a bulk update does to each row: fields set, tags added and removed (by their key)."""

    values: dict[str, Any]
    add_tags: Sequence[str]
    remove_tags: Sequence[str]

    def check(self) -> None:
        if not self.values and not self.add_tags and not self.remove_tags:
            raise Invalid(
                "Nothing to change: give set (category, der_category, merchant, der_merchant), add_tags or "
                "remove_tags (null means leave unchanged)."
            )
        both = sorted({tag_key(t) for t in self.add_tags} & {tag_key(t) for t in self.remove_tags})
        if both:
            raise Invalid(f"{', '.join(both)} is both in add_tags and remove_tags; keep it in one of them")

    def applied(self, row: dict[str, Any], now: dt.datetime) -> dict[str, Any] | None:
        """The row after the edit, or None when the edit leaves it as it is."""
        removed = {tag_key(t) for t in self.remove_tags}
        tags = [t for t in row["tags"] if tag_key(t) not in removed]
        keys = {tag_key(t) for t in tags}
        for tag in self.add_tags:
            if tag_key(tag) not in keys:
                keys.add(tag_key(tag))
                tags.append(tag)
        edited = {**row, **self.values, "tags": tags}
        if all(edited[name] == row[name] for name in COMPARED):
            return None
        return edited | {"updated_at": now}

    def summary(self, count: int) -> str:
        said = [f"{name}={value!r}" for name, value in sorted(self.values.items())]
        said += [f"added tags {', '.join(self.add_tags)}"] if self.add_tags else []
        said += [f"removed tags {', '.join(self.remove_tags)}"] if self.remove_tags else []
        return f"Bulk update of {count} transactions: {'; '.join(said)}"


async def bulk_update_transactions(
    db: Database,
    principal: Principal,
    selection: Selection,
    fields: BulkSet,
    *,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
    dry_run: bool = True,
) -> BulkResult:
    principal.require(Permission.WRITE)
    selection.check()
    edit = Edit(fields.model_dump(exclude_none=True), add_tags, remove_tags)
    edit.check()
    now = dt.datetime.now(dt.UTC)
    if dry_run:
        async with UnitsOfWork(db).scan(principal.household_id) as uow:
            rows = await _matching(uow, selection, lock=False)
            edited = [new for row in rows if (new := edit.applied(row, now)) is not None]
            balances = await _balances(uow, rows, {})
        return BulkResult(
            dry_run=True, matched=len(rows), changed=len(edited), sample=_sample(edited), account_balances=balances
        )
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        rows = await _matching(uow, selection, lock=True)
        pairs = [(row, new) for row in rows if (new := edit.applied(row, now)) is not None]
        sizes: dict[int, int] = defaultdict(int)
        for row, new in pairs:
            sizes[int(row["account_id"])] += row_bytes(new) - row_bytes(row)
        await _check_room(uow, principal, size=sum(sizes.values()))
        await uow.bulk.update([new for _, new in pairs])
        if pairs:
            uow.log.describe(
                by=principal,
                tool="bulk_update_transactions",
                summary=edit.summary(len(pairs)),
                entity_type="transaction",
            )
        for row, new in pairs:
            uow.log.row("transactions", int(row["id"]), image(row), image(new))
        for account_id in sorted(a for a, size in sizes.items() if size):
            await _move(uow, account_id, Decimal(0), rows=0, size=sizes[account_id], now=now)
        balances = await _balances(uow, rows, {})
        await uow.commit()
    return BulkResult(
        dry_run=False,
        matched=len(rows),
        changed=len(pairs),
        sample=_sample([new for _, new in pairs]),
        account_balances=balances,
        change_id=uow.log.change_id,
    )


async def _check_room(uow: UnitOfWork, principal: Principal, *, size: int) -> None:
    """Refuse an edit that would take the household beyond its stored-bytes quota (under its lock)."""
    if not principal.quotas.on_rows or size <= 0:
        return
    await uow.usage.lock()
    held_rows, held_bytes = await uow.usage.totals()
    principal.quotas.check_rows(held_rows=held_rows, held_bytes=held_bytes, rows=0, added_bytes=size)


# ---- delete -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Removal:
    """What a bulk delete takes out of each account: the sum of its rows, their number and bytes."""

    deltas: dict[int, Decimal]
    counts: dict[int, int]
    sizes: dict[int, int]

    @classmethod
    def of(cls, rows: Sequence[dict[str, Any]]) -> Removal:
        deltas: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
        counts: dict[int, int] = defaultdict(int)
        sizes: dict[int, int] = defaultdict(int)
        for row in rows:
            account_id = int(row["account_id"])
            deltas[account_id] -= row["amount"]
            counts[account_id] += 1
            sizes[account_id] += row_bytes(row)
        return cls(dict(deltas), dict(counts), dict(sizes))


async def bulk_delete_transactions(
    db: Database, principal: Principal, selection: Selection, *, dry_run: bool = True
) -> BulkResult:
    """Needs admin (previews too: a member is refused before anyone is asked to confirm)."""
    principal.require(Permission.ADMIN)
    selection.check()
    if dry_run:
        async with UnitsOfWork(db).scan(principal.household_id) as uow:
            rows = await _matching(uow, selection, lock=False)
            balances = await _balances(uow, rows, Removal.of(rows).deltas)
        return BulkResult(
            dry_run=True, matched=len(rows), changed=len(rows), sample=_sample(rows), account_balances=balances
        )
    now = dt.datetime.now(dt.UTC)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        rows = await _matching(uow, selection, lock=True)
        removal = Removal.of(rows)
        await uow.bulk.delete([int(row["id"]) for row in rows])
        if rows:
            total = format_amount(-sum(removal.deltas.values(), Decimal("0.00")))
            summary = f"Bulk delete of {len(rows)} transactions totalling {total}"
            uow.log.describe(by=principal, tool="bulk_delete_transactions", summary=summary, entity_type="transaction")
        for row in rows:
            uow.log.row("transactions", int(row["id"]), image(row), None)
        balances: dict[str, Decimal] = {}
        for account_id in sorted(removal.deltas):
            balances[str(account_id)] = await _move(
                uow,
                account_id,
                removal.deltas[account_id],
                rows=-removal.counts[account_id],
                size=-removal.sizes[account_id],
                now=now,
            )
        await uow.commit()
    return BulkResult(
        dry_run=False,
        matched=len(rows),
        changed=len(rows),
        sample=_sample(rows),
        account_balances=balances,
        change_id=uow.log.change_id,
    )


async def bulk_deletion_question(db: Database, principal: Principal, selection: Selection) -> str | None:
    """What the person is asked before a real bulk delete (how many rows, their total, their dates and
    accounts), refused exactly as the delete would be; None when nothing matches (nothing to ask about)."""
    principal.require(Permission.ADMIN)
    selection.check()
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        rows = await _matching(uow, selection, lock=False)
    if not rows:
        return None
    total = format_amount(sum((row["amount"] for row in rows), Decimal("0.00")))
    first, last = min(row["date"] for row in rows), max(row["date"] for row in rows)
    accounts = ", ".join(str(a) for a in sorted({int(row["account_id"]) for row in rows}))
    dates = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    count = "1 transaction" if len(rows) == 1 else f"{len(rows)} transactions"
    return (
        f"Delete {count} ({dates}, totalling {total}) from account(s) {accounts}? "
        "It can be undone afterwards with undo_change."
    )
