"""`import_transactions`: a bank's statement file into one account, previewed first (dry run), then added
all or nothing as one change of the change log, without a row the account already holds.

A row's fingerprint (`imports/rows.py`) is unique per account in the database; the real import locks the
account first, so two imports into one account queue and the second sees what the first added.
Memory stays bounded: the file's rows are small records, and rows are stored and logged a chunk at a time.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import anyio.to_thread
from sqlalchemy.exc import IntegrityError

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Conflict, Invalid
from finance_mcp.domain.money import check_balance, format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.domain.quotas import row_bytes
from finance_mcp.imports import Parsed, ParsedRow, parse
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.imports import ImportProblem, ImportResult, ImportRow
from finance_mcp.services.accounts import account_not_found
from finance_mcp.services.balances import adjust as adjust_account
from finance_mcp.services.balances import check_room
from finance_mcp.services.transactions import add_rows, household_rules, ruled

TOOL = "import_transactions"
CHUNK = 1000  # rows stored, logged and reported per step
LOOKUP = 900  # fingerprints asked about per query (SQLite binds each one)
SAMPLE = 10
PROBLEMS_SHOWN = 200  # in a result; the count is always exact
PROBLEMS_SAID = 10  # in a refusal's text
DEFAULT_CATEGORY = "Uncategorized"

Progress = Callable[[int, int, str], Awaitable[None]]


async def import_transactions(
    db: Database,
    principal: Principal,
    account_id: int,
    content: str,
    *,
    format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    date_format: str | None = None,
    dry_run: bool = True,
    max_bytes: int,
    progress: Progress | None = None,
) -> ImportResult:
    principal.require(Permission.WRITE)
    _check_size(content, max_bytes)
    read = functools.partial(parse, content, format=format, mapping=mapping, date_format=date_format)
    parsed = await anyio.to_thread.run_sync(read)  # a large file is CPU work: off the event loop
    if dry_run:
        async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
            balance = await uow.accounts.balance(account_id)
            if balance is None:
                raise account_not_found(account_id)
            known = await _known(uow, account_id, parsed.rows)
        return _result(parsed, known, balance=balance, dry_run=True)
    if parsed.problems:
        raise _refusal(parsed)
    try:
        return await _store(db, principal, account_id, parsed, progress)
    except IntegrityError:
        raise Conflict(
            "Another import added some of these rows to the account at the same moment; nothing was imported. "
            "Call import_transactions again: the rows already there are skipped."
        ) from None


def _check_size(content: str, max_bytes: int) -> None:
    size = len(content) if len(content) > max_bytes else len(content.encode("utf-8"))
    if size > max_bytes:
        raise Invalid(
            f"The file is {size} bytes; one call takes at most {max_bytes} bytes (the server's "
            "MAX_REQUEST_BODY_BYTES). Split it into parts by date and import each (rows already imported are "
            "skipped), or run `finance-mcp import FILE --account ID` on the server."
        )
    if not content.strip():
        raise Invalid("content is empty: pass the file's text (CSV, OFX, QFX, QIF or CAMT.053)")


async def _known(uow: UnitOfWork, account_id: int, rows: Sequence[ParsedRow]) -> set[str]:
    """The fingerprints of these rows that the account already holds."""
    known: set[str] = set()
    for start in range(0, len(rows), LOOKUP):
        chunk = [row.fingerprint for row in rows[start : start + LOOKUP]]
        known |= await uow.transactions.imported(account_id, chunk)
    return known


def _refusal(parsed: Parsed) -> Invalid:
    said = "; ".join(f"row {p.row}: {p.reason}" for p in parsed.problems[:PROBLEMS_SAID])
    more = len(parsed.problems) - PROBLEMS_SAID
    rest = f"; and {more} more" if more > 0 else ""
    return Invalid(
        f"Nothing was imported: {len(parsed.problems)} row(s) of the {parsed.format} file could not be read "
        f"({said}{rest}). Fix those rows in the file, or pass mapping / date_format, and call again; "
        "dry_run=true lists every problem."
    )


def _values(row: ParsedRow, account_id: int) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "amount": row.amount,
        "date": row.date,
        "category": row.category or DEFAULT_CATEGORY,
        "description": row.description,
        "merchant": row.merchant,
        "location": row.location,
        "tags": list(row.tags),
        "der_category": row.der_category,
        "der_merchant": row.der_merchant,
        "import_fingerprint": row.fingerprint,
    }


async def _store(
    db: Database, principal: Principal, account_id: int, parsed: Parsed, progress: Progress | None
) -> ImportResult:
    now = dt.datetime.now(dt.UTC)
    rules = await household_rules(db, principal)  # every create runs the rules: an import's rows too
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        if not await uow.accounts.lock(account_id):
            raise account_not_found(account_id)
        known = await _known(uow, account_id, parsed.rows)
        new = _new_rows(parsed.rows, known)
        if not new:
            balance = await uow.accounts.balance(account_id)
            return _result(parsed, known, balance=balance or Decimal(0), dry_run=False)
        total = sum((row.amount for row in new), Decimal("0.00"))
        summary = (
            f"Imported {len(new)} transactions totalling {format_amount(total)} into account {account_id} "
            f"from a {parsed.format} file"
        )
        uow.log.describe(by=principal, tool=TOOL, summary=summary, entity_type="account", entity_id=account_id)
        size = 0
        for start in range(0, len(new), CHUNK):
            chunk = await ruled(rules, [_values(row, account_id) for row in new[start : start + CHUNK]])
            size += sum(row_bytes(values) for values in chunk)  # as stored: after the rules filled fields in
            await add_rows(uow, principal, chunk, now=now)
            await uow.log.spill()
            if progress is not None:
                done = min(start + CHUNK, len(new))
                await progress(done, len(new), f"imported {done} of {len(new)} rows")
        await check_room(uow, principal, rows=len(new), size=size)  # a refusal rolls every chunk back
        balance = await adjust_account(uow, account_id, total, len(new), now, size)
        uow.log.totals(account_id, total, rows=len(new), size=size, now=now)
        await uow.commit()
    result = _result(parsed, known, balance=check_balance(balance, account_id=account_id), dry_run=False)
    result.change_id = uow.log.change_id
    return result


def _new_rows(rows: Sequence[ParsedRow], known: set[str]) -> list[ParsedRow]:
    """The rows the account does not hold yet, each once (a file may repeat a bank id)."""
    seen = set(known)
    new: list[ParsedRow] = []
    for row in rows:
        if row.fingerprint not in seen:
            seen.add(row.fingerprint)
            new.append(row)
    return new


def _result(parsed: Parsed, known: set[str], *, balance: Decimal, dry_run: bool) -> ImportResult:
    new = _new_rows(parsed.rows, known)
    return ImportResult(
        dry_run=dry_run,
        format=parsed.format,
        rows_read=parsed.rows_read,
        to_add=len(new),
        duplicates=len(parsed.rows) - len(new),
        problems=[ImportProblem(row=p.row, reason=p.reason) for p in parsed.problems[:PROBLEMS_SHOWN]],
        sample=[_shown(row, row.fingerprint in known) for row in parsed.rows[:SAMPLE]],
        account_balance=balance,
        total_amount=sum((row.amount for row in new), Decimal("0.00")),
        notes=_notes(parsed),
    )


def _notes(parsed: Parsed) -> list[str]:
    notes = list(dict.fromkeys(parsed.notes))[:20]
    if len(parsed.problems) > PROBLEMS_SHOWN:
        notes.append(f"{len(parsed.problems)} problems in all; the first {PROBLEMS_SHOWN} are listed")
    return notes


def _shown(row: ParsedRow, duplicate: bool) -> ImportRow:
    return ImportRow(
        row=row.row,
        date=row.date,
        amount=row.amount,
        description=row.description,
        merchant=row.merchant,
        category=row.category or DEFAULT_CATEGORY,
        duplicate=duplicate,
    )
