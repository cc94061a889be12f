"""The change log read back (`list_changes`), and `undo_change`: the compensating change that puts every
row a change touched back as it was (ids included) and moves balances and counters back by the same deltas.

An undo is refused, naming the change in the way, when a later change touched one of the same rows (or,
for an account's own row, its balance); it is itself a change, so undoing an undo redoes the original.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Conflict, Invalid, NotFound
from finance_mcp.domain.money import check_balance
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.repositories.change_recorder import TOTALS, image
from finance_mcp.repositories.changes import LoggedRow
from finance_mcp.repositories.ids import storable
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.changes import ChangedRow, ChangePage, ChangeRead, ChangeUndone, ChangeUser

MAX_PAGE = 200
ROWS_SHOWN = 20
ENTITY_TYPES = ("account", "transaction", "api_key")
# The permission each logged tool needed: an undo needs the same.
PERMISSION_OF = {
    "create_account": Permission.WRITE,
    "update_account": Permission.WRITE,
    "delete_account": Permission.ADMIN,
    "create_transaction": Permission.WRITE,
    "create_transactions_batch": Permission.WRITE,
    "update_transaction": Permission.WRITE,
    "delete_transaction": Permission.WRITE,
    "import_transactions": Permission.WRITE,
}
UNDO = "undo_change"
NOT_UNDOABLE = "Changes to API keys and members cannot be undone; revoke the key instead (revoke_api_key)."


def change_not_found(change_id: int) -> NotFound:
    return NotFound(f"Change {change_id} was not found in your household; call list_changes to find the right id.")


def encode_cursor(change_id: int) -> str:
    return base64.urlsafe_b64encode(f"c{change_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        change_id = int(text.removeprefix("c")) if text.startswith("c") else 0
    except (ValueError, binascii.Error, UnicodeDecodeError):
        change_id = 0
    if not storable(change_id):
        raise Invalid("cursor is not valid; pass the next_cursor of a previous list_changes call, or omit it")
    return change_id


async def list_changes(
    db: Database,
    principal: Principal,
    *,
    since: dt.datetime | None = None,
    entity_type: str | None = None,
    entity_id: int | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ChangePage:
    principal.require(Permission.READ)
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    before_id = decode_cursor(cursor) if cursor else None
    if entity_id is not None and not storable(entity_id):
        return ChangePage(changes=[], next_cursor=None)
    async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
        found = await uow.changes.page(
            since=since, entity_type=entity_type, entity_id=entity_id, before_id=before_id, limit=limit + 1
        )
        page = found[:limit]
        ids = [int(change["id"]) for change in page]
        shown = await uow.changes.rows_of(ids, per_change=ROWS_SHOWN)
        counts = await uow.changes.row_counts(ids)
    changes = [_to_read(change, shown[int(change["id"])], counts.get(int(change["id"]), 0)) for change in page]
    more = len(found) > limit
    return ChangePage(changes=changes, next_cursor=encode_cursor(ids[-1]) if more else None)


def _to_read(change: dict[str, Any], rows: list[LoggedRow], count: int) -> ChangeRead:
    user = ChangeUser(
        user_id=change["user_id"], role=change["role"], client_id=change["client_id"], api_key_id=change["api_key_id"]
    )
    return ChangeRead(
        id=change["id"],
        at=change["at"],
        user=user,
        tool=change["tool"],
        summary=change["summary"],
        entity_type=change["entity_type"],
        entity_id=change["entity_id"],
        rows=[ChangedRow(table=r.table_name, row_id=r.row_id, before=r.before, after=r.after) for r in rows],
        row_count=count,
        undoes_change_id=change["undoes_change_id"],
        undone_by_change_id=change["undone_by_change_id"],
    )


@dataclass(frozen=True)
class UndoPreview:
    """What `undo_change` would do: the change, and how many rows it would put back."""

    change_id: int
    summary: str
    rows: int


def _real(rows: list[LoggedRow]) -> list[LoggedRow]:
    return [r for r in rows if r.table_name != TOTALS]


async def _undoable(uow: UnitOfWork, principal: Principal, change_id: int) -> tuple[dict[str, Any], list[LoggedRow]]:
    """The change and its rows, once the caller may undo it: refusals that need no look at the rows."""
    change = await uow.changes.get(change_id) if storable(change_id) else None
    if change is None:
        raise change_not_found(change_id)
    principal.require(await _permission_for(uow, change))
    if change["undone_by_change_id"] is not None:
        by = change["undone_by_change_id"]
        raise Conflict(f"Change {change_id} was already undone by change {by}; to redo it, call undo_change({by}).")
    return change, (await uow.changes.rows_of([change_id]))[change_id]


async def _permission_for(uow: UnitOfWork, change: dict[str, Any]) -> Permission:
    """The permission the original tool needed (an undo of an undo: that of the change first undone)."""
    while change["tool"] == UNDO and change["undoes_change_id"] is not None:
        original = await uow.changes.get(int(change["undoes_change_id"]))
        if original is None:
            break
        change = original
    needed = PERMISSION_OF.get(change["tool"])
    if needed is None:
        raise Conflict(NOT_UNDOABLE)
    return needed


async def preview_undo(db: Database, principal: Principal, change_id: int) -> UndoPreview:
    """What `undo_change` would put back, refused exactly as the undo would be (role, household, done)."""
    principal.require(Permission.READ)
    async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
        change, rows = await _undoable(uow, principal, change_id)
    return UndoPreview(change_id=change_id, summary=change["summary"], rows=len(_real(rows)))


async def undo_change(db: Database, principal: Principal, change_id: int) -> ChangeUndone:
    principal.require(Permission.READ)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        change, rows = await _undoable(uow, principal, change_id)
        await _refuse_if_blocked(uow, change, rows)
        summary = f"Undid change {change_id}: {change['summary']}"
        uow.log.describe(
            by=principal,
            tool=UNDO,
            summary=summary,
            entity_type=change["entity_type"],
            entity_id=change["entity_id"],
            undoes=change_id,
        )
        balances: dict[str, Decimal] = {}
        for row in reversed(rows):
            if row.table_name == TOTALS:
                balances[str(row.row_id)] = await _move_back(uow, change_id, row)
            else:
                await _put_back(uow, row)
        await uow.commit()
    return ChangeUndone(
        change_id=change_id,
        undo_change_id=uow.log.change_id,
        summary=summary,
        rows_restored=len(_real(rows)),
        account_balances=balances,
    )


async def _refuse_if_blocked(uow: UnitOfWork, change: dict[str, Any], rows: list[LoggedRow]) -> None:
    """A later change touched one of the rows (an account's own row: also its balance), or a row is no
    longer what the change left (a change from before the log): the undo would lose it, so refuse."""
    change_id = int(change["id"])
    for row in _real(rows):
        tables = ("accounts", TOTALS) if row.table_name == "accounts" else (row.table_name,)
        blocker = _in_effect(await uow.changes.later_touches(tables, row.row_id, after=change_id))
        if blocker is not None:
            raise Conflict(
                f"Change {change_id} cannot be undone: change {blocker['id']} ({blocker['summary']}) later touched "
                f"the same rows. Undo change {blocker['id']} first (undo_change), then this one."
            )
        current = await uow.changes.current(row.table_name, row.row_id)
        if not _matches(current, row.after):
            raise Conflict(
                f"Change {change_id} cannot be undone: {row.table_name} row {row.row_id} is no longer as it left "
                "it (changed outside the change log); nothing was changed."
            )
    for row in rows:
        if row.table_name == TOTALS and await uow.accounts.lock(row.row_id) is False:
            blocker = _in_effect(await uow.changes.later_touches(("accounts",), row.row_id, after=change_id))
            named = f"; undo change {blocker['id']} ({blocker['summary']}) first" if blocker else ""
            raise Conflict(f"Change {change_id} cannot be undone: account {row.row_id} no longer exists{named}.")


def _in_effect(later: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest of these later changes whose effect still stands. A change undone by an undo that still
    stands is cancelled with that undo (undoing the undo brings the change back in)."""
    by_id = {int(c["id"]): c for c in later}
    standing: dict[int, bool] = {}
    for change_id in sorted(by_id, reverse=True):
        undone_by = by_id[change_id]["undone_by_change_id"]
        standing[change_id] = not (undone_by in by_id and standing[int(undone_by)])
    for change_id in sorted(by_id, reverse=True):
        if standing[change_id] and by_id[change_id]["undoes_change_id"] not in by_id:
            return by_id[change_id]
    return None


def _matches(current: Any, after: dict[str, Any] | None) -> bool:
    if after is None:
        return current is None
    if current is None:
        return False
    now = image(dict(current))
    return all(now.get(name) == value for name, value in after.items())


async def _put_back(uow: UnitOfWork, row: LoggedRow) -> None:
    if row.before is None:
        await uow.changes.take_out(row.table_name, row.row_id)
    elif row.after is None:
        await uow.changes.put_back(row.table_name, row.row_id, row.before)
    else:
        await uow.changes.set_back(row.table_name, row.row_id, row.before)
    retagged = row.after is None or row.after.get("tags") != (row.before or {}).get("tags")
    if row.table_name == "transactions" and row.before is not None and retagged:
        await uow.transactions.set_tags(row.row_id, list(row.before.get("tags") or []))
    uow.log.row(row.table_name, row.row_id, row.after, row.before)


async def _move_back(uow: UnitOfWork, change_id: int, row: LoggedRow) -> Decimal:
    moved = row.after or {}
    delta, rows, size = -Decimal(moved["delta"]), -int(moved["rows"]), -int(moved["bytes"])
    previous = await uow.changes.previous_updated_at(row.row_id, before=change_id)
    done = await uow.changes.move_totals(
        row.row_id, delta, rows=rows, size=size, stamp_if=moved["updated_at"], stamp=previous
    )
    if done is None:
        raise Conflict(f"Change {change_id} cannot be undone: account {row.row_id} no longer exists.")
    uow.log.totals(row.row_id, delta, rows=rows, size=size, now=done["updated_at"])
    return check_balance(done["balance"], account_id=row.row_id)
