"""The login bridge's grants: who signed in, for which client, with which scopes; their single-use codes
and rotating refresh tokens. Secrets are stored as hashes; MCP_Auth's refresh token (needed again at every
refresh, to re-check the person) is sealed with AES-GCM.

Replays end the whole grant: a code or refresh token presented a second time revokes every token of its
sign-in (RFC 6749 §4.1.2, RFC 9700 §4.14.2), because one of the two presenters is not its owner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping

from finance_mcp.crypto import Sealer, hash_secret, new_secret
from finance_mcp.db.database import Database
from finance_mcp.domain.principals import tenant_household_key
from finance_mcp.repositories.oauth import OAuthRepository
from finance_mcp.repositories.unit_of_work import UnitsOfWork

UPSTREAM_SEALING = "mcp_auth refresh token"
CODE_LIFETIME = dt.timedelta(minutes=5)
REFRESH_LIFETIME = dt.timedelta(days=30)
GRANT_LIFETIME = dt.timedelta(days=90)
UNUSED_CLIENT_LIFETIME = dt.timedelta(hours=24)
HOUSEHOLD_NAME_LENGTH = 255
# How long a refresh may hold the grant's MCP_Auth refresh token (one MCP_Auth call; a holder that died
# lets go after this).
UPSTREAM_LEASE = dt.timedelta(seconds=30)


class UpstreamBusy(Exception):
    """The grant's MCP_Auth refresh token is being refreshed by the re-check of an API key made under the
    grant: nothing was used, try again in a moment."""


@dataclass(frozen=True, slots=True)
class Person:
    """An MCP_Auth identity as its (verified) access token states it."""

    auth_user_id: str
    tenant_id: str | None
    email: str | None
    role: str


@dataclass(frozen=True, slots=True)
class Grant:
    id: int
    client_id: str
    person: Person
    scopes: list[str]
    resource: str | None
    upstream_refresh_token: str | None


@dataclass(frozen=True, slots=True)
class Code:
    id: int
    grant: Grant
    code_challenge: str
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RefreshToken:
    id: int
    grant: Grant
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Claim:
    """A refresh token taken for one refresh, with the grant's MCP_Auth refresh token as it is now (read
    under the claim: a key's re-check may have rotated it since the refresh token was loaded)."""

    upstream_refresh_token: str | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class GrantStore:
    def __init__(
        self, db: Database, sealer: Sealer, *, unused_client_lifetime: dt.timedelta = UNUSED_CLIENT_LIFETIME
    ) -> None:
        self._units = UnitsOfWork(db)
        self._sealer = sealer
        self._unused_client_lifetime = unused_client_lifetime

    # ---- clients ------------------------------------------------------------------------------------

    async def register_client(self, client_id: str, secret: str | None, client_metadata: dict[str, Any]) -> None:
        """Store a new client; each registration also drops the clients that were registered and never used."""
        now = _now()
        async with self._units.write() as uow:
            repo = uow.oauth
            secret_hash = None if secret is None else hash_secret(secret)
            await repo.add_client(
                now=now, client_id=client_id, secret_hash=secret_hash, client_metadata=client_metadata
            )
            await repo.purge_unused_clients(registered_before=now - self._unused_client_lifetime)
            await uow.commit()

    async def client(self, client_id: str) -> tuple[dict[str, Any], str | None] | None:
        """The client's registered metadata and the hash of its secret (None for a public client)."""
        async with self._units.snapshot() as uow:
            row = await uow.oauth.client(client_id)
        return None if row is None else (dict(row["client_metadata"]), row["secret_hash"])

    # ---- sign-in and codes --------------------------------------------------------------------------

    async def start(
        self,
        *,
        client_id: str,
        person: Person,
        scopes: list[str],
        resource: str | None,
        upstream_refresh_token: str | None,
        code_challenge: str,
        redirect_uri: str,
        redirect_uri_provided_explicitly: bool,
    ) -> str:
        """Record a completed sign-in as a new grant and return its authorization code."""
        code, now = new_secret(), _now()
        async with self._units.write() as uow:
            repo = uow.oauth
            grant_id = await repo.add_grant(
                now=now,
                client_id=client_id,
                auth_user_id=person.auth_user_id,
                tenant_id=person.tenant_id,
                email=person.email,
                role=person.role,
                scopes=scopes,
                resource=resource,
                upstream_refresh_token=self._seal(upstream_refresh_token),
                expires_at=now + GRANT_LIFETIME,
            )
            await repo.add_code(
                now=now,
                grant_id=grant_id,
                code_hash=hash_secret(code),
                code_challenge=code_challenge,
                redirect_uri=redirect_uri,
                redirect_uri_provided_explicitly=redirect_uri_provided_explicitly,
                expires_at=now + CODE_LIFETIME,
            )
            # Sign-ins are rare and every one adds rows: each also clears what has expired, so the tables
            # stay the size of what is live (a code lives 5 minutes, a refresh token 30 days, a grant 90).
            await repo.purge_expired(now=now)
            await uow.commit()
        return code

    async def name_household(self, person: Person, tenant_name: str) -> None:
        """The household of the person's MCP_Auth tenant takes the tenant's name (and follows a rename)."""
        if person.tenant_id is None:
            return
        name = " ".join(tenant_name.split())[:HOUSEHOLD_NAME_LENGTH]
        if not name:
            return
        async with self._units.write() as uow:
            await uow.identity.name_household(tenant_household_key(person.tenant_id), name, now=_now())
            await uow.commit()

    async def find_code(self, code: str) -> Code | None:
        """The code's record; None if unknown, its grant is over, or it was used (which ends the grant)."""
        async with self._units.snapshot() as uow:
            row = await uow.oauth.code(hash_secret(code))
        if row is None or not self._grant_is_live(row):
            return None
        if row["used_at"] is not None:
            await self.revoke(row["grant_id"])
            return None
        return Code(
            id=row["id"],
            grant=self._grant(row),
            code_challenge=row["code_challenge"],
            redirect_uri=row["redirect_uri"],
            redirect_uri_provided_explicitly=row["redirect_uri_provided_explicitly"],
            expires_at=row["expires_at"],
        )

    async def redeem(self, code: Code) -> str | None:
        """Use the code once and return the grant's first refresh token; None (and the grant ended) if the
        code was used meanwhile."""
        now = _now()
        async with self._units.write() as uow:
            repo = uow.oauth
            if not await repo.use_code(code.id, now=now):
                await repo.revoke_grant(code.grant.id, now=now)
                await uow.commit()
                return None
            token = await self._issue_refresh_token(repo, code.grant.id, now)
            await uow.commit()
        return token

    # ---- refresh tokens -----------------------------------------------------------------------------

    async def find_refresh_token(self, token: str) -> RefreshToken | None:
        """The token's record; None if unknown, over, or already used (which ends the grant)."""
        async with self._units.snapshot() as uow:
            row = await uow.oauth.refresh_token(hash_secret(token))
        if row is None or not self._grant_is_live(row):
            return None
        if row["used_at"] is not None:
            await self.revoke(row["grant_id"])
            return None
        return RefreshToken(id=row["id"], grant=self._grant(row), expires_at=row["expires_at"])

    async def claim(self, token: RefreshToken) -> Claim | None:
        """Take the refresh token, and the grant's MCP_Auth refresh token, for this one refresh; None (and
        the grant ended) if the refresh token was taken. Raises `UpstreamBusy`, having taken nothing, while
        a key's re-check holds the MCP_Auth refresh token."""
        now = _now()
        async with self._units.write() as uow:
            repo = uow.oauth
            if not await repo.use_refresh_token(token.id, now=now):
                await repo.revoke_grant(token.grant.id, now=now)
                await uow.commit()
                return None
            held, sealed = await repo.claim_upstream(token.grant.id, now=now, until=now + UPSTREAM_LEASE)
            if not held:
                raise UpstreamBusy  # leaving the block uncommitted gives the refresh token back
            await uow.commit()
        return Claim(upstream_refresh_token=None if sealed is None else self._sealer.open(sealed))

    async def release(self, token: RefreshToken) -> None:
        """Give a claimed refresh token back when the refresh failed for a passing reason (MCP_Auth down)."""
        async with self._units.write() as uow:
            repo = uow.oauth
            await repo.release_refresh_token(token.id)
            await repo.release_upstream(token.grant.id)
            await uow.commit()

    async def rotate(
        self, token: RefreshToken, *, person: Person, scopes: list[str], upstream_refresh_token: str | None
    ) -> str:
        """After a successful refresh: keep the grant current (role, email, MCP_Auth's new refresh token)
        and issue the next refresh token of the family."""
        now = _now()
        async with self._units.write() as uow:
            repo = uow.oauth
            await repo.update_grant(
                token.grant.id,
                role=person.role,
                email=person.email,
                scopes=scopes,
                upstream_refresh_token=self._seal(upstream_refresh_token),
                checked_at=now,
                upstream_claimed_until=None,
            )
            new_token = await self._issue_refresh_token(repo, token.grant.id, now)
            await uow.commit()
        return new_token

    async def revoke(self, grant_id: int) -> str | None:
        """End a grant and every token of it; returns MCP_Auth's refresh token to log out, if this call
        ended it."""
        async with self._units.write() as uow:
            revoked, sealed = await uow.oauth.revoke_grant(grant_id, now=_now())
            await uow.commit()
        return self._sealer.open(sealed) if revoked and sealed else None

    # ---- helpers ------------------------------------------------------------------------------------

    async def _issue_refresh_token(self, repo: OAuthRepository, grant_id: int, now: dt.datetime) -> str:
        grant = await repo.grant(grant_id)
        assert grant is not None
        token = new_secret()
        expires_at = min(now + REFRESH_LIFETIME, grant["grant_expires_at"])
        await repo.add_refresh_token(now=now, grant_id=grant_id, token_hash=hash_secret(token), expires_at=expires_at)
        return token

    def _seal(self, value: str | None) -> str | None:
        return None if value is None else self._sealer.seal(value)

    @staticmethod
    def _grant_is_live(row: RowMapping) -> bool:
        return row["revoked_at"] is None and row["grant_expires_at"] > _now()

    def _grant(self, row: RowMapping) -> Grant:
        sealed = row["upstream_refresh_token"]
        return Grant(
            id=row["grant_id"],
            client_id=row["client_id"],
            person=Person(
                auth_user_id=row["auth_user_id"], tenant_id=row["tenant_id"], email=row["email"], role=row["role"]
            ),
            scopes=list(row["scopes"]),
            resource=row["resource"],
            upstream_refresh_token=None if sealed is None else self._sealer.open(sealed),
        )
