"""One call that orients: the household at a glance."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from finance_mcp.schemas.overview import Overview
from finance_mcp.server.tools import READ, CurrentPrincipal, Db, tool
from finance_mcp.services.overview import get_overview as overview


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Overview", annotations=READ)
    async def get_overview(
        principal: CurrentPrincipal,
        db: Db,
        as_of: Annotated[
            dt.date | None,
            Field(description="Default today (UTC); e.g. a past month's end"),
        ] = None,
    ) -> Overview:
        """Start a conversation here: the household at a glance in one call.

        Every balance, net worth per currency, this month so far against last month (whole and to the
        same day), the largest categories, rows lacking a derived category, bills due and budgets at
        risk. Then spending_summary or list_transactions for detail (next_steps says which).
        """
        return await overview(db, principal, on=as_of)
