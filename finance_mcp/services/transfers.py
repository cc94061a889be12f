"""Transfers: money moved between two of the household's accounts, stored as two rows of category `transfer`
(out of one account, into the other) that share a `transfer_id`, written in one database transaction.
Analytics never count them (`domain/transfers.py`); net worth does not move. Edits of either leg keep the
pair (`services/transfer_legs.py`).

Across currencies the two legs carry their own amounts (`amount` leaves, `to_amount` arrives); in one
currency they are always opposite, so `to_amount` is asked for exactly when the currencies differ.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from finance_mcp.db.database import Database
from finance_mcp.domain.currencies import check_amount
from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.money import format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.domain.quotas import row_bytes
from finance_mcp.domain.transfers import TRANSFER_CATEGORY
from finance_mcp.repositories.change_recorder import image
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.transactions import TransactionRead
from finance_mcp.schemas.transfers import TransferCreate, TransferCreated
from finance_mcp.services.accounts import account_not_found
from finance_mcp.services.balances import adjust, check_room


async def create_transfer(db: Database, principal: Principal, data: TransferCreate) -> TransferCreated:
    principal.require(Permission.WRITE)
    if data.amount <= 0:
        raise Invalid(
            f"amount must be positive (got {format_amount(data.amount)}): it is what leaves from_account_id. "
            "To move money the other way, swap from_account_id and to_account_id."
        )
    if data.from_account_id == data.to_account_id:
        raise Invalid("from_account_id and to_account_id are the same account; a transfer needs two accounts.")
    now = dt.datetime.now(dt.UTC)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        arrives = await _arriving_amount(uow, data)
        legs = [_leg(data, data.from_account_id, -data.amount), _leg(data, data.to_account_id, arrives)]
        size = sum(row_bytes(leg) for leg in legs)
        await check_room(uow, principal, rows=2, size=size)
        stored = await uow.transactions.add_many(legs, created_by=principal.user_id, now=now)
        transfer_id = int(stored[0]["id"])
        linked = await uow.transactions.link([int(row["id"]) for row in stored], transfer_id)
        out, into = linked[transfer_id], linked[int(stored[1]["id"])]
        for row in (out, into):
            uow.log.row("transactions", int(row["id"]), None, image(row, created_by=principal.user_id))
        balances: dict[str, Decimal] = {}
        for leg in sorted(legs, key=lambda leg: int(leg["account_id"])):
            account_id, leg_size = int(leg["account_id"]), row_bytes(leg)
            balances[str(account_id)] = await adjust(uow, account_id, leg["amount"], 1, now, leg_size)
            uow.log.totals(account_id, leg["amount"], rows=1, size=leg_size, now=now)
        summary = (
            f"Transferred {format_amount(data.amount)} from account {data.from_account_id} to account "
            f"{data.to_account_id} on {data.date.isoformat()}"
        )
        if arrives != data.amount:
            summary += f" ({format_amount(arrives)} arrived)"
        uow.log.describe(
            by=principal, tool="create_transfer", summary=summary, entity_type="transaction", entity_id=transfer_id
        )
        await uow.commit()
    return TransferCreated(
        transfer_id=transfer_id,
        from_transaction=TransactionRead.model_validate(dict(out)),
        to_transaction=TransactionRead.model_validate(dict(into)),
        account_balances=balances,
    )


def _leg(data: TransferCreate, account_id: int, amount: Decimal) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "amount": amount,
        "date": data.date,
        "category": TRANSFER_CATEGORY,
        "description": data.description,
        "tags": [],
    }


async def _arriving_amount(uow: UnitOfWork, data: TransferCreate) -> Decimal:
    """What arrives in the target account: `amount` in one currency, `to_amount` across two."""
    source = await uow.accounts.get(data.from_account_id)
    if source is None:
        raise account_not_found(data.from_account_id)
    target = await uow.accounts.get(data.to_account_id)
    if target is None:
        raise account_not_found(data.to_account_id)
    check_amount(data.amount, source["currency"])
    if data.to_amount is not None:
        check_amount(data.to_amount, target["currency"], field="to_amount")
    if source["currency"] == target["currency"]:
        if data.to_amount is not None and data.to_amount != data.amount:
            raise Invalid(
                f"Both accounts are in {source['currency']}, so what arrives is what leaves; leave to_amount out "
                "(it is only for transfers between accounts of different currencies)."
            )
        return data.amount
    if data.to_amount is None:
        raise Invalid(
            f"Account {data.from_account_id} is in {source['currency']} and account {data.to_account_id} in "
            f"{target['currency']}: give to_amount, the {target['currency']} amount that arrives."
        )
    if data.to_amount <= 0:
        raise Invalid(f"to_amount must be positive (got {format_amount(data.to_amount)}): it is what arrives.")
    return data.to_amount
