"""Splits: one transaction (a supermarket receipt) counted as parts (groceries, household), which add up to its
amount exactly. Analytics count the parts instead of the transaction (`repositories/analytics.py`); the
transaction itself, its account and its balance do not change. A part without tags of its own takes the
transaction's tags. `parts=[]` removes the split. A transfer leg is never split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping

from finance_mcp.db.database import Database
from finance_mcp.domain.currencies import check_amount
from finance_mcp.domain.errors import Invalid, NotFound
from finance_mcp.domain.money import format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.repositories.change_recorder import image
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from finance_mcp.schemas.splits import SplitPart, TransactionSplitDone
from finance_mcp.schemas.transactions import TransactionRead

MAX_PARTS = 50
SPLIT_TABLE = "transaction_splits"


def transaction_not_found(transaction_id: int) -> NotFound:
    return NotFound(
        f"Transaction {transaction_id} was not found in your household; call list_transactions to find the right id."
    )


def with_splits(row: Mapping[Any, Any], parts: Sequence[Mapping[Any, Any]]) -> dict[str, Any]:
    """The row with its parts, as `TransactionRead` takes them."""
    return {**row, "splits": [dict(part) for part in parts]}


async def split_transaction(
    db: Database, principal: Principal, transaction_id: int, parts: Sequence[SplitPart]
) -> TransactionSplitDone:
    principal.require(Permission.WRITE)
    if len(parts) == 1 or len(parts) > MAX_PARTS:
        raise Invalid(
            f"A split has 2 to {MAX_PARTS} parts, got {len(parts)}; to change the category of the whole "
            "transaction use update_transaction, or pass parts=[] to remove a split."
        )
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        current = await uow.transactions.get(transaction_id, for_update=True)
        if current is None:
            raise transaction_not_found(transaction_id)
        if current["transfer_id"] is not None:
            raise Invalid(
                f"Transaction {transaction_id} is a leg of transfer {current['transfer_id']}; a transfer cannot "
                "be split. Split a spending or income transaction instead."
            )
        old = (await uow.splits.of([transaction_id], for_update=True)).get(transaction_id, [])
        if not parts and not old:
            raise Invalid(f"Transaction {transaction_id} is not split: there is no split to remove (nothing changed).")
        _check_sum(transaction_id, current["amount"], parts)
        account = await uow.accounts.get(int(current["account_id"]))
        for part in parts:
            check_amount(part.amount, account["currency"] if account else "USD", field="part amount")
        values = [_part_values(part, current) for part in parts]
        new = await uow.splits.replace(transaction_id, [int(row["id"]) for row in old], values)
        # The transaction itself, unchanged: an undo of a change to it (its creation) then sees this split in
        # the way, instead of taking its parts away unlogged.
        uow.log.row("transactions", transaction_id, image(current), image(current))
        for row in old:
            uow.log.row(SPLIT_TABLE, int(row["id"]), image(row), None)
        for row in new:
            uow.log.row(SPLIT_TABLE, int(row["id"]), None, image(row))
        uow.log.describe(
            by=principal,
            tool="split_transaction",
            summary=_summary(transaction_id, current["amount"], new),
            entity_type="transaction",
            entity_id=transaction_id,
        )
        await uow.commit()
    return TransactionSplitDone(transaction=TransactionRead.model_validate(with_splits(current, new)))


def _check_sum(transaction_id: int, amount: Decimal, parts: Sequence[SplitPart]) -> None:
    if not parts:
        return
    total = sum((part.amount for part in parts), Decimal("0.00"))
    if total != amount:
        raise Invalid(
            f"The parts add up to {format_amount(total)}, but transaction {transaction_id}'s amount is "
            f"{format_amount(amount)}: they are off by {format_amount(abs(total - amount))}. Make the parts add up "
            "exactly (nothing was changed)."
        )


def _part_values(part: SplitPart, current: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "amount": part.amount,
        "category": part.category,
        "der_category": part.der_category,
        "description": part.description,
        "tags": list(part.tags) if part.tags is not None else list(current["tags"] or []),
    }


def _summary(transaction_id: int, amount: Decimal, new: list[RowMapping]) -> str:
    if not new:
        return f"Removed the split of transaction {transaction_id}"
    said = ", ".join(f"{format_amount(row['amount'])} {row['category']}" for row in new)
    return f"Split transaction {transaction_id} ({format_amount(amount)}) into {said}"
