"""`get_overview`: the household at a glance, so a conversation starts with one call."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from finance_mcp.schemas.analytics import AccountBalance, CurrencyTotal, Period, Totals
from finance_mcp.schemas.budgets import BudgetStatus
from finance_mcp.schemas.common import Money
from finance_mcp.schemas.recurring import DueItem


class MonthSoFar(BaseModel):
    month: str = Field(description="YYYY-MM")
    period: Period
    totals: Totals


class CategoryThisMonth(BaseModel):
    name: str
    spending: Money
    last_month: Money


class Overview(BaseModel):
    as_of: dt.date
    accounts: list[AccountBalance]
    balances: list[CurrencyTotal] = Field(description="Per currency, never converted")
    this_month: MonthSoFar
    last_month: MonthSoFar
    last_month_same_days: Totals = Field(description="Last month to the same day, to compare")
    top_categories: list[CategoryThisMonth] = Field(description="This month's largest, up to 5")
    uncategorized: int = Field(description="Rows without der_category (counted to 10,000)")
    uncategorized_more: bool
    bills_due: list[DueItem] = Field(description="Due within 7 days, or overdue")
    budgets_at_risk: list[BudgetStatus] = Field(description="Near or over their limit")
    next_steps: list[str]
