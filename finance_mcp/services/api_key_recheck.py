"""Re-checking the person behind an API key with MCP_Auth, as OAuth refresh does for a sign-in.

A key made by `finance-mcp api-key create` keeps the MCP_Auth refresh token of that sign-in (sealed). At
most every `API_KEY_RECHECK_SECONDS` a use of the key refreshes it at MCP_Auth (`/auth/refresh`, which also
rotates it) and reads the person's current role and tenant from the fresh access token:

* the key's role becomes the lower of its role and the current one (never higher: a key never widens);
* the key is stopped (revoked, with the reason kept and shown) when the person is disabled or signed out at
  MCP_Auth, is now in another tenant, or their role no longer allows the key's scopes.

MCP_Auth unreachable: fail open for a grace period. The key keeps working with the role of its last
successful check until `API_KEY_RECHECK_SECONDS + API_KEY_RECHECK_GRACE_SECONDS` after it, then is refused
(401, not stopped) until MCP_Auth answers again. The grace bounds how stale a role can be, as an MCP_Auth
access token's own lifetime (15 minutes) does for a token, while a short MCP_Auth outage stops nobody.

A check is due `interval` after the last one (this server's setting, whoever made the key). One check at a
time per key across workers and replicas: it is claimed with a conditional update of `next_check_at`, because
two concurrent refreshes of one MCP_Auth refresh token would revoke it (rotation).

A key made with the create_api_key tool under an OAuth sign-in through this server has no refresh token of
its own: it shares its grant's (services/oauth.py), which the grant's client refreshes too. So it re-checks
through the grant: when the grant was vouched for within `interval` (its client refreshed, or another key of
it was re-checked) the key takes the grant's role without asking; otherwise it claims the grant's MCP_Auth
refresh token (`upstream_claimed_until`, which the client's refresh claims as well: never two refreshes of
one token at once), refreshes it and stores the rotated token back on the grant. A grant that ended (signed
out, revoked, refused by MCP_Auth) stops its keys; MCP_Auth refusing the grant's token ends the grant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import RowMapping

from finance_mcp.crypto import Sealer
from finance_mcp.db.database import Database
from finance_mcp.domain.principals import ROLE_PERMISSIONS, Role, scopes_for
from finance_mcp.repositories.oauth import GRANT_ENDED
from finance_mcp.repositories.unit_of_work import UnitsOfWork

SEALING = "api key mcp_auth refresh token"
RETRY = dt.timedelta(seconds=30)  # how soon a check that found MCP_Auth down is tried again
DISOWNED = "MCP_Auth no longer vouches for its person (disabled or signed out)"
MOVED = "its person is no longer in this household at MCP_Auth"
_ORDER = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


@dataclass(frozen=True, slots=True)
class Vouched:
    """MCP_Auth's fresh word on the person: from the access token of a successful refresh."""

    auth_user_id: str
    tenant_id: str | None
    role: str
    refresh_token: str


@dataclass(frozen=True, slots=True)
class Disowned:
    """MCP_Auth refused the refresh: the person is disabled, signed out, or the token is unknown."""

    detail: str


