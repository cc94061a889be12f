"""Report resources and analysis prompts. Like every resource, they read only the caller's household.

The prompts fetch the household's numbers first and hand them to the assistant with the steps to take,
so the conversation starts from facts rather than from a plan to go and find them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.money import format_amount
from finance_mcp.domain.principals import Principal
from finance_mcp.domain.transfers import TRANSFER_RULE
from finance_mcp.server.dependencies import resolve_principal
from finance_mcp.server.errors import translate_prompt_errors
from finance_mcp.server.resources import resource
from finance_mcp.server.state import ServerState
from finance_mcp.services import budgets, net_worth, reports
from finance_mcp.services.analytics import today
from finance_mcp.services.budgets import budget_available
from finance_mcp.services.periods import add_months, month_end, month_label, parse_month

JSON = "application/json"
NET_WORTH_MONTHS = 12
UNCATEGORIZED_DEFAULT = 20

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def prompt(mcp: MCPServer, *, title: str) -> Callable[[F], F]:
    """`@mcp.prompt(...)` with the function's domain errors translated once (`server/errors.py`)."""

    def register(fn: F) -> F:
        mcp.prompt(title=title)(translate_prompt_errors(fn))
        return fn

    return register


def as_json(model: BaseModel) -> str:
    return model.model_dump_json(indent=2)


def _limit(text: str) -> int:
    if not text.strip().isdecimal():
        raise Invalid(f"limit must be a whole number from 1 to {reports.MAX_UNCATEGORIZED}, got {text!r}")
    return int(text)


def register(mcp: MCPServer, state: ServerState) -> None:
    async def principal() -> Principal:
        return await resolve_principal(state)

    @resource(
        mcp, "finance://reports/monthly/{year}-{month}", name="monthly_report", title="Monthly report", mime_type=JSON
    )
    async def monthly_report(year: str, month: str) -> str:
        """A month's income, expenses, net, and largest spending categories and merchants (URI month: YYYY-MM)."""
        return as_json(await reports.monthly_report(state.db, await principal(), f"{year}-{month}"))

    @resource(mcp, "finance://reports/net-worth", name="net_worth_report", title="Net worth", mime_type=JSON)
    async def net_worth_report() -> str:
        """Every account's balance today, the total, and its history at the end of each of the last 12 months."""
        worth = await net_worth.net_worth(state.db, await principal(), interval="month", history=NET_WORTH_MONTHS)
        return as_json(worth)

    @prompt(mcp, title="Monthly review")
    async def monthly_review(
        month: Annotated[str, Field(description="The month to review, YYYY-MM (e.g. 2026-03)")],
    ) -> str:
        """Review a month: income, expenses, net, where the money went and what changed, with suggestions."""
        first = parse_month(month)
        report = await reports.monthly_report(state.db, await principal(), month)
        previous = month_label(add_months(first, -1))
        return f"""Please review my household's finances for {report.month}.

Here is the month's report from the finance server (money out is "spending", as a positive amount;
net = income - spending; {TRANSFER_RULE}):

```json
{as_json(report)}
```

1. Summarise income, spending and net in two or three sentences.
2. Name the categories and merchants where most of the money went, with their share of spending.
3. Compare with {previous}: call cash_flow(start_date="{add_months(first, -1)}", end_date="{month_end(first)}",
   interval="month"), and category_trends(end_month="{report.month}", months=3) for the largest
   categories. Say what grew or shrank, and by how much.
4. If something looks unusual, find the transactions behind it with list_transactions (same dates, that
   category or merchant) and name them.
5. End with up to three concrete, friendly suggestions. Do not change any data."""

    @prompt(mcp, title="Categorize uncategorized transactions")
    async def categorize_uncategorized(
        limit: Annotated[
            str, Field(description=f"How many transactions to work on, 1-{reports.MAX_UNCATEGORIZED} (default 20)")
        ] = str(UNCATEGORIZED_DEFAULT),
    ) -> str:
        """Find transactions without a derived category (der_category) and set one on each, consistently."""
        found = await reports.uncategorized(state.db, await principal(), _limit(limit))
        if not found.transactions:
            return "Every transaction in my household already has a derived category (der_category). Tell me so."
        rows = [_compact(t.model_dump(mode="json")) for t in found.transactions]
        known = ", ".join(found.known_der_categories) or "(none yet)"
        how_many = f"More than {found.total}" if found.more_than_total else str(found.total)
        return f"""{how_many} of my transactions have no derived category (der_category); here are the newest \
{len(rows)}.
Derived categories already in use, most used first: {known}.

```json
{json.dumps(rows, indent=1)}
```

For each transaction:
1. Choose a der_category from its category, merchant and description. Reuse one of those in use when it
   fits; otherwise use a short Title Case name, and use the same name for similar transactions.
   Transfers between our own accounts get "Transfer".
2. Call update_transaction with its transaction_id and der_category (and der_merchant, a clean merchant
   name, when the merchant text is messy). Change nothing else.
3. If you cannot tell what a transaction is, skip it and list it for me at the end.
If update_transaction is refused for lack of permission (whoami shows it), give me the list of proposed
categories instead. Finish with a short table: transaction id, der_category."""

    @prompt(mcp, title="Spending alert")
    async def spending_alert(
        category: Annotated[str, Field(description="The category to watch, any case (e.g. Dining)")],
        limit_amount: Annotated[
            str,
            Field(description='The monthly limit, a positive amount (e.g. "400.00"); default: the category\'s budget'),
        ] = "",
    ) -> str:
        """Check this month's spending in a category against its budget (or a limit); warn if over or heading over."""
        who = await principal()
        budget = await budgets.category_status(state.db, who, category)
        if not limit_amount.strip() and budget is None:
            raise Invalid(
                f"No budget is set for {category.strip()!r}: give limit_amount, or set one with "
                "set_budget(category, amount) and ask again."
            )
        limit = limit_amount.strip() or budget_available(budget)
        check = await reports.spending_check(state.db, who, category=category, limit_amount=limit)
        state_of = "OVER the limit" if check.over_limit else "within the limit"
        budget_part = ""
        if budget is not None:
            budget_part = f"""
The category has a budget (budget_status; rollover_in is carried from earlier months, status is
under, near = projected past 90 %, or over):

```json
{as_json(budget)}
```
"""
        return f"""Check my spending on "{check.category}" in {check.month} against my limit of \
{format_amount(check.limit_amount)}. Today is {today()}.

The finance server reports (spending as a positive amount; {TRANSFER_RULE}):

```json
{as_json(check)}
```
{budget_part}
So far it is {format_amount(check.spent)} ({check.percent_used}% of the limit): {state_of}; at this pace the
month would end near {format_amount(check.projected)}.
1. Start with one clear line: over the limit, on course to go over, or fine.
2. If over or heading over, find the largest items with list_transactions(category="{check.category}",
   start_date="{check.period.start_date}", end_date="{check.period.end_date}") and name the top few.
3. Compare with the previous months above and say whether this month is unusual.
4. Suggest how much per day is left to stay within the limit for the rest of the month.
Do not change any data."""


def _compact(transaction: dict[str, Any]) -> dict[str, Any]:
    """The fields that help decide a category; empty ones left out."""
    keep = ("id", "date", "amount", "category", "merchant", "description", "der_merchant", "tags")
    return {name: transaction[name] for name in keep if transaction.get(name) not in (None, [], "")}
