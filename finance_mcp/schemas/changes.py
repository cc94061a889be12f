"""The change log on the wire: a page of changes, and the result of an undo."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from finance_mcp.schemas.common import Money, NotConfirmed, NotConfirmedNote


class ChangedRow(BaseModel):
    table: str = Field(description="accounts, transactions, or account_totals (a move of a balance)")
    row_id: int
    before: dict[str, Any] | None = Field(description="The row before the change; null when the change created it")
    after: dict[str, Any] | None = Field(description="The row after the change; null when the change deleted it")


class ChangeUser(BaseModel):
    user_id: int | None
    role: str
    client_id: str | None = Field(description="The OAuth client the change came through, when there was one")
    api_key_id: int | None = Field(description="The API key the change came through, when there was one")


class ChangeRead(BaseModel):
    id: int
    at: dt.datetime
    user: ChangeUser
    tool: str
    summary: str = Field(description="One line to read back to the person")
    entity_type: str
    entity_id: int | None
    rows: list[ChangedRow] = Field(description="The first rows the change touched (row_count says how many in all)")
    row_count: int
    undoes_change_id: int | None = Field(description="Set when this change is the undo of that one")
    undone_by_change_id: int | None = Field(description="Set when that later change undid this one")


class ChangePage(BaseModel):
    changes: list[ChangeRead]
    next_cursor: str | None = Field(description="Pass to list_changes as cursor for older changes; null at the end")


class ChangeUndone(BaseModel):
    undone: bool = Field(default=True, description="false only when the person did not confirm")
    change_id: int
    undo_change_id: int | None = Field(description="The change the undo itself wrote (undo it to redo)")
    summary: str
    rows_restored: int
    account_balances: dict[str, Money] = Field(
        default_factory=dict[str, Money], description="The balances the undo moved, by account id"
    )
    not_confirmed: NotConfirmed = None
    note: NotConfirmedNote = None
