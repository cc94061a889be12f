"""API keys for clients that can only send a fixed header: created by a signed-in person, shown once,
stored as a hash, scoped to at most that person's permissions, bound to their household, revocable.

A key cannot manage keys: create, list and revoke need a real sign-in (OAuth or an MCP_Auth token), so a
leaked key cannot mint successors that outlive its revocation.

Where a key's person is re-checked with MCP_Auth (services/api_key_recheck.py) depends on how it was made:
* `finance-mcp api-key create` signs in at MCP_Auth: the key keeps that sign-in's refresh token;
* the create_api_key tool under an OAuth sign-in through this server: the key re-checks through the sign-in's
  grant, and ending the grant (signing out) stops it;
* the tool with a bare MCP_Auth token: nothing can ask MCP_Auth about the person again, so the key lives at
  most `unchecked_max_days` (API_KEY_UNCHECKED_MAX_DAYS; 0 refuses to make one), and says so."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import RowMapping

from finance_mcp.crypto import hash_secret, matches, new_secret
from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Conflict, NotFound, PermissionDenied
from finance_mcp.domain.principals import Permission, Principal, scopes_for, tenant_of
from finance_mcp.domain.toolsets import TOOLSET_NAMES
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.api_keys import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead, ApiKeyRevoked
from finance_mcp.services.api_key_recheck import RecheckPolicy

KEY_PREFIX = "fmcp_"
_LOOKUP_HEX = 16
_KEY_SHAPE = re.compile(rf"^{KEY_PREFIX}(?P<lookup>[0-9a-f]{{{_LOOKUP_HEX}}})_(?P<secret>[A-Za-z0-9_-]{{43}})$")
MAX_ACTIVE_KEYS_PER_USER = 25
USAGE = "Send it as the header 'Authorization: Bearer <key>' to the /mcp endpoint; it cannot be shown again."
UNCHECKED_MAX_DAYS = 1  # settings API_KEY_UNCHECKED_MAX_DAYS
_HOW_TO_RECHECK = (
    "For a key that follows role changes, sign in through OAuth (an MCP client that signs in at this server) "
    "and call create_api_key again, or run `finance-mcp api-key create` where the server runs."
)
RECHECKS = {
    "grant": "Re-checked with MCP_Auth through the OAuth sign-in it was made under: it follows its person's role, "
    "and stops when they leave the household, are disabled, or that sign-in ends (signed out).",
    "own": "Re-checked with MCP_Auth through its own sign-in (finance-mcp api-key create): it follows its "
    "person's role, and stops when they leave the household or are disabled.",
    "none": "Not re-checked with MCP_Auth: it keeps its creator's role until it expires or is revoked. "
    + _HOW_TO_RECHECK,
}


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """Who a valid key speaks for, in the terms a verified token would use."""

    key_id: int
    auth_user_id: str
    tenant_id: str | None
    email: str | None
    role: str
    scopes: tuple[str, ...]
    expires_at: dt.datetime
    toolsets: tuple[str, ...] | None = None  # offered by default to the key's client; None: the household's


@dataclass(frozen=True, slots=True)
class KeyRefused:
    """Why a presented key does not work, in words safe to send back (never whether a secret was close)."""

    reason: str


UNKNOWN_KEY = KeyRefused("the API key is not known here (mistyped, or from another server)")


def looks_like_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def _status(row: RowMapping, now: dt.datetime) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    return "expired" if row["expires_at"] <= now else "active"


def _recheck_kind(row: RowMapping) -> str:
    if row["grant_id"] is not None:
        return "grant"
    return "none" if row["checked_at"] is None else "own"


def _to_read(row: RowMapping, now: dt.datetime) -> ApiKeyRead:
    kind = _recheck_kind(row)
    return ApiKeyRead(
        id=row["id"],
        name=row["name"],
        prefix=f"{KEY_PREFIX}{row['lookup_id']}_…",
        scopes=list(row["scopes"]),
        toolsets=None if row["toolsets"] is None else list(row["toolsets"]),
        role=row["role"],
        user_id=row["user_id"],
        user_email=row["user_email"],
        status=_status(row, now),  # type: ignore[arg-type]
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        revoke_reason=row["revoke_reason"],
        rechecked_with_mcp_auth=kind != "none",
        recheck=RECHECKS[kind],
        checked_at=row["checked_at"],
    )


def _require_sign_in(principal: Principal) -> None:
    principal.require(Permission.READ)
    if principal.api_key_id is not None:
        raise PermissionDenied(
            "API keys cannot create, list or revoke API keys; sign in (OAuth, or an MCP_Auth token) to manage them."
        )


def _key_not_found(key_id: int) -> NotFound:
    return NotFound(f"API key {key_id} was not found among your keys; call list_api_keys to see their ids.")


async def create_api_key(
    db: Database,
    principal: Principal,
    data: ApiKeyCreate,
    *,
    recheck: tuple[RecheckPolicy, str] | None = None,
    unchecked_max_days: int = UNCHECKED_MAX_DAYS,
) -> ApiKeyCreated:
    """`recheck`: the policy and the MCP_Auth refresh token of the creator's sign-in, which the key keeps
    to re-check its person. Without one, a principal signed in through the OAuth bridge (`grant_id`) makes a
    key re-checked through its grant; anyone else a key that is not re-checked, living at most
    `unchecked_max_days` (0: refused)."""
    _require_sign_in(principal)
    allowed = scopes_for(principal.permissions)
    beyond = sorted(set(data.scopes) - allowed)
    if beyond:
        raise PermissionDenied(
            f"A key cannot do more than you may: {', '.join(beyond)} is beyond your role ({principal.role.value}) "
            f"and sign-in; choose from {', '.join(sorted(allowed))}."
        )
    now = dt.datetime.now(dt.UTC)
    lookup_id, secret = secrets.token_hex(_LOOKUP_HEX // 2), new_secret()
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        repo = uow.api_keys
        origin = await _origin(uow, principal, recheck, now)
        days, notice = _lifetime(data.expires_in_days, rechecked=bool(origin), unchecked_max_days=unchecked_max_days)
        if principal.quotas.api_keys:
            usage = uow.usage
            await usage.lock()  # one create at a time per household: concurrent ones cannot overshoot
            principal.quotas.check_api_keys(await usage.active_api_keys(now=now))
        if await repo.count_active(principal.user_id, now=now) >= MAX_ACTIVE_KEYS_PER_USER:
            raise Conflict(
                f"You already have {MAX_ACTIVE_KEYS_PER_USER} active API keys; revoke unused ones "
                "(list_api_keys, then revoke_api_key) before creating another."
            )
        key_id = await repo.add(
            user_id=principal.user_id,
            now=now,
            name=data.name,
            lookup_id=lookup_id,
            secret_hash=hash_secret(secret),
            role=principal.role.value,
            scopes=sorted(set(data.scopes)),
            toolsets=None if data.toolsets is None else [t for t in TOOLSET_NAMES if t in data.toolsets],
            expires_at=now + dt.timedelta(days=days),
            **origin,
        )
        row = await repo.get(key_id)
        summary = f'Created the API key "{data.name}" ({key_id}) with {", ".join(sorted(set(data.scopes)))}'
        uow.log.describe(by=principal, tool="create_api_key", summary=summary, entity_type="api_key", entity_id=key_id)
        await uow.commit()
    assert row is not None
    key = f"{KEY_PREFIX}{lookup_id}_{secret}"
    return ApiKeyCreated(key=key, api_key=_to_read(row, now), usage=USAGE, notice=notice)


async def _origin(
    uow: UnitOfWork, principal: Principal, recheck: tuple[RecheckPolicy, str] | None, now: dt.datetime
) -> dict[str, object]:
    """The columns that say how the key re-checks its person; empty when nothing can."""
    if recheck is not None:
        policy, refresh_token = recheck
        return {"upstream_refresh_token": policy.seal(refresh_token), "checked_at": now, "next_check_at": now}
    if principal.grant_id is None:
        return {}
    grant = await uow.oauth.grant(principal.grant_id)
    if grant is None or grant["auth_user_id"] != principal.auth_user_id or grant["revoked_at"] is not None:
        raise PermissionDenied(
            "Your OAuth sign-in has ended (signed out or revoked), so no key can be made under it; "
            "sign in again, then create the key."
        )
    if grant["upstream_refresh_token"] is None:  # MCP_Auth gave that sign-in no refresh token
        return {}
    return {"grant_id": principal.grant_id, "checked_at": grant["grant_checked_at"] or grant["grant_created_at"]}


def _lifetime(asked: int, *, rechecked: bool, unchecked_max_days: int) -> tuple[int, str | None]:
    """The key's lifetime in days and what the person should know about it: a key nothing re-checks keeps
    its creator's role however MCP_Auth changes it, so its life is what bounds that."""
    if rechecked:
        return asked, None
    if unchecked_max_days <= 0:
        raise PermissionDenied(
            "This server makes only API keys it can re-check with MCP_Auth, and this sign-in (an MCP_Auth token "
            "alone) gives it no way to ask MCP_Auth about you again. " + _HOW_TO_RECHECK
        )
    days = min(asked, unchecked_max_days)
    shortened = f" It lives {days} day(s), not the {asked} asked for: the longest this server allows such a key."
    notice = (
        "This key is not re-checked with MCP_Auth (this sign-in, an MCP_Auth token alone, gives the server no way "
        "to ask about you again): it keeps your current role until it expires, even if MCP_Auth changes it."
        + (shortened if days < asked else "")
        + " "
        + _HOW_TO_RECHECK
    )
    return days, notice


