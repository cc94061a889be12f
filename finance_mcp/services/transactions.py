"""Transactions and the balance invariant: `balance = opening_balance + Σ amounts`, always.

Every change to a transaction moves its account's balance with `balance = balance + :delta` in the same
database transaction as the row, so concurrent writers never lose an update.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping

from finance_mcp.db.database import Database
from finance_mcp.domain import currencies
from finance_mcp.domain.errors import Conflict, FinanceError, Invalid
from finance_mcp.domain.money import check_balance, format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.domain.quotas import row_bytes
from finance_mcp.domain.rules import RuleRun, given_fields
from finance_mcp.domain.suggestions import unknown_name_note
from finance_mcp.repositories.change_recorder import image
from finance_mcp.repositories.ids import storable
from finance_mcp.repositories.transactions import TransactionRepository
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.transactions import (
    BatchCreated,
    TransactionCreated,
    TransactionDeleted,
    TransactionFields,
    TransactionFilter,
    TransactionPage,
    TransactionRead,
    TransactionUpdate,
    TransactionUpdated,
)
from finance_mcp.services.accounts import account_not_found
from finance_mcp.services.balances import adjust as _adjust
from finance_mcp.services.balances import check_room as _check_room
from finance_mcp.services.rules import outcomes, rule_run
from finance_mcp.services.splits import SPLIT_TABLE, transaction_not_found, with_splits
from finance_mcp.services.transfer_legs import Edit, paired_edits

MAX_BATCH = 1000
MAX_PAGE = 500


def to_transaction(row: Mapping[Any, Any], parts: Sequence[Mapping[Any, Any]] = ()) -> TransactionRead:
    return TransactionRead.model_validate(with_splits(row, parts) if parts else dict(row))


def query_fingerprint(filters: TransactionFilter) -> str:
    """Which query a cursor continues: the filters, not the page size (a keyset page may change its size)."""
    canonical = json.dumps(filters.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(row: Mapping[str, Any], filters: TransactionFilter) -> str:
    position = f"{row['date'].isoformat()}|{row['id']}|{query_fingerprint(filters)}"
    return base64.urlsafe_b64encode(position.encode()).decode()


def decode_cursor(cursor: str, filters: TransactionFilter) -> tuple[dt.date, int]:
    try:
        day, ident, query = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        position = dt.date.fromisoformat(day), int(ident)
        if not storable(position[1]):
            raise ValueError("id out of range")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            "cursor is not valid; pass the next_cursor of a previous list_transactions call, or omit it"
        ) from None
    if query != query_fingerprint(filters):
        raise Invalid(
            "cursor belongs to a different query: a next_cursor continues only the list_transactions call "
            "that returned it, with the same filters. Repeat that call's filters with this cursor, or omit "
            "cursor to start this query from its first page"
        )
    return position


async def with_rules(db: Database, principal: Principal, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows about to be inserted, with the household's rules applied (priority order; a value the caller
    gave is never overwritten). Every path that creates transactions calls this, before its write opens:
    rules are read in a unit of their own, and a slow regex never holds the database's write lock."""
    return await ruled(await household_rules(db, principal), rows)


async def household_rules(db: Database, principal: Principal) -> RuleRun | None:
    """The household's rules, ready to run over rows (None when it has none), read in a unit of their own."""
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        found = await uow.rules.list()
    return rule_run(found) if found else None


