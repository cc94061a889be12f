"""The change log on the wire: a page of changes, and the result of an undo."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from finance_mcp.schemas.common import Money, NotConfirmed, NotConfirmedNote


class ChangedRow(BaseModel):
    table: str = Field(description="accounts, transactions, or account_totals (a balance's move)")
    row_id: int
    before: dict[str, Any] | None = Field(description="null: created")
    after: dict[str, Any] | None = Field(description="null: deleted")


class ChangeUser(BaseModel):
    user_id: int | None
    role: str
    client_id: str | None = Field(description="OAuth client, if any")
    api_key_id: int | None = Field(description="API key, if any")


class ChangeRead(BaseModel):
    id: int
    at: dt.datetime
    user: ChangeUser
    tool: str
    summary: str
    entity_type: str
    entity_id: int | None
    rows: list[ChangedRow] = Field(description="The first 20 rows it touched")
    row_count: int
    undoes_change_id: int | None
    undone_by_change_id: int | None


class ChangePage(BaseModel):
    changes: list[ChangeRead]
    total: int = Field(description="How many changes match the filters, across all pages")
    next_cursor: str | None = Field(description="cursor for older changes; null at the end")


class ChangeUndone(BaseModel):
    undone: bool = Field(default=True, description="false only when the person did not confirm")
    change_id: int
    undo_change_id: int | None = Field(description="The undo's own change (undo it to redo)")
    summary: str
    rows_restored: int
    account_balances: dict[str, Money] = Field(default_factory=dict[str, Money])
    not_confirmed: NotConfirmed = None
    note: NotConfirmedNote = None
