"""Budgets on the wire: a monthly limit per category, and how each stands in a month."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from finance_mcp.schemas.common import Money

BudgetState = Literal["under", "near", "over"]


class BudgetRead(BaseModel):
    id: int
    category: str
    amount: Money = Field(description="The monthly limit, positive")
    start_month: str = Field(description="The first month the budget counts, YYYY-MM")
    rollover: bool = Field(description="Whether what a month leaves (or overspends) carries into the next")
    created_at: dt.datetime
    updated_at: dt.datetime


class BudgetList(BaseModel):
    budgets: list[BudgetRead]
    total: int


class BudgetDeleted(BaseModel):
    deleted: bool = True
    budget_id: int


class BudgetStatus(BaseModel):
    budget_id: int
    category: str
    budgeted: Money = Field(description="This month's limit")
    rollover_in: Money = Field(description="Carried in from earlier months (negative: overspent); 0 without rollover")
    spent: Money = Field(description="Spending in the category this month, positive (as spending_summary counts it)")
    remaining: Money = Field(description="budgeted + rollover_in - spent (negative: over)")
    projected: Money = Field(description="Spending by the month's end at this month's pace so far")
    percent_used: Money = Field(description="spent as a percentage of budgeted + rollover_in")
    status: BudgetState = Field(description="over: spent more than available; near: projected past 90 %; else under")


class BudgetReport(BaseModel):
    month: str
    start_date: dt.date
    end_date: dt.date
    as_of: dt.date = Field(description="The day the projection is made from (the month's end for a past month)")
    budgets: list[BudgetStatus]
    total_budgeted: Money
    total_spent: Money
    note: str | None = None