async def ruled(run: RuleRun | None, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` with `run`'s rules applied (an import runs its chunks through one run)."""
    if run is None:
        return list(rows)
    done = await outcomes(run, rows, [given_fields(row) for row in rows])
    return [{**row, **outcome.values} for row, outcome in zip(rows, done, strict=True)]


async def record_transaction(
    db: Database, principal: Principal, account_id: int, fields: TransactionFields
) -> TransactionCreated:
    principal.require(Permission.WRITE)
    now = dt.datetime.now(dt.UTC)
    (values,) = await with_rules(db, principal, [{**fields.model_dump(), "account_id": account_id}])
    del values["account_id"]
    # One statement on PostgreSQL (no transaction needed around it); two inside a transaction on SQLite.
    async with UnitsOfWork(db).write_statement(principal.household_id) as uow:
        summary = f"Recorded {_said(fields.amount, values['category'], fields.date)} in account {account_id}"
        uow.log.describe(by=principal, tool="create_transaction", summary=summary, entity_type="transaction")
        recorded = await uow.transactions.record(
            account_id, values, created_by=principal.user_id, now=now, quotas=principal.quotas
        )
        if recorded is None:
            raise await _why_not_recorded(db, principal, account_id, row_bytes(values), fields.amount)
        row, balance = recorded
        # SQLite only, inside its transaction: on PostgreSQL Numeric(15, 2) already refused such a balance.
        check_balance(balance, account_id=account_id)
        await uow.commit()
    return TransactionCreated(transaction=to_transaction(row), account_balance=balance)


def _said(amount: Decimal, category: str, day: dt.date) -> str:
    return f"{format_amount(amount)} ({category}) on {day.isoformat()}"


async def _why_not_recorded(
    db: Database, principal: Principal, account_id: int, size: int, amount: Decimal
) -> FinanceError:
    """After a refused create (the hot path does not say why): a missing account, an amount its currency
    cannot hold, else a full quota."""
    async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
        account = await uow.accounts.get(account_id)
        if account is None:
            return account_not_found(account_id)
        try:
            currencies.check_amount(amount, account["currency"])
        except Invalid as unfit:
            return unfit
        if not principal.quotas.on_rows:
            return account_not_found(account_id)
        held_rows, held_bytes = await uow.usage.totals()
    try:
        principal.quotas.check_rows(held_rows=held_rows, held_bytes=held_bytes, rows=1, added_bytes=size)
    except Conflict as full:
        return full
    return Conflict("This household was at one of its limits a moment ago; nothing was changed. Try again.")


async def record_batch(
    db: Database, principal: Principal, account_id: int, items: Sequence[TransactionFields]
) -> BatchCreated:
    """All items or none: one database transaction, one balance update for their sum."""
    principal.require(Permission.WRITE)
    if not 1 <= len(items) <= MAX_BATCH:
        raise Invalid(f"A batch holds 1 to {MAX_BATCH} transactions, got {len(items)}; split it into smaller batches.")
    total = sum((item.amount for item in items), Decimal("0.00"))
    now = dt.datetime.now(dt.UTC)
    values = await with_rules(db, principal, [{**item.model_dump(), "account_id": account_id} for item in items])
    size = sum(row_bytes(row) for row in values)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        await _check_currency(uow, account_id, [item.amount for item in items])
        await _check_room(uow, principal, rows=len(items), size=size)
        balance = await _adjust(uow, account_id, total, len(items), now, size)
        rows = await add_rows(uow, principal, values, now=now)
        summary = f"Recorded {len(rows)} transactions totalling {format_amount(total)} in account {account_id}"
        uow.log.describe(
            by=principal, tool="create_transactions_batch", summary=summary, entity_type="account", entity_id=account_id
        )
        uow.log.totals(account_id, total, rows=len(rows), size=size, now=now)
        await uow.commit()
    return BatchCreated(
        transactions=[to_transaction(row) for row in rows],
        count=len(rows),
        total_amount=total,
        account_balance=balance,
    )


async def _check_currency(uow: UnitOfWork, account_id: int, amounts: Sequence[Decimal]) -> None:
    """Amounts with cents, for an account whose currency has none, are refused (domain/currencies.py)."""
    if all(amount == amount.to_integral_value() for amount in amounts):
        return
    account = await uow.accounts.get(account_id)
    if account is None:
        raise account_not_found(account_id)
    for index, amount in enumerate(amounts):
        currencies.check_amount(amount, account["currency"], field="amount" if len(amounts) == 1 else f"item {index}")


async def add_rows(
    uow: UnitOfWork, principal: Principal, values: Sequence[dict[str, Any]], *, now: dt.datetime
) -> list[RowMapping]:
    """Store rows (each with its account_id) and log each one's image for undo: the one place where a batch
    and an import create rows, so what every created row must go through is added here. The caller moves
    the balances and logs the totals, once for all its rows."""
    rows = await uow.transactions.add_many(values, created_by=principal.user_id, now=now)
    for row, given in zip(rows, values, strict=True):
        imported = {"import_fingerprint": given["import_fingerprint"]} if given.get("import_fingerprint") else {}
        uow.log.row("transactions", row["id"], None, image(row, created_by=principal.user_id, **imported))
    return rows


async def list_transactions(
    db: Database,
    principal: Principal,
    filters: TransactionFilter,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> TransactionPage:
    principal.require(Permission.READ)
    if not 0 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE} (or 0 for the count alone), got {limit}")
    if filters.start_date and filters.end_date and filters.start_date > filters.end_date:
        raise Invalid(f"start_date {filters.start_date} is after end_date {filters.end_date}; swap them or fix one")
    if filters.min_amount is not None and filters.max_amount is not None and filters.min_amount > filters.max_amount:
        raise Invalid(f"min_amount {filters.min_amount} is greater than max_amount {filters.max_amount}")
    after = decode_cursor(cursor, filters) if cursor else None
    if limit == 0:
        return await _count_only(db, principal, filters)
    # Reads that need no common snapshot: no transaction (on PostgreSQL, no BEGIN/ROLLBACK round trips),
    # unless they may read many rows (a search): then a scan, bounded in time and kept off SQLite's loop.
    scan = TransactionRepository.scans(filters)
    async with UnitsOfWork(db).search(principal.household_id, many_rows=scan) as uow:
        page = await uow.transactions.page(filters, limit=limit, after=after)
        rows, total = page.rows, page.total
        if not rows and filters.account_id is not None and await uow.accounts.get(filters.account_id) is None:
            raise account_not_found(filters.account_id)
        if total is None:
            # A first page that holds every match is its own count: most households never pay for COUNT(*).
            total = len(rows) if after is None and not page.more else await uow.transactions.count(filters)
        note = await _unknown_category_note(uow, filters) if not rows and after is None else None
        parts = await uow.splits.of([int(row["id"]) for row in rows])
    for row in rows:
        if found := parts.get(int(row["id"])):
            row["splits"] = [dict(part) for part in found]
    # One validation call for the whole page (pydantic's core loops over the rows, not Python).
    next_cursor = encode_cursor(rows[-1], filters) if page.more else None
    return TransactionPage.model_validate(
        {"transactions": rows, "total": total, "next_cursor": next_cursor, "note": note}
    )


async def _count_only(db: Database, principal: Principal, filters: TransactionFilter) -> TransactionPage:
    """`limit=0`: how many match, without reading a row (an account's listing reads its row counter)."""
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        total = await uow.transactions.count(filters)
        if total == 0 and filters.account_id is not None and await uow.accounts.get(filters.account_id) is None:
            raise account_not_found(filters.account_id)
        note = await _unknown_category_note(uow, filters) if total == 0 else None
    return TransactionPage(transactions=[], total=total, next_cursor=None, note=note)


async def _unknown_category_note(uow: UnitOfWork, filters: TransactionFilter) -> str | None:
    """An empty page filtered by a category no row has is most often a misspelling: say which exist."""
    for column, asked in (("category", filters.category), ("der_category", filters.der_category)):
        if asked is not None:
            existing = await uow.transactions.categories(column)
            hint = f"Call list_transactions again with {column} set to one of them, or without {column}."
            if note := unknown_name_note(column.replace("_", " "), asked, existing, hint=hint):
                return note
    return None


async def get_transaction(db: Database, principal: Principal, transaction_id: int) -> TransactionRead:
    principal.require(Permission.READ)
    # Two statements without a common snapshot (no BEGIN/ROLLBACK round trips), as a listing reads its page
    # and then the page's parts: a split written in between shows parts a moment newer than the row.
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        row = await uow.transactions.get(transaction_id)
        parts = (await uow.splits.of([transaction_id])).get(transaction_id, []) if row is not None else []
    if row is None:
        raise transaction_not_found(transaction_id)
    return to_transaction(row, parts)


def _new_values(changes: TransactionUpdate) -> dict[str, Any]:
    values = changes.model_dump(exclude_none=True, exclude={"clear_fields"})
    for name in changes.clear_fields:
        values[name] = [] if name == "tags" else None
    return values


async def update_transaction(
    db: Database, principal: Principal, transaction_id: int, changes: TransactionUpdate
) -> TransactionUpdated:
    """Change any fields, including the date and the account (a move adjusts both balances). A transfer's
    other leg follows (`services/transfer_legs.py`)."""
    principal.require(Permission.WRITE)
    values = _new_values(changes)
    if not values:
        raise Invalid(
            "Nothing to change: give at least one new value, or list fields in clear_fields "
            "(null means leave unchanged)."
        )
    now = dt.datetime.now(dt.UTC)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        current = await uow.transactions.get(transaction_id, for_update=True)
        if current is None:
            raise transaction_not_found(transaction_id)
        parts = (await uow.splits.of([transaction_id])).get(transaction_id, [])
        if parts and "amount" in values and values["amount"] != current["amount"]:
            raise Invalid(
                f"Transaction {transaction_id} is split into parts that add up to its amount; split it again with "
                "parts for the new amount first (split_transaction), or remove the split (parts=[])."
            )
        if "amount" in values or "account_id" in values:
            await _check_currency(
                uow, values.get("account_id", current["account_id"]), [values.get("amount", current["amount"])]
            )
        edits: list[Edit] = [(current, values)]
        if current["transfer_id"] is not None:
            edits = await paired_edits(uow, current, values)
        rows, balances = await _apply_edits(uow, principal, edits, now)
        summary = f"Changed {', '.join(sorted(values))} of transaction {transaction_id}"
        if len(edits) > 1:
            summary += f" and of the other leg of its transfer (transaction {edits[1][0]['id']})"
        uow.log.describe(
            by=principal,
            tool="update_transaction",
            summary=summary,
            entity_type="transaction",
            entity_id=transaction_id,
        )
        await uow.commit()
    return TransactionUpdated(transaction=to_transaction(rows[0], parts), account_balances=balances)


async def _apply_edits(
    uow: UnitOfWork, principal: Principal, edits: Sequence[Edit], now: dt.datetime
) -> tuple[list[Mapping[Any, Any]], dict[str, Decimal]]:
    """Update the rows and move every touched account by the sum of its rows' moves (in account id order, so
    two opposite moves cannot deadlock); log each row and each move. The rows as stored, and the balances."""
    deltas: dict[int, Decimal] = {}
    counts: dict[int, int] = {}
    sizes: dict[int, int] = {}
    landed: set[int] = set()
    for current, values in edits:
        old_account, new_account = int(current["account_id"]), int(values.get("account_id", current["account_id"]))
        deltas[old_account] = deltas.get(old_account, Decimal(0)) - current["amount"]
        deltas[new_account] = deltas.get(new_account, Decimal(0)) + values.get("amount", current["amount"])
        counts[old_account] = counts.get(old_account, 0) - 1
        counts[new_account] = counts.get(new_account, 0) + 1
        sizes[old_account] = sizes.get(old_account, 0) - row_bytes(current)
        sizes[new_account] = sizes.get(new_account, 0) + row_bytes({**current, **values})
        landed.add(new_account)
    grown = sum(sizes.values())
    if grown > 0:
        await _check_room(uow, principal, rows=0, size=grown)
    balances: dict[str, Decimal] = {}
    for account_id in sorted(deltas):
        if deltas[account_id] or counts[account_id] or sizes[account_id] or account_id in landed:
            balances[str(account_id)] = await _adjust(
                uow, account_id, deltas[account_id], counts[account_id], now, sizes[account_id]
            )
            uow.log.totals(account_id, deltas[account_id], rows=counts[account_id], size=sizes[account_id], now=now)
    rows: list[Mapping[Any, Any]] = []
    for current, values in edits:
        row = await uow.transactions.update(int(current["id"]), values, now=now)
        uow.log.row("transactions", int(current["id"]), image(current), image(row))
        rows.append(row)
    return rows, balances


async def delete_transaction(db: Database, principal: Principal, transaction_id: int) -> TransactionDeleted:
    """Delete a transaction; a transfer leg takes its other leg with it."""
    principal.require(Permission.WRITE)
    now = dt.datetime.now(dt.UTC)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        # Its parts go with it (the foreign key): read under the row's lock (the order split_transaction locks
        # in), and logged first, so an undo puts them back after it.
        if await uow.transactions.get(transaction_id, for_update=True) is None:
            raise transaction_not_found(transaction_id)
        parts = (await uow.splits.of([transaction_id])).get(transaction_id, [])
        removed = await uow.transactions.delete(transaction_id)
        if removed is None:
            raise transaction_not_found(transaction_id)
        gone = [removed]
        transfer_id = removed[3]["transfer_id"]
        if transfer_id is not None:
            other = await uow.transactions.other_leg(transaction_id, int(transfer_id), for_update=True)
            also = await uow.transactions.delete(int(other["id"])) if other is not None else None
            gone += [also] if also is not None else []
        account_id, amount, _, first = removed
        summary = f"Deleted transaction {transaction_id}: {_said(amount, first['category'], first['date'])}"
        if len(gone) > 1:
            summary += f", and transaction {gone[1][3]['id']}, the other leg of its transfer"
        uow.log.describe(
            by=principal,
            tool="delete_transaction",
            summary=summary,
            entity_type="transaction",
            entity_id=transaction_id,
        )
        for part in parts:
            uow.log.row(SPLIT_TABLE, int(part["id"]), image(part), None)
        for _, _, _, row in gone:
            uow.log.row("transactions", int(row["id"]), image(row), None)
        balances: dict[str, Decimal] = {}
        for leg_account, leg_amount, size, _ in sorted(gone, key=lambda leg: leg[0]):
            balances[str(leg_account)] = await _adjust(uow, leg_account, -leg_amount, -1, now, -size)
            uow.log.totals(leg_account, -leg_amount, rows=-1, size=-size, now=now)
        await uow.commit()
    return TransactionDeleted(
        transaction_id=transaction_id,
        account_balance=balances[str(account_id)],
        account_balances=balances,
        deleted_transaction_ids=[int(row["id"]) for _, _, _, row in gone],
    )
