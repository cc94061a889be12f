"""What a household already uses, in one round trip: the toolsets offered by default follow it."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, exists, literal, select, union_all

from finance_mcp.db.database import Connection
from finance_mcp.db.models import accounts, api_keys, budgets, changes, recurring, rules, transactions

# A toolset, and a query that finds the household uses it (`p_household`, `p_user` bound).
_USES: dict[str, Select[str]] = {
    "changes": select(literal("changes")).where(exists().where(changes.c.household_id == bindparam("p_household"))),
    # Served per account by the unique index on (account_id, import_fingerprint).
    "import": select(literal("import")).where(
        exists().where(
            accounts.c.household_id == bindparam("p_household"),
            transactions.c.account_id == accounts.c.id,
            transactions.c.import_fingerprint.is_not(None),
        )
    ),
    "planning": select(literal("planning")).where(
        exists().where(budgets.c.household_id == bindparam("p_household"))
        | exists().where(recurring.c.household_id == bindparam("p_household"))
        | exists().where(rules.c.household_id == bindparam("p_household"))
    ),
    "keys": select(literal("keys")).where(
        exists().where(api_keys.c.household_id == bindparam("p_household"), api_keys.c.user_id == bindparam("p_user"))
    ),
}
_ALL = union_all(*_USES.values())


class ToolsetUsage:
    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id

    async def used(self, user_id: int) -> frozenset[str]:
        """The toolsets with something of this household (or, for keys, this user) in them."""
        rows = await self._conn.execute(_ALL, {"p_household": self._household_id, "p_user": user_id})
        return frozenset(str(name) for (name,) in rows)
