"""Turning a verified identity into a principal: the household and user are created on first sight."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from finance_mcp.db.database import Database
from finance_mcp.domain.principals import Identity, Permission, Principal
from finance_mcp.domain.quotas import NO_QUOTAS, Quotas
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from finance_mcp.schemas.households import HouseholdRead, UserRead, WhoAmI

_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class _Known:
    household_id: int
    household_name: str
    user_id: int
    email: str | None


def _household_name(identity: Identity) -> str:
    if identity.tenant_id is not None:
        return f"Household {identity.tenant_id}"
    return f"Personal ({identity.email or identity.auth_user_id})"


class IdentityService:
    """Resolves callers. Households and users are never deleted through the API, so the mapping from a
    token to local ids is cached for the life of the process (one query saved on every call)."""

    def __init__(self, db: Database, *, quotas: Quotas = NO_QUOTAS) -> None:
        self._units = UnitsOfWork(db)
        self._quotas = quotas
        self._known: dict[tuple[str, str], _Known] = {}

    async def resolve(self, identity: Identity) -> Principal:
        key = (identity.household_key, identity.auth_user_id)
        known = self._known.get(key)
        if known is None or (identity.email is not None and identity.email != known.email):
            known = await self._ensure(identity)
            if len(self._known) >= _CACHE_LIMIT:
                self._known.clear()
            self._known[key] = known
        return Principal(
            user_id=known.user_id,
            household_id=known.household_id,
            household_name=known.household_name,
            auth_user_id=identity.auth_user_id,
            email=known.email,
            role=identity.role,
            scopes=identity.scopes,
            quotas=self._quotas,
        )

    async def _ensure(self, identity: Identity) -> _Known:
        now = dt.datetime.now(dt.UTC)
        async with self._units.write() as uow:
            repo = uow.identity
            household = await repo.ensure_household(identity.household_key, _household_name(identity), now=now)
            user_id, email = await repo.ensure_user(household["id"], identity.auth_user_id, identity.email, now=now)
            await uow.commit()
        return _Known(household["id"], household["name"], user_id, email)


def describe(principal: Principal) -> WhoAmI:
    principal.require(Permission.READ)
    return WhoAmI(
        user=UserRead(id=principal.user_id, auth_user_id=principal.auth_user_id, email=principal.email),
        household=HouseholdRead(id=principal.household_id, name=principal.household_name),
        role=principal.role.value,
        scopes=sorted(principal.scopes),
        permissions=sorted(p.value for p in principal.permissions),
    )
