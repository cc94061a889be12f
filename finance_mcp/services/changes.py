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

from sqlalchemy.exc import IntegrityError

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
ENTITY_TYPES = ("account", "transaction", "api_key", "budget", "recurring", "rule")
# The permission each logged tool needed: an undo needs the same.
PERMISSION_OF = {
    "create_account": Permission.WRITE,
    "update_account": Permission.WRITE,
    "delete_account": Permission.ADMIN,
    "create_transaction": Permission.WRITE,
    "create_transactions_batch": Permission.WRITE,
    "update_transaction": Permission.WRITE,
    "delete_transaction": Permission.WRITE,
    "create_transfer": Permission.WRITE,
    "split_transaction": Permission.WRITE,
    "bulk_update_transactions": Permission.WRITE,
    "bulk_delete_transactions": Permission.ADMIN,
    "set_budget": Permission.WRITE,
    "delete_budget": Permission.WRITE,
    "create_recurring": Permission.WRITE,
    "update_recurring": Permission.WRITE,
    "delete_recurring": Permission.WRITE,
    "post_due_recurring": Permission.WRITE,
    "create_rule": Permission.WRITE,
    "update_rule": Permission.WRITE,
    "delete_rule": Permission.WRITE,
    "apply_rules": Permission.WRITE,
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
    if not 0 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE} (or 0 for the total alone), got {limit}")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    before_id = decode_cursor(cursor) if cursor else None
    if entity_id is not None and not storable(entity_id):
        return ChangePage(changes=[], total=0, next_cursor=None)
    async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
        total = await uow.changes.count(since=since, entity_type=entity_type, entity_id=entity_id)
        if limit == 0:
            return ChangePage(changes=[], total=total, next_cursor=None)
        found = await uow.changes.page(
            since=since, entity_type=entity_type, entity_id=entity_id, before_id=before_id, limit=limit + 1
        )
        page = found[:limit]
        ids = [int(change["id"]) for change in page]
        shown = await uow.changes.rows_of(ids, per_change=ROWS_SHOWN)
        counts = await uow.changes.row_counts(ids)
    changes = [_to_read(change, shown[int(change["id"])], counts.get(int(change["id"]), 0)) for change in page]
    more = len(found) > limit
    return ChangePage(changes=changes, total=total, next_cursor=encode_cursor(ids[-1]) if more else None)


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
        for run in _runs(rows):
            if run[0].table_name != TOTALS:
                try:
                    await _put_back(uow, run)
                except IntegrityError:  # the unit rolls back: nothing was changed
                    raise _id_taken(change_id) from None
                continue
            for row in run:
                balances[str(row.row_id)] = await _move_back(uow, change_id, row)
        await uow.commit()
    return ChangeUndone(
        change_id=change_id,
        undo_change_id=uow.log.change_id,
        summary=summary,
        rows_restored=len(_real(rows)),
        account_balances=balances,
    )


def _id_taken(change_id: int) -> Conflict:
    """SQLite gives a deleted row's id to the next new row (PostgreSQL's sequences never reuse one), so a
    row the undo would put back may find its id taken by a later row, perhaps of another household: which
    row is not said."""
    return Conflict(
        f"Change {change_id} cannot be undone: a row it would put back has had its id given to a newer row "
        "since. Nothing was changed; record what the change removed again instead."
    )


async def _refuse_if_blocked(uow: UnitOfWork, change: dict[str, Any], rows: list[LoggedRow]) -> None:
    """A later change touched one of the rows (an account's own row: also its balance), or a row is no
    longer what the change left (a change from before the log): the undo would lose it, so refuse. The
    rows are read a table at a time, in chunks: a bulk edit's undo checks 10,000 rows in a few statements."""
    change_id = int(change["id"])
    real = _real(rows)
    later: dict[tuple[str, int], list[dict[str, Any]]] = {}
    current: dict[tuple[str, int], Any] = {}
    for table in dict.fromkeys(row.table_name for row in real):
        ids = [row.row_id for row in real if row.table_name == table]
        tables = ("accounts", TOTALS) if table == "accounts" else (table,)
        touched = await uow.changes.later_touches_of(tables, ids, after=change_id)
        later |= {(table, row_id): touches for row_id, touches in touched.items()}
        current |= {(table, row_id): found for row_id, found in (await uow.changes.current_of(table, ids)).items()}
    for row in real:
        blocker = _in_effect(later.get((row.table_name, row.row_id), []))
        if blocker is not None:
            raise Conflict(
                f"Change {change_id} cannot be undone: change {blocker['id']} ({blocker['summary']}) later touched "
                f"the same rows. Undo change {blocker['id']} first (undo_change), then this one."
            )
        if not _matches(current.get((row.table_name, row.row_id)), row.after):
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


def _kind(row: LoggedRow) -> str:
    if row.table_name == TOTALS:
        return "totals"
    return "created" if row.before is None else "deleted" if row.after is None else "changed"


def _runs(rows: list[LoggedRow]) -> list[list[LoggedRow]]:
    """The rows in undo order (last first), in runs of one table and kind, each put back in a few statements."""
    runs: list[list[LoggedRow]] = []
    for row in reversed(rows):
        if runs and (runs[-1][0].table_name, _kind(runs[-1][0])) == (row.table_name, _kind(row)):
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


async def _put_back(uow: UnitOfWork, run: list[LoggedRow]) -> None:
    """A run of one table's rows as they were before the change: taken out, put back or set back."""
    table, kind = run[0].table_name, _kind(run[0])
    if kind == "created":
        await uow.changes.take_out_many(table, [row.row_id for row in run])
    elif kind == "deleted":
        await uow.changes.put_back_many(table, [(row.row_id, row.before or {}) for row in run])
    else:
        await uow.changes.set_back_many(table, [(row.row_id, row.before or {}) for row in run])
    if table in ("transactions", "transaction_splits"):
        retagged = {
            row.row_id: list(row.before.get("tags") or [])
            for row in run
            if row.before is not None and (row.after is None or row.after.get("tags") != row.before.get("tags"))
        }
        if retagged and table == "transactions":
            await uow.bulk.retag(retagged)
        for row_id, tags in retagged.items() if table == "transaction_splits" else ():
            await uow.splits.set_tags(row_id, tags)
    for row in run:
        uow.log.row(table, row.row_id, row.after, row.before)


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
