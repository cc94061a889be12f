"""Who is calling: roles, permissions, and the principal that every service call carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from finance_mcp.domain.errors import PermissionDenied
from finance_mcp.domain.quotas import NO_QUOTAS, Quotas


class Role(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @classmethod
    def parse(cls, value: object, *, shared_household: bool) -> Role:
        """Read a token's role claim (any case). Absent: member when shared, owner when personal."""
        if value is None or value == "":
            return cls.MEMBER if shared_household else cls.OWNER
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise PermissionDenied(
                f"The token's role {value!r} is not one of OWNER, ADMIN, MEMBER, VIEWER; "
                "ask the household owner for a valid sign-in."
            ) from None


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"  # transactions create/update/delete, accounts create/update
    ADMIN = "admin"  # delete accounts, bulk and destructive operations
    OWNER = "owner"  # household settings


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.MEMBER: frozenset({Permission.READ, Permission.WRITE}),
    Role.ADMIN: frozenset({Permission.READ, Permission.WRITE, Permission.ADMIN}),
    Role.OWNER: frozenset(Permission),
}

# The OAuth scope a token must carry for a permission, once it carries any finance:* scope at all.
SCOPE_FOR: dict[Permission, str] = {
    Permission.READ: "finance:read",
    Permission.WRITE: "finance:write",
    Permission.ADMIN: "finance:admin",
    Permission.OWNER: "finance:admin",
}

FINANCE_SCOPES = ("finance:read", "finance:write", "finance:admin")


def scopes_for(permissions: frozenset[Permission]) -> frozenset[str]:
    """The finance:* scopes that together allow exactly these permissions (never more)."""
    return frozenset(SCOPE_FOR[p] for p in permissions)


_WHAT_IS_NEEDED = {
    Permission.READ: "reading the household's data",
    Permission.WRITE: "changing transactions or accounts",
    Permission.ADMIN: "deleting accounts and other destructive operations",
    Permission.OWNER: "changing household settings",
}


@dataclass(frozen=True, slots=True)
class Identity:
    """What a verified token says about the caller, before any database lookup."""

    auth_user_id: str
    tenant_id: str | None
    email: str | None
    role: Role
    scopes: frozenset[str] = field(default_factory=frozenset[str])

    @property
    def household_key(self) -> str:
        """Members of one MCP_Auth tenant share a household; a token without a tenant gets its own."""
        if self.tenant_id is not None:
            return f"tenant:{self.tenant_id}"
        return f"personal:{self.auth_user_id}"


def tenant_household_key(tenant_id: str) -> str:
    """The household key of an MCP_Auth tenant (`Identity.household_key` of any of its members)."""
    return f"tenant:{tenant_id}"


def tenant_of(household_key: str) -> str | None:
    """The MCP_Auth tenant of a household key (`Identity.household_key`), None for a personal household."""
    return household_key.removeprefix("tenant:") if household_key.startswith("tenant:") else None


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller as the services see it: a local user acting in one household with one role."""

    user_id: int
    household_id: int
    household_name: str
    auth_user_id: str
    email: str | None
    role: Role
    scopes: frozenset[str] = field(default_factory=frozenset[str])
    api_key_id: int | None = None  # set when the caller signed in with an API key, not a token
    grant_id: int | None = None  # set when the caller's token came from an OAuth sign-in through this server
    client_id: str | None = None  # the OAuth client of that sign-in (the change log names it)
    quotas: Quotas = NO_QUOTAS  # the household's limits (settings MAX_*_PER_HOUSEHOLD)

    @property
    def permissions(self) -> frozenset[Permission]:
        allowed = ROLE_PERMISSIONS[self.role]
        if not any(scope.startswith("finance:") for scope in self.scopes):
            return allowed
        return frozenset(p for p in allowed if SCOPE_FOR[p] in self.scopes)

    def require(self, permission: Permission) -> None:
        if permission in self.permissions:
            return
        if permission in ROLE_PERMISSIONS[self.role]:
            raise PermissionDenied(
                f"This sign-in lacks the {SCOPE_FOR[permission]} scope needed for "
                f"{_WHAT_IS_NEEDED[permission]}; sign in again granting that scope."
            )
        raise PermissionDenied(
            f"Your role ({self.role.value}) does not allow {_WHAT_IS_NEEDED[permission]}; "
            "ask a household owner or admin to do it or to change your role."
        )
