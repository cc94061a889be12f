"""Which toolsets a household already uses (the default `tools/list` offers those besides core)."""

from __future__ import annotations

from finance_mcp.db.database import Database
from finance_mcp.domain.principals import Principal
from finance_mcp.repositories.unit_of_work import UnitsOfWork


async def toolsets_in_use(db: Database, principal: Principal) -> frozenset[str]:
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        return await uow.toolset_usage.used(principal.user_id)
