"""Who am I."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from finance_mcp.schemas.households import WhoAmI
from finance_mcp.server.tools import READ, CurrentPrincipal, tool
from finance_mcp.services.households import describe


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Who am I", annotations=READ)
    async def whoami(principal: CurrentPrincipal) -> WhoAmI:
        """Show the signed-in user, their household, role, token scopes and what they may do.

        Call this first if unsure whether you may change data (permissions lists read/write/admin/owner);
        get_overview shows the household's money.
        """
        return describe(principal)
