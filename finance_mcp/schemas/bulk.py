"""Bulk edits on the wire: which rows (the filters of a listing, or ids), what to set, and the result."""

from __future__ import annotations

from pydantic import BaseModel, Field

from finance_mcp.schemas.common import (
    Category,
    DerCategory,
    DerMerchant,
    InputModel,
    Merchant,
    Money,
    NotConfirmed,
    NotConfirmedNote,
)
from finance_mcp.schemas.transactions import TransactionRead


class BulkSet(InputModel):
    """The fields a bulk update gives every matched row; null leaves a field as each row has it."""

    category: Category | None = None
    der_category: DerCategory = None
    merchant: Merchant = None
    der_merchant: DerMerchant = None


class BulkResult(BaseModel):
    dry_run: bool = Field(description="true: a preview, nothing was changed; call again with dry_run=false to apply")
    matched: int = Field(description="How many transactions the filters or ids selected")
    changed: int = Field(description="How many of them change (or, in a preview, would change)")
    sample: list[TransactionRead] = Field(
        description="Up to 10 of the changed rows, newest first: as they are (or would be) after an update, "
        "as they were before a delete"
    )
    account_balances: dict[str, Money] = Field(
        description="Balance of every account the rows belong to, after the change (in a preview: as it would be)"
    )
    change_id: int | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The change-log entry of a real run: undo_change(change_id) puts every row back",
    )
    not_confirmed: NotConfirmed = None
    note: NotConfirmedNote = None
