"""Recurring tools: planned series (rent, subscriptions), what falls due, posting it, and finding series."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from finance_mcp.domain.schedule import Frequency
from finance_mcp.schemas.common import AmountIn, Category, Description, Merchant
from finance_mcp.schemas.recurring import (
    ClearableRecurringField,
    DetectedRecurring,
    Posted,
    RecurringDeleted,
    RecurringList,
    RecurringRead,
    Upcoming,
)
from finance_mcp.server.tools import CREATE, DELETE, READ, UPDATE, CurrentPrincipal, Db, tool
from finance_mcp.services import recurring as service

RecurringId = Annotated[int, Field(ge=1, description="Recurring series id, from list_recurring")]
Interval = Annotated[int, Field(ge=1, le=service.MAX_INTERVAL, description="Every this many weeks/months/years")]
LastDay = Annotated[bool, Field(description="Monthly/yearly: always on the month's last day")]


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Create a recurring series", annotations=CREATE)
    async def create_recurring(
        account_id: Annotated[int, Field(ge=1, description="Account id, from list_accounts")],
        amount: AmountIn,
        category: Category,
        frequency: Annotated[Frequency, Field(description="weekly, monthly or yearly")],
        start_date: Annotated[dt.date, Field(description="The first due date, YYYY-MM-DD")],
        principal: CurrentPrincipal,
        db: Db,
        interval: Interval = 1,
        end_date: Annotated[dt.date | None, Field(description="The last day a date may fall due")] = None,
        merchant: Merchant = None,
        description: Description = None,
        last_day: LastDay = False,
    ) -> RecurringRead:
        """Plan a recurring transaction (rent, salary, a subscription) on an account.

        Monthly and yearly series fall on start_date's day of the month, or the month's last day when it is
        shorter (the 31st: Feb 28/29, then Mar 31). Nothing is recorded until post_due_recurring; see what
        falls due with upcoming. detect_recurring suggests series found in the history.
        """
        return await service.create_recurring(
            db, principal, account_id=account_id, amount=amount, category=category, frequency=frequency,
            start_date=start_date, interval=interval, end_date=end_date, merchant=merchant,
            description=description, last_day=last_day,
        )  # fmt: skip

    @tool(mcp, title="List recurring series", annotations=READ)
    async def list_recurring(principal: CurrentPrincipal, db: Db) -> RecurringList:
        """Every recurring series with its next due date not posted yet.

        Change one with update_recurring; what falls due soon, across series: upcoming.
        """
        return await service.list_recurring(db, principal)

    @tool(mcp, title="Update a recurring series", annotations=UPDATE)
    async def update_recurring(
        recurring_id: RecurringId,
        principal: CurrentPrincipal,
        db: Db,
        account_id: Annotated[int | None, Field(ge=1, description="Move it to this account")] = None,
        amount: AmountIn | None = None,
        category: Category | None = None,
        frequency: Frequency | None = None,
        interval: Annotated[int | None, Field(ge=1, le=service.MAX_INTERVAL)] = None,
        start_date: dt.date | None = None,
        end_date: dt.date | None = None,
        merchant: Merchant = None,
        description: Description = None,
        last_day: bool | None = None,
        clear_fields: Annotated[
            list[ClearableRecurringField] | None, Field(description='Fields to empty, e.g. ["end_date"]')
        ] = None,
    ) -> RecurringRead:
        """Change a series: only what you give changes (null = unchanged; clear_fields empties).

        Ids come from list_recurring.

        Dates already posted stay posted; transactions already recorded are not changed.
        """
        changes = {
            "account_id": account_id, "amount": amount, "category": category, "frequency": frequency,
            "interval": interval, "start_date": start_date, "end_date": end_date, "merchant": merchant,
            "description": description, "last_day": last_day,
        }  # fmt: skip
        return await service.update_recurring(db, principal, recurring_id, changes, clear_fields or [])

    @tool(mcp, title="Delete a recurring series", annotations=DELETE)
    async def delete_recurring(recurring_id: RecurringId, principal: CurrentPrincipal, db: Db) -> RecurringDeleted:
        """Stop and delete a series. The transactions it already posted stay (delete them separately).

        Ids come from list_recurring; undo_change brings the series back.
        """
        return await service.delete_recurring(db, principal, recurring_id)

    @tool(mcp, title="Upcoming recurring transactions", annotations=READ)
    async def upcoming(
        principal: CurrentPrincipal,
        db: Db,
        days: Annotated[int, Field(ge=1, le=service.MAX_UPCOMING_DAYS, description="How far ahead")] = 30,
    ) -> Upcoming:
        """What falls due from today to `days` ahead, and earlier dates not posted yet (overdue), by date.

        To record what is due as transactions: post_due_recurring.
        """
        return await service.upcoming(db, principal, days)

    @tool(mcp, title="Post due recurring transactions", annotations=UPDATE)
    async def post_due_recurring(
        principal: CurrentPrincipal,
        db: Db,
        as_of: Annotated[dt.date | None, Field(description="Post what is due up to this day (default today)")] = None,
    ) -> Posted:
        """Record a transaction for every due date up to as_of (default today) that is not posted yet.

        Each date posts once, however often (or however simultaneously) this is called. Balances follow;
        the posted transactions go through the rules; undo_change reverses the whole call.
        """
        return await service.post_due_recurring(db, principal, as_of)

    @tool(mcp, title="Detect recurring payments", annotations=READ)
    async def detect_recurring(
        principal: CurrentPrincipal,
        db: Db,
        months: Annotated[int, Field(ge=1, le=service.MAX_DETECT_MONTHS, description="How far back to look")] = 12,
        as_of: Annotated[dt.date | None, Field(description="Look back from this day (default today)")] = None,
    ) -> DetectedRecurring:
        """Find series in the history nobody set up: same merchant, similar amount, regular cadence.

        Each has its merchant, typical amount, cadence, last and next dates, monthly cost and a confidence;
        expenses_per_month totals the money-out ones. To track one, call create_recurring with its values.
        """
        return await service.detect_recurring(db, principal, months, on=as_of)
