"""Recurring series on the wire: the series, its due dates, what posting did, and series found in history."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from finance_mcp.domain.schedule import Frequency
from finance_mcp.schemas.common import Money
from finance_mcp.schemas.transactions import TransactionRead

ClearableRecurringField = Literal["end_date", "merchant", "description"]


class RecurringRead(BaseModel):
    id: int
    account_id: int
    amount: Money
    category: str
    frequency: Frequency
    interval: int
    last_day: bool = Field(description="Monthly/yearly: always on the month's last day")
    start_date: dt.date
    end_date: dt.date | None
    merchant: str | None
    description: str | None
    next_due: dt.date | None = Field(description="The first due date not posted yet (past: overdue); null: ended")
    created_at: dt.datetime
    updated_at: dt.datetime


class RecurringList(BaseModel):
    recurring: list[RecurringRead]
    total: int


class RecurringDeleted(BaseModel):
    deleted: bool = True
    recurring_id: int
    postings_deleted: int = Field(description="Records of posted dates removed (the posted transactions stay)")


class DueItem(BaseModel):
    recurring_id: int
    due_date: dt.date
    account_id: int
    amount: Money
    category: str
    merchant: str | None
    overdue: bool = Field(description="Due before today and not posted yet: post_due_recurring posts it")


class Upcoming(BaseModel):
    start_date: dt.date
    end_date: dt.date
    items: list[DueItem]
    total_amount: Money = Field(description="Sum of the items (negative: money out)")
    truncated: bool = False


class Posted(BaseModel):
    as_of: dt.date
    posted: int
    transactions: list[TransactionRead]
    account_balances: dict[str, Money]
    more_due: bool = Field(description="More dates were due than one call posts (1000): call again")


class DetectedSeries(BaseModel):
    merchant: str
    typical_amount: Money = Field(description="The median payment (negative: money out)")
    frequency: Frequency
    interval: int
    cadence: str = Field(description='In words: "monthly", "every 2 weeks"')
    payments: int = Field(description="Payments found in the window")
    first_date: dt.date
    last_date: dt.date
    next_date: dt.date
    monthly_amount: Money = Field(description="The typical amount per month (a weekly 10.00 is 43.48)")
    confidence: float = Field(ge=0, le=1, description="How regular and complete the series is, 0-1")
    account_id: int
    category: str
    tracked: bool = Field(description="A recurring series of this merchant exists already")


class DetectedRecurring(BaseModel):
    start_date: dt.date
    end_date: dt.date
    series: list[DetectedSeries]
    expenses_per_month: Money = Field(description="What the money-out series cost a month together, positive")
    income_per_month: Money = Field(description="What the money-in series bring a month together")
