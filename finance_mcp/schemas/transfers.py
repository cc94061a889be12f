"""Transfers on the wire: money moved between two of the household's accounts, as two linked rows."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from finance_mcp.schemas.common import AmountIn, Description, InputModel, Money
from finance_mcp.schemas.transactions import TransactionRead


class TransferCreate(InputModel):
    from_account_id: int = Field(ge=1)
    to_account_id: int = Field(ge=1)
    amount: AmountIn
    date: dt.date
    description: Description = None
    to_amount: AmountIn | None = None


class TransferCreated(BaseModel):
    transfer_id: int = Field(description="Shared by both legs (their transfer_id): the id of the leg money left")
    from_transaction: TransactionRead = Field(description="The leg money left, a negative amount")
    to_transaction: TransactionRead = Field(description="The leg money arrived in, a positive amount")
    account_balances: dict[str, Money] = Field(description="New balance of both accounts, keyed by account id")
