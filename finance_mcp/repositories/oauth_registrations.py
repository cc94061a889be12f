"""Counting client registrations per source in fixed windows, in the database, so every worker and
replica shares one limit. Not household data: a source is an address (or "all"), never a person."""

from __future__ import annotations

from types import ModuleType

from sqlalchemy import bindparam, case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from finance_mcp.db.database import Connection
from finance_mcp.db.models import oauth_registration_counts as counts

_STALE = delete(counts).where(counts.c.window_index < bindparam("p_window"))


def _count_statement(dialect: ModuleType) -> Executable:
    """One atomic upsert: a source's first registration in a window starts its row at 1, every later one adds 1,
    and the new count comes back. Concurrent registrations serialise on the row, so none is lost."""
    insert = dialect.insert(counts)
    return insert.on_conflict_do_update(
        index_elements=[counts.c.source],
        # Only a later window starts the count again: a replica whose clock is a little behind adds to it.
        set_={
            "count": case((insert.excluded.window_index > counts.c.window_index, 1), else_=counts.c.count + 1),
            "window_index": case(
                (insert.excluded.window_index > counts.c.window_index, insert.excluded.window_index),
                else_=counts.c.window_index,
            ),
        },
    ).returning(counts.c.count)


_COUNT = {"postgresql": _count_statement(postgresql), "sqlite": _count_statement(sqlite)}


class RegistrationCounts:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def count(self, source: str, *, window: int) -> int:
        """Count one registration of `source` in `window`; how many it has made in that window, this one included."""
        result = await self._conn.execute(
            _COUNT[self._conn.dialect], {"source": source, "window_index": window, "count": 1}
        )
        return int(result.scalar_one())

    async def forget_before(self, *, window: int) -> None:
        """Drop the rows of sources last seen before `window`: the table holds only the current window's."""
        await self._conn.execute(_STALE, {"p_window": window})
