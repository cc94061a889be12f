"""Wire schemas of the analytics tools, resources and prompts ("where did the money go").

Conventions every result follows: money is an exact decimal string with two places; spending, expenses
and income are positive amounts of money out or in, and `net = income - expenses`; every result states
the period and the filters it covers. Transfers between the household's own accounts (category
`transfer`, any case) are neither spending nor income (`TRANSFER_RULE`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from finance_mcp.domain.periods import Interval
from finance_mcp.domain.transfers import TRANSFER_RULE
from finance_mcp.schemas.common import Money
from finance_mcp.schemas.transactions import TransactionRead

GroupBy = Literal["category", "der_category", "merchant", "account", "tag", "month"]


def _format_percent(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


Percent = Annotated[
    Decimal,
    PlainSerializer(_format_percent, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": 'A percentage, e.g. "12.50"'}),
]


class Period(BaseModel):
    start_date: dt.date
    end_date: dt.date
    days: int = Field(description="Number of days covered, both ends included")


class Filters(BaseModel):
    account_ids: list[int] | None = Field(description="Only these accounts; null = every account of the household")
    categories: list[str] | None = Field(default=None, description="Only these categories (any case); null = all")
    include_income: bool = Field(default=True, description="Whether money in (positive amounts) is counted")
    transfers_excluded: Literal[True] = Field(default=True, description=TRANSFER_RULE)


class Totals(BaseModel):
    spending: Money = Field(description="Money out, as a positive amount")
    income: Money = Field(description="Money in, as a positive amount")
    net: Money = Field(description="income - spending")
    count: int = Field(description="Transactions counted")


# ---- spending_summary / top_merchants -----------------------------------------------------------


class SpendingGroup(Totals):
    name: str | None = Field(
        description="The group: category, merchant, tag, account name or YYYY-MM month; null = transactions "
        "without a value (no merchant, no derived category, no tag)"
    )
    account_id: int | None = Field(default=None, description="The account, when grouped by account")
    share_percent: Percent = Field(description="This group's share of the period's total spending")


class SpendingSummary(BaseModel):
    period: Period
    filters: Filters
    group_by: GroupBy
    totals: Totals = Field(description="The whole period (with group_by=tag, a row with several tags counts once here)")
    groups: list[SpendingGroup] = Field(description="Largest spending first, then largest income")
    group_count: int = Field(description="How many groups there are in all (groups may be cut by limit)")
    other: Totals | None = Field(description="The groups left out by limit, added together; null when none")


class MerchantTotal(BaseModel):
    merchant: str
    spending: Money
    count: int
    share_percent: Percent = Field(description="Share of the period's total spending")


class TopMerchants(BaseModel):
    period: Period
    filters: Filters
    merchants: list[MerchantTotal] = Field(description="Largest spending first")
    merchant_count: int = Field(description="How many merchants had spending in the period")
    total_spending: Money = Field(description="All spending of the period, with or without a merchant")
    unattributed_spending: Money = Field(description="Spending on transactions without a merchant")


# ---- cash_flow ----------------------------------------------------------------------------------


class CashFlowPeriod(BaseModel):
    label: str = Field(description="YYYY-MM, YYYY-Www (ISO week) or YYYY-MM-DD")
    start_date: dt.date
    end_date: dt.date
    income: Money
    expenses: Money = Field(description="Money out, as a positive amount")
    net: Money = Field(description="income - expenses")
    count: int


class CashFlow(BaseModel):
    period: Period
    filters: Filters
    interval: Interval
    periods: list[CashFlowPeriod] = Field(description="Oldest first; every period is present, empty ones as zero")
    totals: Totals


# ---- net_worth ----------------------------------------------------------------------------------


class AccountBalance(BaseModel):
    account_id: int
    name: str
    account_type: str
    currency: str
    balance: Money = Field(description="Opening balance plus every transaction dated on or before as_of")


class CurrencyTotal(BaseModel):
    currency: str
    balance: Money


class NetWorthPoint(BaseModel):
    start_date: dt.date
    end_date: dt.date = Field(description="The balances are those at the end of this day")
    total: Money | None = Field(description="Sum of all balances; null when accounts use several currencies")
    by_currency: list[CurrencyTotal]
    balances: dict[str, Money] = Field(description="Balance of every account, keyed by account id")


class ConvertedTotal(BaseModel):
    """The total in one currency, at rates the caller gave: never computed unless asked for."""

    base_currency: str
    total: Money
    rates: dict[str, str] = Field(description="Units of base_currency per one unit of each currency, as given")
    note: str


class NetWorth(BaseModel):
    as_of: dt.date
    accounts: list[AccountBalance]
    total: Money | None = Field(description="Sum of all balances; null when accounts use several currencies")
    by_currency: list[CurrencyTotal]
    interval: Interval | None
    history: list[NetWorthPoint] = Field(
        description="Balances at each period's end, oldest first, the last at as_of; empty without interval or periods"
    )
    note: str = Field(
        default="Transfers move money between accounts and leave the total unchanged; no currency conversion."
    )
    converted: ConvertedTotal | None = Field(
        default=None,
        exclude_if=lambda converted: converted is None,
        description="Only when rates were given: the total converted into base_currency at those rates",
    )


# ---- category_trends ----------------------------------------------------------------------------


class TrendPoint(BaseModel):
    month: str = Field(description="YYYY-MM")
    spending: Money
    income: Money
    count: int
    change: Money = Field(description="spending minus the previous month's spending")
    change_percent: Percent | None = Field(description="change relative to the previous month; null when it was 0")


class CategoryTrend(BaseModel):
    category: str
    total_spending: Money
    total_income: Money
    months: list[TrendPoint] = Field(description="Oldest first, one per month, empty months as zero")


class CategoryTrends(BaseModel):
    period: Period
    filters: Filters
    months: list[str] = Field(description="The months covered, oldest first (YYYY-MM)")
    categories: list[CategoryTrend] = Field(description="The requested categories, or the largest spenders")
    omitted_categories: int = Field(description="Categories with spending left out (only when none were named)")
    note: str | None = Field(
        default=None,
        exclude_if=lambda note: note is None,
        description="Only when a requested category exists nowhere in the household: the closest existing ones",
    )


# ---- reports and prompts ------------------------------------------------------------------------


class MonthlyReport(BaseModel):
    month: str = Field(description="YYYY-MM")
    period: Period
    filters: Filters
    totals: Totals
    top_categories: list[SpendingGroup]
    top_merchants: list[MerchantTotal]


class Uncategorized(BaseModel):
    transactions: list[TransactionRead] = Field(description="Newest first")
    total: int = Field(description="How many transactions have no derived category (der_category), up to 10,000")
    more_than_total: bool = Field(description="True when there are more than `total` (counting stops at 10,000)")
    known_der_categories: list[str] = Field(
        description="Derived categories of the newest 10,000 categorised transactions, most used first"
    )


class MonthSpending(BaseModel):
    month: str
    spending: Money


class SpendingCheck(BaseModel):
    category: str
    month: str
    period: Period
    filters: Filters
    spent: Money = Field(description="Spending in the category this month so far")
    limit_amount: Money
    remaining: Money = Field(description="limit - spent; negative when over the limit")
    percent_used: Percent
    over_limit: bool
    projected: Money = Field(description="spent scaled to the whole month at the pace so far")
    previous_months: list[MonthSpending] = Field(description="The three months before, oldest first")