async def list_api_keys(db: Database, principal: Principal) -> ApiKeyList:
    """Your own keys; admins and owners see every key of the household (to revoke a departed member's)."""
    _require_sign_in(principal)
    everyone = Permission.ADMIN in principal.permissions
    async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
        rows = await uow.api_keys.list(user_id=None if everyone else principal.user_id)
    now = dt.datetime.now(dt.UTC)
    return ApiKeyList(api_keys=[_to_read(row, now) for row in rows], total=len(rows))


async def revoke_api_key(db: Database, principal: Principal, key_id: int) -> ApiKeyRevoked:
    """Revoke one of your keys (admins and owners: any key of the household). Revoking twice is harmless."""
    _require_sign_in(principal)
    now = dt.datetime.now(dt.UTC)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        repo = uow.api_keys
        row = await repo.get(key_id)
        if row is None or (row["user_id"] != principal.user_id and Permission.ADMIN not in principal.permissions):
            raise _key_not_found(key_id)
        await repo.revoke(key_id, now=now)
        row = await repo.get(key_id)
        summary = f'Revoked the API key "{row["name"] if row else key_id}" ({key_id})'
        uow.log.describe(by=principal, tool="revoke_api_key", summary=summary, entity_type="api_key", entity_id=key_id)
        await uow.commit()
    assert row is not None
    return ApiKeyRevoked(api_key=_to_read(row, now))


