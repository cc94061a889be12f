"""The parts split transactions are divided into, and their tags, of one household."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, bindparam, delete, insert, select

from finance_mcp.db.database import Connection
from finance_mcp.db.models import transaction_split_tags, transaction_splits

s = transaction_splits.c
COLUMNS = (s.id, s.transaction_id, s.amount, s.category, s.der_category, s.description, s.tags)
_MINE = s.household_id == bindparam("p_household")
_OF = select(*COLUMNS).where(_MINE, s.transaction_id.in_(bindparam("p_ids", expanding=True))).order_by(s.id)
_OF_FOR_UPDATE = _OF.with_for_update()
_INSERT = insert(transaction_splits).returning(*COLUMNS, sort_by_parameter_order=True)
_DELETE = delete(transaction_splits).where(_MINE, s.id.in_(bindparam("p_ids", expanding=True)))
_DELETE_TAGS = delete(transaction_split_tags).where(
    transaction_split_tags.c.household_id == bindparam("p_household"),
    transaction_split_tags.c.split_id == bindparam("p_split"),
)
_INSERT_TAGS = insert(transaction_split_tags)


def tag_key(tag: str) -> str:
    return tag.strip().lower()


class SplitRepository:
    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id

    async def of(self, transaction_ids: Sequence[int], *, for_update: bool = False) -> dict[int, list[RowMapping]]:
        """The parts of these transactions (by transaction id, in order); a transaction not split has none."""
        found: dict[int, list[RowMapping]] = {}
        if not transaction_ids:
            return found
        params = {"p_household": self._household_id, "p_ids": list(transaction_ids)}
        result = await self._conn.execute(_OF_FOR_UPDATE if for_update else _OF, params)
        for row in result.mappings().all():
            found.setdefault(int(row["transaction_id"]), []).append(row)
        return found

    async def replace(
        self, transaction_id: int, old_ids: Sequence[int], parts: Sequence[dict[str, Any]]
    ) -> list[RowMapping]:
        """Make `parts` the transaction's parts instead of `old_ids` (tag rows too); return them as stored.

        The new parts go in before the old go out: SQLite gives a new row the highest id plus one, so parts
        deleted first could hand their ids to their replacements, and one change would log one id twice."""
        stored: list[RowMapping] = []
        if parts:
            stamp = {"household_id": self._household_id, "transaction_id": transaction_id}
            stored = list((await self._conn.execute(_INSERT, [{**part, **stamp} for part in parts])).mappings().all())
            for row in stored:
                await self._insert_tags(int(row["id"]), row["tags"])
        if old_ids:
            await self._conn.execute(_DELETE, {"p_household": self._household_id, "p_ids": list(old_ids)})
        return stored

    async def set_tags(self, split_id: int, tags: list[str]) -> None:
        """Make the part's tag rows those of `tags` (an undo puts a part's tags back)."""
        await self._conn.execute(_DELETE_TAGS, {"p_household": self._household_id, "p_split": split_id})
        await self._insert_tags(split_id, tags)

    async def _insert_tags(self, split_id: int, tags: list[str]) -> None:
        keys = sorted({tag_key(tag) for tag in tags})
        if keys:
            rows = [{"split_id": split_id, "tag": key, "household_id": self._household_id} for key in keys]
            await self._conn.execute(_INSERT_TAGS, rows)
