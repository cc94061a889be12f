"""Transactions on the wire: a create, an update, the filters of a listing, and the results."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from finance_mcp.schemas.common import (
    AmountIn,
    Category,
    DerCategory,
    DerMerchant,
    Description,
    InputModel,
    Location,
    Merchant,
    Money,
    Tags,
)

ClearableField = Literal["description", "merchant", "location", "tags", "der_category", "der_merchant"]


class TransactionFields(InputModel):
    """A transaction's own fields: a single create, or one item of a batch."""

    amount: AmountIn
    date: dt.date
    category: Category
    description: Description = None
    merchant: Merchant = None
    location: Location = None
    tags: Tags = None
    der_category: DerCategory = None
    der_merchant: DerMerchant = None


class TransactionUpdate(InputModel):
    account_id: int | None = Field(default=None, ge=1)
    amount: AmountIn | None = None
    date: dt.date | None = None
    category: Category | None = None
    description: Description = None
    merchant: Merchant = None
    location: Location = None
    tags: Tags = None
    der_category: DerCategory = None
    der_merchant: DerMerchant = None
    clear_fields: list[ClearableField] = Field(default_factory=list[ClearableField])

    @model_validator(mode="after")
    def _clear_or_set(self) -> TransactionUpdate:
        both = [name for name in self.clear_fields if getattr(self, name) is not None]
        if both:
            raise ValueError(f"{', '.join(both)} is both given a value and listed in clear_fields; do one or the other")
        return self


class TransactionFilter(InputModel):
    account_id: int | None = Field(default=None, ge=1)
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    category: str | None = None
    der_category: str | None = None
    merchant: str | None = None
    der_merchant: str | None = None
    tags: list[str] | None = None
    min_amount: AmountIn | None = None
    max_amount: AmountIn | None = None
    search: str | None = None


# ---- outputs -------------------------------------------------------------------------------------


class SplitRead(BaseModel):
    id: int
    amount: Money
    category: str
    der_category: str | None
    description: str | None
    tags: list[str]


class TransactionRead(BaseModel):
    id: int
    account_id: int
    amount: Money
    date: dt.date
    category: str
    description: str | None
    merchant: str | None
    location: str | None
    tags: list[str]
    der_category: str | None
    der_merchant: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    transfer_id: int | None = None
    splits: list[SplitRead] = Field(default_factory=list[SplitRead])


class TransactionCreated(BaseModel):
    transaction: TransactionRead
    account_balance: Money


class BatchCreated(BaseModel):
    transactions: list[TransactionRead]
    count: int
    total_amount: Money
    account_balance: Money


class TransactionPage(BaseModel):
    transactions: list[TransactionRead]
    total: int = Field(description="How many transactions match the filters, across all pages")
    next_cursor: str | None = Field(description="Pass as cursor to get the next page; null on the last page")
    note: str | None = Field(
        default=None,
        exclude_if=lambda note: note is None,
        description="Only when the page is empty because a category filter names no existing category: the "
        "closest existing ones",
    )


class TransactionUpdated(BaseModel):
    transaction: TransactionRead
    account_balances: dict[str, Money] = Field(
        description="New balance of every account the change touched, keyed by account id"
    )


class TransactionDeleted(BaseModel):
    deleted: Literal[True] = True
    transaction_id: int
    account_balance: Money
    account_balances: dict[str, Money] = Field(default_factory=dict[str, Money])
    deleted_transaction_ids: list[int] = Field(
        default_factory=list[int], description="This one, and a transfer's other leg"
    )
