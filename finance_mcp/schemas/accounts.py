"""Accounts on the wire."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from finance_mcp.schemas.common import AmountIn, Currency, InputModel, Money, Name, NotConfirmed, NotConfirmedNote

AccountType = Literal["checking", "savings", "credit_card", "investment", "loan", "cash", "other"]


class AccountCreate(InputModel):
    name: Name
    account_type: AccountType
    currency: Currency = "USD"
    opening_balance: AmountIn = Decimal("0")


class AccountUpdate(InputModel):
    name: Name | None = None
    account_type: AccountType | None = None


# ---- outputs -------------------------------------------------------------------------------------


class AccountRead(BaseModel):
    id: int
    name: str
    account_type: AccountType
    currency: str
    opening_balance: Money
    balance: Money
    created_at: dt.datetime
    updated_at: dt.datetime


class AccountList(BaseModel):
    accounts: list[AccountRead]
    total: int


class AccountDeleted(BaseModel):
    deleted: bool = Field(default=True, description="false only when the person did not confirm")
    account_id: int
    transactions_deleted: int
    not_confirmed: NotConfirmed = None
    note: NotConfirmedNote = None
