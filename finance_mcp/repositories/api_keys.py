"""API keys. `ApiKeyRepository` is scoped to one household like every other repository; `ApiKeyCredentials`
is the one lookup that runs before a scope exists, because it is what turns a presented key into a caller
(like `IdentityRepository` does for tokens)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import RowMapping, bindparam, func, insert, select, update

from finance_mcp.db.database import Connection
from finance_mcp.db.models import api_keys, households, oauth_grants, users
from finance_mcp.repositories.ids import storable

COLUMNS = (
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.lookup_id,
    api_keys.c.role,
    api_keys.c.scopes,
    api_keys.c.toolsets,
    api_keys.c.user_id,
    api_keys.c.created_at,
    api_keys.c.expires_at,
    api_keys.c.revoked_at,
    api_keys.c.revoke_reason,
    api_keys.c.checked_at,
    api_keys.c.grant_id,
    users.c.email.label("user_email"),
)

_IN_HOUSEHOLD = api_keys.c.household_id == bindparam("p_household")
_FROM = api_keys.join(users, users.c.id == api_keys.c.user_id)
_INSERT = insert(api_keys).returning(api_keys.c.id)
_GET = select(*COLUMNS).select_from(_FROM).where(api_keys.c.id == bindparam("p_key"), _IN_HOUSEHOLD)
_LIST = select(*COLUMNS).select_from(_FROM).where(_IN_HOUSEHOLD).order_by(api_keys.c.created_at, api_keys.c.id)
_LIST_OF_USER = (
    select(*COLUMNS)
    .select_from(_FROM)
    .where(_IN_HOUSEHOLD, api_keys.c.user_id == bindparam("p_user"))
    .order_by(api_keys.c.created_at, api_keys.c.id)
)
_REVOKE = (
    update(api_keys)
    .where(api_keys.c.id == bindparam("p_key"), _IN_HOUSEHOLD, api_keys.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("p_now"), upstream_refresh_token=None)
)
_CLAIM_CHECK = (
    update(api_keys)
    .where(
        api_keys.c.id == bindparam("p_key"),
        _IN_HOUSEHOLD,
        api_keys.c.revoked_at.is_(None),
        api_keys.c.next_check_at <= bindparam("p_now"),
    )
    .values(next_check_at=bindparam("p_retry_at"))
    .returning(api_keys.c.upstream_refresh_token)
)
_RECORD_CHECK = (
    update(api_keys)
    .where(api_keys.c.id == bindparam("p_key"), _IN_HOUSEHOLD, api_keys.c.revoked_at.is_(None))
    .values(
        role=bindparam("p_role"),
        upstream_refresh_token=bindparam("p_upstream"),
        checked_at=bindparam("p_now"),
        next_check_at=bindparam("p_now"),
    )
)
_STOP = (
    update(api_keys)
    .where(api_keys.c.id == bindparam("p_key"), _IN_HOUSEHOLD, api_keys.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("p_now"), revoke_reason=bindparam("p_reason"), upstream_refresh_token=None)
)
_COUNT_ACTIVE = (
    select(func.count())
    .select_from(api_keys)
    .where(
        _IN_HOUSEHOLD,
        api_keys.c.user_id == bindparam("p_user"),
        api_keys.c.revoked_at.is_(None),
        api_keys.c.expires_at > bindparam("p_now"),
    )
)
_CREDENTIAL = (
    select(
        api_keys.c.id,
        api_keys.c.secret_hash,
        api_keys.c.role,
        api_keys.c.scopes,
        api_keys.c.toolsets,
        api_keys.c.expires_at,
        api_keys.c.revoked_at,
        api_keys.c.revoke_reason,
        api_keys.c.created_at,
        api_keys.c.household_id,
        api_keys.c.upstream_refresh_token,
        api_keys.c.checked_at,
        api_keys.c.next_check_at,
        api_keys.c.grant_id,
        users.c.auth_user_id,
        users.c.email,
        households.c.external_key,
        # The grant a key was made under (services/api_key_recheck.py re-checks through it).
        oauth_grants.c.revoked_at.label("grant_revoked_at"),
        oauth_grants.c.role.label("grant_role"),
        oauth_grants.c.created_at.label("grant_created_at"),
        oauth_grants.c.checked_at.label("grant_checked_at"),
    )
    .select_from(
        _FROM.join(households, households.c.id == api_keys.c.household_id).outerjoin(
            oauth_grants, oauth_grants.c.id == api_keys.c.grant_id
        )
    )
    .where(api_keys.c.lookup_id == bindparam("p_lookup"))
)


class ApiKeyRepository:
    def __init__(self, conn: Connection, household_id: int) -> None:
        self._conn = conn
        self._household_id = household_id

    def _params(self, **values: Any) -> dict[str, Any]:
        return {"p_household": self._household_id, **values}

    async def add(self, *, user_id: int, now: dt.datetime, **values: Any) -> int:
        row = {**values, "household_id": self._household_id, "user_id": user_id, "created_at": now}
        return int((await self._conn.execute(_INSERT, row)).scalar_one())

    async def get(self, key_id: int) -> RowMapping | None:
        if not storable(key_id):
            return None
        return (await self._conn.execute(_GET, self._params(p_key=key_id))).mappings().first()

    async def list(self, *, user_id: int | None = None) -> list[RowMapping]:
        """The household's keys, or only those of `user_id`; oldest first."""
        if user_id is None:
            result = await self._conn.execute(_LIST, self._params())
        else:
            result = await self._conn.execute(_LIST_OF_USER, self._params(p_user=user_id))
        return list(result.mappings().all())

    async def revoke(self, key_id: int, *, now: dt.datetime) -> None:
        """Mark the key revoked (a no-op if it already is)."""
        if storable(key_id):
            await self._conn.execute(_REVOKE, self._params(p_key=key_id, p_now=now))

    async def claim_check(self, key_id: int, *, now: dt.datetime, retry_at: dt.datetime) -> str | None:
        """Take the due re-check of a key: its current sealed MCP_Auth refresh token for exactly one caller
        across workers and replicas, None for the others."""
        result = await self._conn.execute(_CLAIM_CHECK, self._params(p_key=key_id, p_now=now, p_retry_at=retry_at))
        return result.scalar_one_or_none()

    async def record_check(self, key_id: int, *, role: str, upstream: str | None, now: dt.datetime) -> None:
        params = self._params(p_key=key_id, p_role=role, p_upstream=upstream, p_now=now)
        await self._conn.execute(_RECORD_CHECK, params)

    async def stop(self, key_id: int, *, now: dt.datetime, reason: str) -> None:
        """Revoke a key because a re-check failed, saying why (shown by list_api_keys)."""
        await self._conn.execute(_STOP, self._params(p_key=key_id, p_now=now, p_reason=reason))

    async def count_active(self, user_id: int, *, now: dt.datetime) -> int:
        result = await self._conn.execute(_COUNT_ACTIVE, self._params(p_user=user_id, p_now=now))
        return int(result.scalar_one())


class ApiKeyCredentials:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def find(self, lookup_id: str) -> RowMapping | None:
        """The key named by the non-secret part of a presented key, with its user and household."""
        return (await self._conn.execute(_CREDENTIAL, {"p_lookup": lookup_id})).mappings().first()