# The MCP_Auth call, given the key's refresh token: Vouched, Disowned, or None when MCP_Auth is unreachable.
AskMcpAuth = Callable[[str], Awaitable[Vouched | Disowned | None]]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a use of a key: go on with `role`, or stop with `refusal` (`stopped`: marked)."""

    role: str | None = None
    refusal: str | None = None


@dataclass(frozen=True)
class RecheckPolicy:
    ask: AskMcpAuth
    sealer: Sealer
    interval: dt.timedelta
    grace: dt.timedelta
    grant_sealer: Sealer | None = None  # opens the grants' MCP_Auth refresh tokens (services/oauth.py)

    def seal(self, refresh_token: str) -> str:
        return self.sealer.seal(refresh_token)

    async def judge(self, db: Database, row: RowMapping, tenant_id: str | None, now: dt.datetime) -> Verdict:
        """The key's role for this use, re-checking the person first when a check is due."""
        if row["grant_id"] is not None:
            return await self._judge_through_grant(db, row, tenant_id, now)
        if row["upstream_refresh_token"] is None or _checked(row) + self.interval > now:
            return Verdict(role=row["role"])
        if row["next_check_at"] is not None and row["next_check_at"] > now:  # being checked, or retried soon
            return self._within_grace(row, now)
        retry_at = now + min(RETRY, self.interval)
        async with UnitsOfWork(db).write(row["household_id"]) as uow:
            sealed = await uow.api_keys.claim_check(row["id"], now=now, retry_at=retry_at)
            await uow.commit()
        if sealed is None:  # another request is checking this key right now
            return self._within_grace(row, now)
        refresh_token = self.sealer.open(sealed)
        answer = await self.ask(refresh_token) if refresh_token is not None else Disowned("unreadable")
        if answer is None:
            return self._within_grace(row, now)
        if isinstance(answer, Disowned):
            return await self._stop(db, row, now, DISOWNED)
        return await self._vouched(db, row, tenant_id, answer, now)

    async def _judge_through_grant(
        self, db: Database, row: RowMapping, tenant_id: str | None, now: dt.datetime
    ) -> Verdict:
        if row["grant_revoked_at"] is not None:
            return await self._stop(db, row, now, GRANT_ENDED)
        if _checked(row) + self.interval > now or self.grant_sealer is None:
            return Verdict(role=row["role"])
        vouched_at = row["grant_checked_at"] or row["grant_created_at"]
        if vouched_at + self.interval > now:  # MCP_Auth's word on the grant is fresh enough: no call
            return await self._adopt(db, row, row["grant_role"], now=now, checked_at=vouched_at)
        async with UnitsOfWork(db).write() as uow:
            held, sealed = await uow.oauth.claim_upstream(
                row["grant_id"], now=now, until=now + min(RETRY, self.interval)
            )
            await uow.commit()
        if not held:  # the grant's client or another key is refreshing it right now, or it just ended
            return self._within_grace(row, now)
        opened = None if sealed is None else self.grant_sealer.open(sealed)
        answer = await self.ask(opened) if opened is not None else Disowned("unreadable")
        if answer is None:  # the claim stays until the retry time: MCP_Auth is not asked again before
            return self._within_grace(row, now)
        if isinstance(answer, Disowned):
            return await self._end_grant(db, row, now, DISOWNED)
        if answer.auth_user_id != row["auth_user_id"] or answer.tenant_id != tenant_id:
            return await self._end_grant(db, row, now, MOVED)
        async with UnitsOfWork(db).write() as uow:
            await uow.oauth.update_grant(
                row["grant_id"],
                role=answer.role,
                upstream_refresh_token=self.grant_sealer.seal(answer.refresh_token),
                checked_at=now,
                upstream_claimed_until=None,
            )
            await uow.commit()
        return await self._adopt(db, row, answer.role, now=now)

    async def _adopt(
        self,
        db: Database,
        row: RowMapping,
        current_role: str,
        *,
        now: dt.datetime,
        checked_at: dt.datetime | None = None,
        upstream: str | None = None,
    ) -> Verdict:
        """Take the person's current role (MCP_Auth's word at `checked_at`) for the key, never higher than
        its own, or stop the key when that role no longer allows its scopes."""
        role = lower_role(row["role"], current_role)
        if not set(row["scopes"]) <= scopes_for(ROLE_PERMISSIONS[Role(role)]):
            reason = f"its person's role at MCP_Auth is now {role}, which does not allow the key's scopes"
            return await self._stop(db, row, now, reason)
        async with UnitsOfWork(db).write(row["household_id"]) as uow:
            await uow.api_keys.record_check(row["id"], role=role, upstream=upstream, now=checked_at or now)
            await uow.commit()
        return Verdict(role=role)

    async def _end_grant(self, db: Database, row: RowMapping, now: dt.datetime, reason: str) -> Verdict:
        """MCP_Auth refused the grant's token or answered for someone else: the grant is over for its client
        too (its next refresh would fail the same way), and every key made under it stops."""
        async with UnitsOfWork(db).write() as uow:
            await uow.oauth.revoke_grant(row["grant_id"], now=now, key_reason=reason)
            await uow.commit()
        return Verdict(refusal=f"the API key was stopped: {reason}; create a new key")

    def _within_grace(self, row: RowMapping, now: dt.datetime) -> Verdict:
        if now <= _checked(row) + self.interval + self.grace:
            return Verdict(role=row["role"])
        return Verdict(refusal="the API key's person could not be re-checked: MCP_Auth is unreachable; try later")

    async def _vouched(
        self, db: Database, row: RowMapping, tenant_id: str | None, answer: Vouched, now: dt.datetime
    ) -> Verdict:
        if answer.auth_user_id != row["auth_user_id"] or answer.tenant_id != tenant_id:
            return await self._stop(db, row, now, MOVED)
        return await self._adopt(db, row, answer.role, now=now, upstream=self.seal(answer.refresh_token))

    async def _stop(self, db: Database, row: RowMapping, now: dt.datetime, reason: str) -> Verdict:
        async with UnitsOfWork(db).write(row["household_id"]) as uow:
            await uow.api_keys.stop(row["id"], now=now, reason=reason)
            await uow.commit()
        return Verdict(refusal=f"the API key was stopped: {reason}; create a new key")


def _checked(row: RowMapping) -> dt.datetime:
    """When the person was last vouched for: the last successful check, or the sign-in that made the key."""
    return row["checked_at"] or row["created_at"]


def lower_role(key_role: str, current_role: str) -> str:
    """The lower of two roles (values of `Role`, or MCP_Auth's upper-case names); unknown counts as viewer."""
    try:
        current = Role(current_role.strip().lower())
    except ValueError:
        current = Role.VIEWER
    return min(Role(key_role), current, key=_ORDER.index).value
