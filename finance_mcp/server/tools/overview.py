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
            Field(description="Look from this day (YYYY-MM-DD) instead of today, e.g. a past month's end"),
        ] = None,
    ) -> Overview:
        """Start a conversation here: the household at a glance in one call.

        Every account with its balance, net worth per currency, this month's spending and income so far
        against last month's (whole, and up to the same day), the largest categories this month, and how
        many transactions wait for a derived category. Then: spending_summary or list_transactions for
        detail (next_steps says which for what).
        """
        return await overview(db, principal, on=as_of)
