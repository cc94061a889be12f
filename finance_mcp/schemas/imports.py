"""What `import_transactions` accepts beyond the file, and what it answers (a preview or the import)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from finance_mcp.schemas.common import InputModel, Money

ImportFormat = Literal["auto", "csv", "ofx", "qfx", "qif", "camt053", "json"]
ColumnName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ColumnMapping(InputModel):
    """Which CSV column (by its header text) holds what; needed only when the headers are not recognised."""

    date: ColumnName | None = None
    amount: ColumnName | None = Field(default=None, description="One signed amount column")
    debit: ColumnName | None = Field(default=None, description="Money out (with credit, instead of amount)")
    credit: ColumnName | None = Field(default=None, description="Money in (with debit, instead of amount)")
    direction: ColumnName | None = Field(default=None, description='Says debit or credit ("Af"/"Bij", "D"/"C")')
    description: ColumnName | None = None
    merchant: ColumnName | None = None
    category: ColumnName | None = None
    id: ColumnName | None = Field(default=None, description="The bank's unique transaction id, if any")

    def named(self) -> dict[str, str]:
        return {role: column for role, column in self.model_dump().items() if column is not None}


class ImportProblem(BaseModel):
    row: int = Field(
        description="Line of the file (CSV, QIF), or transaction number (OFX, QFX, CAMT, JSON); 0: the file"
    )
    reason: str


class ImportRow(BaseModel):
    row: int
    date: dt.date
    amount: Money
    description: str | None
    merchant: str | None
    category: str
    duplicate: bool = Field(description="Already in the account (from an earlier import): it will not be added")


class ImportResult(BaseModel):
    dry_run: bool
    format: str = Field(description="The format the file was read as")
    rows_read: int = Field(description="Transactions found in the file")
    to_add: int = Field(description="Rows new to the account: added (dry_run=false) or that would be")
    duplicates: int = Field(description="Rows the account already holds (they are never added twice)")
    problems: list[ImportProblem] = Field(description="Rows that could not be read; any problem stops a real import")
    sample: list[ImportRow] = Field(description="The first rows as they would be stored")
    account_balance: Money = Field(description="The account's balance now (after the import when it ran)")
    total_amount: Money = Field(description="Sum of the rows to add")
    change_id: int | None = Field(default=None, description="The import's change: undo_change(change_id) undoes it")
    notes: list[str] = Field(default_factory=list[str], description="How the file was read, where it was a guess")
