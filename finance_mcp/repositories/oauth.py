"""The OAuth login bridge's records: registered clients, grants (one sign-in of one person for one client),
their single-use codes and refresh tokens. Not household data: these rows are what *finds* a caller, so they
are looked up by hashed secrets, never listed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CursorResult, RowMapping, bindparam, delete, exists, insert, or_, select, update

from finance_mcp.db.database import Connection
from finance_mcp.db.models import api_keys, oauth_clients, oauth_codes, oauth_grants, oauth_refresh_tokens

# Why a key made under a grant stops when the grant ends (shown by list_api_keys), unless a caller says more.
GRANT_ENDED = "the OAuth sign-in it was made under has ended (signed out, revoked, or refused by MCP_Auth)"

GRANT_COLUMNS = (
    oauth_grants.c.client_id,
    oauth_grants.c.auth_user_id,
    oauth_grants.c.tenant_id,
    oauth_grants.c.email,
    oauth_grants.c.role,
    oauth_grants.c.scopes,
    oauth_grants.c.resource,
    oauth_grants.c.upstream_refresh_token,
    oauth_grants.c.expires_at.label("grant_expires_at"),
    oauth_grants.c.revoked_at,
    oauth_grants.c.created_at.label("grant_created_at"),
    oauth_grants.c.checked_at.label("grant_checked_at"),
)

_CLIENT = select(oauth_clients.c.client_metadata, oauth_clients.c.secret_hash).where(
    oauth_clients.c.client_id == bindparam("p_client")
)
_GRANT = select(oauth_grants.c.id.label("grant_id"), *GRANT_COLUMNS).where(oauth_grants.c.id == bindparam("p_grant"))
_CODE = (
    select(
        oauth_codes.c.id,
        oauth_codes.c.grant_id,
        oauth_codes.c.code_challenge,
        oauth_codes.c.redirect_uri,
        oauth_codes.c.redirect_uri_provided_explicitly,
        oauth_codes.c.expires_at,
        oauth_codes.c.used_at,
        *GRANT_COLUMNS,
    )
    .select_from(oauth_codes.join(oauth_grants, oauth_grants.c.id == oauth_codes.c.grant_id))
    .where(oauth_codes.c.code_hash == bindparam("p_hash"))
)
_REFRESH = (
    select(
        oauth_refresh_tokens.c.id,
        oauth_refresh_tokens.c.grant_id,
        oauth_refresh_tokens.c.expires_at,
        oauth_refresh_tokens.c.used_at,
        *GRANT_COLUMNS,
    )
    .select_from(oauth_refresh_tokens.join(oauth_grants, oauth_grants.c.id == oauth_refresh_tokens.c.grant_id))
    .where(oauth_refresh_tokens.c.token_hash == bindparam("p_hash"))
)
_USE_CODE = (
    update(oauth_codes)
    .where(oauth_codes.c.id == bindparam("p_id"), oauth_codes.c.used_at.is_(None))
    .values(used_at=bindparam("p_now"))
)
_USE_REFRESH = (
    update(oauth_refresh_tokens)
    .where(oauth_refresh_tokens.c.id == bindparam("p_id"), oauth_refresh_tokens.c.used_at.is_(None))
    .values(used_at=bindparam("p_now"))
)
_RELEASE_REFRESH = (
    update(oauth_refresh_tokens).where(oauth_refresh_tokens.c.id == bindparam("p_id")).values(used_at=None)
)
_REVOKE_GRANT = (
    update(oauth_grants)
    .where(oauth_grants.c.id == bindparam("p_grant"), oauth_grants.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("p_now"))
    .returning(oauth_grants.c.upstream_refresh_token)
)
# Ending a grant stops the API keys made under it, in the same transaction.
_STOP_KEYS_OF_GRANT = (
    update(api_keys)
    .where(api_keys.c.grant_id == bindparam("p_grant"), api_keys.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("p_now"), revoke_reason=bindparam("p_reason"))
)
# The grant's MCP_Auth refresh token, for one holder at a time (a refresh by its client, or the re-check of
# a key made under it) until `p_until`; a holder that died lets go at `p_until`.
_CLAIM_UPSTREAM = (
    update(oauth_grants)
    .where(
        oauth_grants.c.id == bindparam("p_grant"),
        oauth_grants.c.revoked_at.is_(None),
        or_(
            oauth_grants.c.upstream_claimed_until.is_(None), oauth_grants.c.upstream_claimed_until <= bindparam("p_now")
        ),
    )
    .values(upstream_claimed_until=bindparam("p_until"))
    .returning(oauth_grants.c.upstream_refresh_token)
)
_RELEASE_UPSTREAM = (
    update(oauth_grants).where(oauth_grants.c.id == bindparam("p_grant")).values(upstream_claimed_until=None)
)

# Codes and refresh tokens first, then grants (whose deletion takes their remaining codes and tokens along).
# A grant that API keys were made under stays: it re-checks them (and names their origin) after its client
# can no longer use it, so it goes only with them.
_PURGE = (
    *(delete(table).where(table.c.expires_at < bindparam("p_now")) for table in (oauth_codes, oauth_refresh_tokens)),
    delete(oauth_grants).where(
        oauth_grants.c.expires_at < bindparam("p_now"),
        ~exists().where(api_keys.c.grant_id == oauth_grants.c.id),
    ),
)

# A client registered before the cutoff that no sign-in ever used (no grant, live or not) is abandoned:
# anonymous registration would otherwise grow the table for ever.
_PURGE_UNUSED_CLIENTS = delete(oauth_clients).where(
    oauth_clients.c.created_at < bindparam("p_cutoff"),
    ~exists().where(oauth_grants.c.client_id == oauth_clients.c.client_id),
)


class OAuthRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def _changed(self, statement: Any, params: dict[str, Any]) -> bool:
        result: CursorResult[Any] = await self._conn.execute(statement, params)  # type: ignore[assignment]
        return result.rowcount == 1

    async def add_client(self, *, now: dt.datetime, **values: Any) -> None:
        await self._conn.execute(insert(oauth_clients), {**values, "created_at": now})

    async def client(self, client_id: str) -> RowMapping | None:
        return (await self._conn.execute(_CLIENT, {"p_client": client_id})).mappings().first()

    async def add_grant(self, *, now: dt.datetime, **values: Any) -> int:
        statement = insert(oauth_grants).returning(oauth_grants.c.id)
        return int((await self._conn.execute(statement, {**values, "created_at": now})).scalar_one())

    async def grant(self, grant_id: int) -> RowMapping | None:
        return (await self._conn.execute(_GRANT, {"p_grant": grant_id})).mappings().first()

    async def update_grant(self, grant_id: int, **values: Any) -> None:
        await self._conn.execute(update(oauth_grants).where(oauth_grants.c.id == grant_id).values(**values))

    async def revoke_grant(
        self, grant_id: int, *, now: dt.datetime, key_reason: str = GRANT_ENDED
    ) -> tuple[bool, str | None]:
        """Revoke the grant and stop the API keys made under it (saying `key_reason`); whether this call did
        it, and the sealed MCP_Auth refresh token it held."""
        sealed = (await self._conn.execute(_REVOKE_GRANT, {"p_grant": grant_id, "p_now": now})).first()
        if sealed is None:
            return (False, None)
        await self._conn.execute(_STOP_KEYS_OF_GRANT, {"p_grant": grant_id, "p_now": now, "p_reason": key_reason})
        return (True, sealed[0])

    async def claim_upstream(self, grant_id: int, *, now: dt.datetime, until: dt.datetime) -> tuple[bool, str | None]:
        """Take the grant's MCP_Auth refresh token until `until`: (True, the sealed token, None if it has none)
        for exactly one caller across workers and replicas; (False, None) while another holds it or the grant
        was revoked."""
        row = (await self._conn.execute(_CLAIM_UPSTREAM, {"p_grant": grant_id, "p_now": now, "p_until": until})).first()
        return (False, None) if row is None else (True, row[0])

    async def release_upstream(self, grant_id: int) -> None:
        await self._conn.execute(_RELEASE_UPSTREAM, {"p_grant": grant_id})

    async def add_code(self, *, now: dt.datetime, **values: Any) -> None:
        await self._conn.execute(insert(oauth_codes), {**values, "created_at": now})

    async def code(self, code_hash: str) -> RowMapping | None:
        return (await self._conn.execute(_CODE, {"p_hash": code_hash})).mappings().first()

    async def use_code(self, code_id: int, *, now: dt.datetime) -> bool:
        """Mark the code used; False when it already was (a replay)."""
        return await self._changed(_USE_CODE, {"p_id": code_id, "p_now": now})

    async def add_refresh_token(self, *, now: dt.datetime, **values: Any) -> None:
        await self._conn.execute(insert(oauth_refresh_tokens), {**values, "created_at": now})

    async def refresh_token(self, token_hash: str) -> RowMapping | None:
        return (await self._conn.execute(_REFRESH, {"p_hash": token_hash})).mappings().first()

    async def use_refresh_token(self, token_id: int, *, now: dt.datetime) -> bool:
        """Mark the refresh token used; False when it already was (a replay, or a concurrent refresh)."""
        return await self._changed(_USE_REFRESH, {"p_id": token_id, "p_now": now})

    async def purge_expired(self, *, now: dt.datetime) -> int:
        """Delete every code, refresh token and grant past its lifetime; how many rows went."""
        removed = 0
        for statement in _PURGE:
            result: CursorResult[Any] = await self._conn.execute(statement, {"p_now": now})  # type: ignore[assignment]
            removed += result.rowcount
        return removed

    async def purge_unused_clients(self, *, registered_before: dt.datetime) -> int:
        """Delete every client registered before the cutoff that has no grant; how many went."""
        result: CursorResult[Any] = await self._conn.execute(  # type: ignore[assignment]
            _PURGE_UNUSED_CLIENTS, {"p_cutoff": registered_before}
        )
        return result.rowcount

    async def release_refresh_token(self, token_id: int) -> None:
        """Undo `use_refresh_token` when the refresh could not finish for a passing reason."""
        await self._conn.execute(_RELEASE_REFRESH, {"p_id": token_id})
