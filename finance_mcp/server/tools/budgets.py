"""Budget tools: a monthly limit per category, and where each month stands against it."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from finance_mcp.schemas.budgets import BudgetDeleted, BudgetList, BudgetRead, BudgetReport
from finance_mcp.schemas.common import AmountIn, Category
from finance_mcp.server.tools import DELETE, READ, UPDATE, CurrentPrincipal, Db, tool
from finance_mcp.services import budgets as service

Month = Annotated[str | None, Field(pattern=r"^\d{4}-\d{2}$", description="A month, YYYY-MM; default this month")]


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Set a budget", annotations=UPDATE)
    async def set_budget(
        category: Category,
        amount: Annotated[AmountIn, Field(description='Monthly limit, more than zero, e.g. "400.00"')],
        principal: CurrentPrincipal,
        db: Db,
        start_month: Month = None,
        rollover: Annotated[
            bool, Field(description="Carry what a month leaves (or overspends) into the next month")
        ] = False,
    ) -> BudgetRead:
        """Set the monthly spending limit of a category (any case), from start_month on (default this month).

        One budget per category: setting it again replaces its amount, start month and rollover.
        Then call budget_status to see how this month stands.
        """
        return await service.set_budget(
            db, principal, category=category, amount=amount, start_month=start_month, rollover=rollover
        )

    @tool(mcp, title="List budgets", annotations=READ)
    async def list_budgets(principal: CurrentPrincipal, db: Db) -> BudgetList:
        """Every budget of the household: category, monthly amount, first month and rollover.

        How each stands this month: budget_status. Change one with set_budget, remove it with delete_budget.
        """
        return await service.list_budgets(db, principal)

    @tool(mcp, title="Delete a budget", annotations=DELETE)
    async def delete_budget(
        budget_id: Annotated[int, Field(ge=1, description="Budget id, from list_budgets")],
        principal: CurrentPrincipal,
        db: Db,
    ) -> BudgetDeleted:
        """Delete one budget (its category's transactions are untouched; undo_change brings it back)."""
        return await service.delete_budget(db, principal, budget_id)

    @tool(mcp, title="Budget status", annotations=READ)
    async def budget_status(principal: CurrentPrincipal, db: Db, month: Month = None) -> BudgetReport:
        """How each budget stands in a month: budgeted, rollover_in, spent, remaining, projected, status.

        Spent counts as spending_summary does (transfers never). projected is the month's end at the pace
        so far; status is over (spent more than available), near (projected past 90 %) or under. To see
        what was spent, call list_transactions with the category and the month's dates.
        """
        return await service.budget_status(db, principal, month)