async def authenticate(
    db: Database, key: str, *, now: dt.datetime | None = None, recheck: RecheckPolicy | None = None
) -> KeyHolder | KeyRefused:
    """The holder of a presented key, or why not: malformed, unknown, wrong secret, revoked, expired, or
    stopped by a re-check of its person with MCP_Auth (`recheck`, for keys that keep a refresh token)."""
    shape = _KEY_SHAPE.match(key)
    if shape is None:
        return KeyRefused("the API key is malformed (expected fmcp_<16 hex>_<43 characters>)")
    async with UnitsOfWork(db).read() as uow:
        row = await uow.api_key_credentials.find(shape["lookup"])
    if row is None or not matches(shape["secret"], row["secret_hash"]):
        return UNKNOWN_KEY
    now = now or dt.datetime.now(dt.UTC)
    if row["revoked_at"] is not None:
        why = f": {row['revoke_reason']}" if row["revoke_reason"] else ""
        return KeyRefused(f"the API key was revoked{why}; create a new key")
    if row["expires_at"] <= now:
        return KeyRefused("the API key has expired; create a new key")
    tenant_id = tenant_of(row["external_key"])
    role = row["role"]
    if recheck is not None:
        verdict = await recheck.judge(db, row, tenant_id, now)
        if verdict.refusal is not None:
            return KeyRefused(verdict.refusal)
        role = verdict.role or role
    return KeyHolder(
        key_id=row["id"],
        auth_user_id=row["auth_user_id"],
        tenant_id=tenant_id,
        email=row["email"],
        role=role,
        scopes=tuple(row["scopes"]),
        expires_at=row["expires_at"],
        toolsets=None if row["toolsets"] is None else tuple(row["toolsets"]),
    )
