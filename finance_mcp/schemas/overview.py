"""`get_overview`: the household at a glance, so a conversation starts with one call."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from finance_mcp.schemas.accounts import AccountType
from finance_mcp.schemas.analytics import Period, Totals
from finance_mcp.schemas.common import Money


class AccountBrief(BaseModel):
    id: int
    name: str
    account_type: AccountType
    currency: str
    balance: Money


class CurrencyTotal(BaseModel):
    currency: str
    balance: Money = Field(description="Sum of the balances of the accounts in this currency")


class MonthSoFar(BaseModel):
    month: str = Field(description="YYYY-MM")
    period: Period
    totals: Totals


class CategoryThisMonth(BaseModel):
    name: str
    spending: Money = Field(description="This month so far")
    last_month: Money = Field(description="Spending in this category in the whole of last month")


class Overview(BaseModel):
    as_of: dt.date = Field(description="Today (UTC), the last day counted")
    accounts: list[AccountBrief] = Field(description="Every account, ordered by name, with its balance")
    balances: list[CurrencyTotal] = Field(description="Net worth per currency; currencies are never converted")
    this_month: MonthSoFar = Field(description="From the 1st to today")
    last_month: MonthSoFar = Field(description="The whole of last month")
    last_month_same_days: Totals = Field(
        description="Last month up to the same day of the month: compare this_month with this, like for like"
    )
    top_categories: list[CategoryThisMonth] = Field(description="This month's largest spending categories, up to 5")
    uncategorized: int = Field(description="Transactions without a derived category (der_category), up to 10,000")
    uncategorized_more: bool = Field(description="True when there are more than 10,000 of them")
    next_steps: list[str] = Field(description="What to call next for the usual follow-up questions")
