"""`get_overview`: the household at a glance, so a conversation starts with one call."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from finance_mcp.schemas.analytics import AccountBalance, CurrencyTotal, Period, Totals
from finance_mcp.schemas.common import Money


class MonthSoFar(BaseModel):
    month: str = Field(description="YYYY-MM")
    period: Period
    totals: Totals


class CategoryThisMonth(BaseModel):
    name: str
    spending: Money
    last_month: Money


class Overview(BaseModel):
    as_of: dt.date = Field(description="The day looked from: today (UTC) unless asked")
    accounts: list[AccountBalance] = Field(description="Every account, by name, with today's balance")
    balances: list[CurrencyTotal] = Field(description="Per currency, never converted")
    this_month: MonthSoFar = Field(description="The 1st to today")
    last_month: MonthSoFar
    last_month_same_days: Totals = Field(description="Last month to the same day: compare this_month with it")
    top_categories: list[CategoryThisMonth] = Field(description="This month's largest, up to 5")
    uncategorized: int = Field(description="Rows without der_category, counted up to 10,000")
    uncategorized_more: bool
    next_steps: list[str]
