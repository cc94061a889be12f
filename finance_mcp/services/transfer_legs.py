"""The two legs of a transfer stay a pair through every edit of either (`update_transaction`,
`delete_transaction`): a new date goes to both; in one currency the legs always cancel out, so a new amount on
one leg gives the other its opposite (across currencies each leg keeps its own amount); a leg keeps its
direction and its category `transfer`, and never lands in the account of the other leg."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.transfers import TRANSFER_CATEGORY
from finance_mcp.repositories.unit_of_work import UnitOfWork
from finance_mcp.services.accounts import account_not_found

Edit = tuple[Mapping[Any, Any], dict[str, Any]]
"""A row as it is, and the new values of the columns that change."""


async def paired_edits(uow: UnitOfWork, current: Mapping[Any, Any], values: dict[str, Any]) -> list[Edit]:
    """The edit of `current` (a transfer leg), and the edit its other leg needs to stay its pair."""
    ident, transfer_id = int(current["id"]), int(current["transfer_id"])
    other = await uow.transactions.other_leg(ident, transfer_id, for_update=True)
    if other is None:  # its pair went with a deleted account: a leg on its own
        return [(current, values)]
    category = values.get("category")
    if category is not None and category.lower() != TRANSFER_CATEGORY:
        raise Invalid(
            f"Transaction {ident} is a leg of transfer {transfer_id}, whose category stays 'transfer'; to count it "
            "as something else, delete the transfer (delete_transaction) and record a transaction instead."
        )
    account_id = int(values.get("account_id", current["account_id"]))
    if account_id == int(other["account_id"]):
        raise Invalid(
            f"Account {account_id} holds the other leg of transfer {transfer_id} (transaction {other['id']}); "
            "a transfer moves money between two different accounts. Choose another account."
        )
    amount = values.get("amount", current["amount"])
    if "amount" in values and (amount == 0 or (amount > 0) != (current["amount"] > 0)):
        direction = "out of" if current["amount"] < 0 else "into"
        raise Invalid(
            f"Transaction {ident} is the leg of transfer {transfer_id} that moves money {direction} its account, "
            f"so its amount stays {'negative' if current['amount'] < 0 else 'positive'} and not zero; to send "
            "money the other way, delete the transfer and create_transfer in that direction."
        )
    mine = await uow.accounts.get(account_id)
    theirs = await uow.accounts.get(int(other["account_id"]))
    if mine is None or theirs is None:
        raise account_not_found(account_id)
    mirrored: dict[str, Any] = {}
    if "date" in values and values["date"] != other["date"]:
        mirrored["date"] = values["date"]
    if mine["currency"] == theirs["currency"] and other["amount"] != -amount:
        mirrored["amount"] = -amount
    return [(current, values), (other, mirrored)] if mirrored else [(current, values)]
