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
from finance_mcp.domain.errors import Conflict, FinanceError, Invalid, NotFound
from finance_mcp.domain.money import check_balance, format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.domain.quotas import row_bytes
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

MAX_BATCH = 1000
MAX_PAGE = 500


def transaction_not_found(transaction_id: int) -> NotFound:
    return NotFound(
        f"Transaction {transaction_id} was not found in your household; call list_transactions to find the right id."
    )


def to_transaction(row: Mapping[Any, Any]) -> TransactionRead:
    return TransactionRead.model_validate(dict(row))


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


async def adjust_account(
    uow: UnitOfWork, account_id: int, delta: Decimal, rows: int, now: dt.datetime, size: int = 0
) -> Decimal:
    balance = await uow.accounts.adjust_balance(account_id, delta, rows=rows, size=size, now=now)
    if balance is None:
        raise account_not_found(account_id)
    return check_balance(balance, account_id=account_id)


async def record_transaction(
    db: Database, principal: Principal, account_id: int, fields: TransactionFields
) -> TransactionCreated:
    principal.require(Permission.WRITE)
    now = dt.datetime.now(dt.UTC)
    # One statement on PostgreSQL (no transaction needed around it); two inside a transaction on SQLite.
    async with UnitsOfWork(db).write_statement(principal.household_id) as uow:
        values = fields.model_dump()
        summary = f"Recorded {_said(fields.amount, fields.category, fields.date)} in account {account_id}"
        uow.log.describe(by=principal, tool="create_transaction", summary=summary, entity_type="transaction")
        recorded = await uow.transactions.record(
            account_id, values, created_by=principal.user_id, now=now, quotas=principal.quotas
        )
        if recorded is None:
            raise await _why_not_recorded(db, principal, account_id, row_bytes(values))
        row, balance = recorded
        # SQLite only, inside its transaction: on PostgreSQL Numeric(15, 2) already refused such a balance.
        check_balance(balance, account_id=account_id)
        await uow.commit()
    return TransactionCreated(transaction=to_transaction(row), account_balance=balance)


def _said(amount: Decimal, category: str, day: dt.date) -> str:
    return f"{format_amount(amount)} ({category}) on {day.isoformat()}"


async def _why_not_recorded(db: Database, principal: Principal, account_id: int, size: int) -> FinanceError:
    """After a refused create (the hot path does not say why): a missing account, else a full quota."""
    async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
        if not principal.quotas.on_rows or await uow.accounts.get(account_id) is None:
            return account_not_found(account_id)
        held_rows, held_bytes = await uow.usage.totals()
    try:
        principal.quotas.check_rows(held_rows=held_rows, held_bytes=held_bytes, rows=1, added_bytes=size)
    except Conflict as full:
        return full
    return Conflict("This household was at one of its limits a moment ago; nothing was changed. Try again.")


async def check_room(uow: UnitOfWork, principal: Principal, *, rows: int, size: int) -> None:
    """Refuse a write that would take the household beyond its quotas (under the household's lock)."""
    if not principal.quotas.on_rows:
        return
    await uow.usage.lock()
    held_rows, held_bytes = await uow.usage.totals()
    principal.quotas.check_rows(held_rows=held_rows, held_bytes=held_bytes, rows=rows, added_bytes=size)


async def record_batch(
    db: Database, principal: Principal, account_id: int, items: Sequence[TransactionFields]
) -> BatchCreated:
    """All items or none: one database transaction, one balance update for their sum."""
    principal.require(Permission.WRITE)
    if not 1 <= len(items) <= MAX_BATCH:
        raise Invalid(f"A batch holds 1 to {MAX_BATCH} transactions, got {len(items)}; split it into smaller batches.")
    total = sum((item.amount for item in items), Decimal("0.00"))
    now = dt.datetime.now(dt.UTC)
    values = [{**item.model_dump(), "account_id": account_id} for item in items]
    size = sum(row_bytes(row) for row in values)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        await check_room(uow, principal, rows=len(items), size=size)
        balance = await adjust_account(uow, account_id, total, len(items), now, size)
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
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        row = await uow.transactions.get(transaction_id)
    if row is None:
        raise transaction_not_found(transaction_id)
    return to_transaction(row)


def _new_values(changes: TransactionUpdate) -> dict[str, Any]:
    values = changes.model_dump(exclude_none=True, exclude={"clear_fields"})
    for name in changes.clear_fields:
        values[name] = [] if name == "tags" else None
    return values


async def update_transaction(
    db: Database, principal: Principal, transaction_id: int, changes: TransactionUpdate
) -> TransactionUpdated:
    """Change any fields, including the date and the account (a move adjusts both balances)."""
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
        old_account, old_amount = int(current["account_id"]), current["amount"]
        new_account, new_amount = values.get("account_id", old_account), values.get("amount", old_amount)
        deltas = {old_account: -old_amount}
        deltas[new_account] = deltas.get(new_account, Decimal(0)) + new_amount
        counts = {old_account: -1}
        counts[new_account] = counts.get(new_account, 0) + 1
        old_size, new_size = row_bytes(current), row_bytes({**current, **values})
        sizes = {old_account: -old_size}
        sizes[new_account] = sizes.get(new_account, 0) + new_size
        if new_size > old_size:
            await check_room(uow, principal, rows=0, size=new_size - old_size)
        balances: dict[str, Decimal] = {}
        # Fixed lock order (by account id) so two opposite moves cannot deadlock.
        for account_id in sorted(deltas):
            if deltas[account_id] or counts[account_id] or sizes[account_id] or account_id == new_account:
                balances[str(account_id)] = await adjust_account(
                    uow, account_id, deltas[account_id], counts[account_id], now, sizes[account_id]
                )
                uow.log.totals(account_id, deltas[account_id], rows=counts[account_id], size=sizes[account_id], now=now)
        row = await uow.transactions.update(transaction_id, values, now=now)
        summary = f"Changed {', '.join(sorted(values))} of transaction {transaction_id}"
        uow.log.describe(
            by=principal,
            tool="update_transaction",
            summary=summary,
            entity_type="transaction",
            entity_id=transaction_id,
        )
        uow.log.row("transactions", transaction_id, image(current), image(row))
        await uow.commit()
    return TransactionUpdated(transaction=to_transaction(row), account_balances=balances)


async def delete_transaction(db: Database, principal: Principal, transaction_id: int) -> TransactionDeleted:
    principal.require(Permission.WRITE)
    now = dt.datetime.now(dt.UTC)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        removed = await uow.transactions.delete(transaction_id)
        if removed is None:
            raise transaction_not_found(transaction_id)
        account_id, amount, size, gone = removed
        balance = await adjust_account(uow, account_id, -amount, -1, now, -size)
        summary = f"Deleted transaction {transaction_id}: {_said(amount, gone['category'], gone['date'])}"
        uow.log.describe(
            by=principal,
            tool="delete_transaction",
            summary=summary,
            entity_type="transaction",
            entity_id=transaction_id,
        )
        uow.log.row("transactions", transaction_id, image(gone), None)
        uow.log.totals(account_id, -amount, rows=-1, size=-size, now=now)
        await uow.commit()
    return TransactionDeleted(transaction_id=transaction_id, account_balance=balance)
