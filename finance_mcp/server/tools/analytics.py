"""Analytics tools: where the money went. Read-only; the database does the sums."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field, StringConstraints

from finance_mcp.schemas.analytics import (
    CashFlow,
    CategoryTrends,
    GroupBy,
    Interval,
    NetWorth,
    SpendingSummary,
    TopMerchants,
)
from finance_mcp.schemas.common import Currency
from finance_mcp.server.tools import READ, CurrentPrincipal, Db, tool
from finance_mcp.services import analytics
from finance_mcp.services import net_worth as net_worth_service
from finance_mcp.services.periods import MAX_DAYS

StartDate = Annotated[dt.date, Field(description="First day counted, inclusive")]
EndDate = Annotated[dt.date, Field(description="Last day counted, inclusive; at most ~10 years on")]
AccountIds = Annotated[
    list[Annotated[int, Field(ge=1)]] | None,
    Field(max_length=analytics.MAX_ACCOUNT_FILTER, description="Only these accounts (ids from list_accounts)"),
]
Rate = Annotated[Decimal, Field(gt=0, max_digits=24, decimal_places=12, allow_inf_nan=False)]
CategoryName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Spending summary", annotations=READ)
    async def spending_summary(
        start_date: StartDate,
        end_date: EndDate,
        principal: CurrentPrincipal,
        db: Db,
        group_by: Annotated[GroupBy, Field(description="What to total by")] = "category",
        account_ids: AccountIds = None,
        include_income: Annotated[bool, Field(description="Also count money in (positive amounts)")] = False,
        limit: Annotated[
            int | None, Field(ge=1, le=analytics.MAX_GROUPS, description="Show only the largest groups")
        ] = None,
    ) -> SpendingSummary:
        """Total spending between two dates by category, der_category, merchant, account, tag or month.

        Each group has its spending (money out, positive), income, net, count and share of the period's
        spending; largest spending first; names grouped in any case; transfers are never counted. The
        rows behind a group: list_transactions with the same dates and that category or merchant.
        """
        return await analytics.spending_summary(
            db, principal, start=start_date, end=end_date, group_by=group_by,
            account_ids=account_ids, include_income=include_income, limit=limit,
        )  # fmt: skip

    @tool(mcp, title="Cash flow", annotations=READ)
    async def cash_flow(
        start_date: StartDate,
        end_date: EndDate,
        principal: CurrentPrincipal,
        db: Db,
        interval: Annotated[Interval, Field(description="Period length: month, ISO week (Mon-Sun) or day")] = "month",
        account_ids: AccountIds = None,
    ) -> CashFlow:
        """Income, expenses and net for each month, week or day between two dates, oldest first.

        Every period is listed, empty ones as zero, the first and last cut to the dates asked for;
        expenses are positive, net = income - expenses; transfers never count. For "am I saving?" over
        time; spending_summary says where a period's expenses went.
        """
        return await analytics.cash_flow(
            db, principal, start=start_date, end=end_date, interval=interval, account_ids=account_ids
        )

    @tool(mcp, title="Net worth", annotations=READ)
    async def net_worth(
        principal: CurrentPrincipal,
        db: Db,
        as_of: Annotated[dt.date | None, Field(description="Balances at the end of this day; default today")] = None,
        interval: Annotated[Interval | None, Field(description="Also give a history by this period")] = None,
        periods: Annotated[
            int | None, Field(ge=1, le=MAX_DAYS, description="How many periods of history (default 12)")
        ] = None,
        rates: Annotated[
            dict[Currency, Rate] | None,
            Field(
                max_length=200,
                description='Only to convert: base_currency per unit of each other currency, e.g. {"EUR": "1.08"}',
            ),
        ] = None,
        base_currency: Annotated[Currency, Field(description="The currency rates convert into")] = "USD",
    ) -> NetWorth:
        """Every account's balance at a date and their total (assets minus debts), per currency too.

        Give interval and/or periods for a history of balances at each period's end. A balance is the
        opening balance plus every transaction up to the day, transfers included. Totals stay per
        currency; with rates, also converted into base_currency. Today's balances alone: list_accounts.
        """
        return await net_worth_service.net_worth(
            db, principal, as_of=as_of, interval=interval, history=periods, rates=rates, base_currency=base_currency
        )

    @tool(mcp, title="Top merchants", annotations=READ)
    async def top_merchants(
        start_date: StartDate,
        end_date: EndDate,
        principal: CurrentPrincipal,
        db: Db,
        limit: Annotated[int, Field(ge=1, le=analytics.MAX_MERCHANTS, description="How many merchants")] = 10,
        account_ids: AccountIds = None,
    ) -> TopMerchants:
        """The merchants with the most spending between two dates, largest first (merchant names in any case).

        Also gives the period's total spending and how much has no merchant; transfers never count. The
        rows behind one: list_transactions with merchant=.
        """
        return await analytics.top_merchants(
            db, principal, start=start_date, end=end_date, limit=limit, account_ids=account_ids
        )

    @tool(mcp, title="Category trends", annotations=READ)
    async def category_trends(
        principal: CurrentPrincipal,
        db: Db,
        categories: Annotated[
            list[CategoryName] | None,
            Field(max_length=analytics.MAX_TREND_CATEGORIES, description="Categories to follow (any case)"),
        ] = None,
        months: Annotated[
            int, Field(ge=1, le=analytics.MAX_TREND_MONTHS, description="How many months, ending at end_month")
        ] = 6,
        end_month: Annotated[
            str | None, Field(pattern=r"^\d{4}-\d{2}$", description="Last month, YYYY-MM; default this month")
        ] = None,
    ) -> CategoryTrends:
        """Month-by-month spending and income of categories, with each month's change against the one before.

        Without categories, follows the 10 with the most spending in the window; empty months are zero;
        transfers never count.
        For "is this category growing?"; one total per month: spending_summary with group_by=month.
        """
        return await analytics.category_trends(db, principal, categories=categories, months=months, end_month=end_month)
