"""Many transactions of one household at once: the rows a bulk edit selects (the filters of a listing,
`TransactionRepository.where`, and or ids), changed or deleted in a few statements whatever their number."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from finance_mcp.db.database import Connection, as_dicts
from finance_mcp.db.models import transaction_tags, transactions
from finance_mcp.repositories.ids import storable
from finance_mcp.repositories.transactions import TransactionCriteria, TransactionRepository, tag_key

# Well below both databases' limits on bound parameters per statement.
CHUNK = 1000
# The columns a bulk update writes: each under a name no column has (an UPDATE would also SET a column
# whose name a parameter reuses).
EDITABLE = ("category", "der_category", "merchant", "der_merchant", "tags", "updated_at")
_UPDATE = (
    update(transactions)
    .where(transactions.c.id == bindparam("b_id"), transactions.c.household_id == bindparam("b_household"))
    .values({name: bindparam(f"b_{name}") for name in EDITABLE})
)
_NEWEST_FIRST = (transactions.c.date.desc(), transactions.c.id.desc())


def chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


class BulkTransactions:
    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id

    async def select(
        self, filters: TransactionCriteria, ids: Sequence[int] | None, *, limit: int, lock: bool
    ) -> list[dict[str, Any]]:
        """Up to `limit` matching rows with every column (their images for the change log), newest first;
        `lock`: locked for the rest of the transaction. `ids` narrow the filters further."""
        conditions = TransactionRepository(self._conn, self._household_id).where(filters)
        if ids is not None:
            conditions.append(transactions.c.id.in_(sorted({i for i in ids if storable(i)})))
        statement = select(*transactions.c).where(*conditions).order_by(*_NEWEST_FIRST).limit(limit)
        if lock:
            statement = statement.with_for_update()
        return as_dicts(await self._conn.execute(statement))

    async def update(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write each row's `EDITABLE` values, and make its tag rows those of its `tags`."""
        if not rows:
            return
        household = self._household_id
        params = [
            {"b_id": row["id"], "b_household": household, **{f"b_{name}": row[name] for name in EDITABLE}}
            for row in rows
        ]
        await self._conn.execute(_UPDATE, params)
        await self.retag({int(row["id"]): list(row["tags"]) for row in rows})

    async def delete(self, ids: Sequence[int]) -> None:
        """Delete the rows (their tag rows go with them)."""
        for part in chunks(ids):
            await self._conn.execute(
                delete(transactions).where(
                    transactions.c.household_id == self._household_id, transactions.c.id.in_(part)
                )
            )

    async def retag(self, tags_of: dict[int, list[str]]) -> None:
        """Make each row's tag rows those of its tags (an undo puts many rows' tags back at once)."""
        household = self._household_id
        ids = list(tags_of)
        for part in chunks(ids):
            await self._conn.execute(
                delete(transaction_tags).where(
                    transaction_tags.c.household_id == household, transaction_tags.c.transaction_id.in_(part)
                )
            )
        tag_rows = [
            {"transaction_id": row_id, "tag": key, "household_id": household}
            for row_id, tags in tags_of.items()
            for key in sorted({tag_key(tag) for tag in tags})
        ]
        for start in range(0, len(tag_rows), CHUNK):
            await self._conn.execute(insert(transaction_tags), tag_rows[start : start + CHUNK])
