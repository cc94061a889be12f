"""Households and users: the one repository that works *before* a household scope exists, because it
is what finds (or creates) that scope for a verified caller."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import RowMapping, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from finance_mcp.db.database import Connection
from finance_mcp.db.models import households, users

_HOUSEHOLD = select(households.c.id, households.c.name).where(households.c.external_key == bindparam("p_key"))
_USER = select(users.c.id, users.c.email).where(
    users.c.household_id == bindparam("p_household"), users.c.auth_user_id == bindparam("p_sub")
)
_SET_EMAIL = (
    update(users)
    .where(users.c.id == bindparam("p_user"))
    .values(email=bindparam("p_email"), updated_at=bindparam("p_now"))
)


_RENAME = (
    update(households)
    .where(households.c.external_key == bindparam("p_key"), households.c.name != bindparam("p_name"))
    .values(name=bindparam("p_name"))
)


class IdentityRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _insert_if_absent(self, table: Any, conflict: list[str]) -> Any:
        dialect = postgresql if self._conn.dialect == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing(index_elements=conflict)

    async def ensure_household(self, key: str, name: str, *, now: dt.datetime) -> RowMapping:
        """Get the household for `key`, creating it; concurrent first requests create exactly one."""
        statement = self._insert_if_absent(households, ["external_key"])
        await self._conn.execute(statement, {"external_key": key, "name": name, "created_at": now})
        return (await self._conn.execute(_HOUSEHOLD, {"p_key": key})).mappings().one()

    async def ensure_user(
        self, household_id: int, sub: str, email: str | None, *, now: dt.datetime
    ) -> tuple[int, str | None]:
        """Get the user `sub` of the household, creating it and keeping its email current.

        Returns the user id and the email on record (a token without an email keeps the stored one)."""
        statement = self._insert_if_absent(users, ["household_id", "auth_user_id"])
        row = {
            "household_id": household_id,
            "auth_user_id": sub,
            "email": email,
            "created_at": now,
            "updated_at": now,
        }
        await self._conn.execute(statement, row)
        found = (await self._conn.execute(_USER, {"p_household": household_id, "p_sub": sub})).mappings().one()
        if email is not None and found["email"] != email:
            await self._conn.execute(_SET_EMAIL, {"p_user": found["id"], "p_email": email, "p_now": now})
        return int(found["id"]), email if email is not None else found["email"]

    async def name_household(self, key: str, name: str, *, now: dt.datetime) -> None:
        """Give the household for `key` this name, creating it if it does not exist yet."""
        await self.ensure_household(key, name, now=now)
        await self._conn.execute(_RENAME, {"p_key": key, "p_name": name})
