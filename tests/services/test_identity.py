"""From a verified identity to a principal: roles, households and users created on first sight."""

from __future__ import annotations

import uuid

import anyio
import pytest
from sqlalchemy import text

from finance_mcp.db.database import Database, open_database
from finance_mcp.domain.errors import PermissionDenied
from finance_mcp.domain.principals import Identity, Principal, Role
from finance_mcp.services import accounts
from finance_mcp.services.households import IdentityService
from tests.services.helpers import count_rows, open_account

pytestmark = pytest.mark.anyio


def new_identity(*, tenant: str | None = "new", role: Role = Role.MEMBER, **fields: object) -> Identity:
    """An identity no test has used before (fresh sub, and a fresh tenant unless None is asked for)."""
    values: dict[str, object] = {
        "auth_user_id": str(uuid.uuid4().int % 10**12),
        "tenant_id": f"t{uuid.uuid4().hex[:12]}" if tenant == "new" else tenant,
        "email": None,
        "role": role,
        **fields,
    }
    return Identity(**values)  # type: ignore[arg-type]


async def stored_email(db: Database, principal: Principal) -> str | None:
    async with db.connect(write=False) as conn:
        result = await conn.execute(text("SELECT email FROM users WHERE id = :u"), {"u": principal.user_id})
        return result.scalar_one()


# ---- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "role"),
    [
        ("OWNER", Role.OWNER),
        ("owner", Role.OWNER),
        ("Admin", Role.ADMIN),
        (" MEMBER ", Role.MEMBER),
        ("vIeWeR", Role.VIEWER),
        (Role.ADMIN, Role.ADMIN),
    ],
)
@pytest.mark.parametrize("shared", [True, False])
def test_a_role_claim_is_read_in_any_case(claim: str, role: Role, shared: bool) -> None:
    assert Role.parse(claim, shared_household=shared) is role


@pytest.mark.parametrize("claim", [None, ""])
def test_an_absent_role_is_member_in_a_shared_household_and_owner_in_a_personal_one(claim: str | None) -> None:
    assert Role.parse(claim, shared_household=True) is Role.MEMBER
    assert Role.parse(claim, shared_household=False) is Role.OWNER


@pytest.mark.parametrize("claim", ["superuser", "OWNERS", 3, "read"])
def test_an_unknown_role_is_refused_with_the_valid_ones_named(claim: object) -> None:
    with pytest.raises(PermissionDenied, match=r"not one of OWNER, ADMIN, MEMBER, VIEWER"):
        Role.parse(claim, shared_household=True)


# ---- households ----------------------------------------------------------------------------------


def test_the_household_key_is_the_tenant_or_else_the_person() -> None:
    assert new_identity(tenant="7", auth_user_id="42").household_key == "tenant:7"
    assert new_identity(tenant=None, auth_user_id="42").household_key == "personal:42"


async def test_a_first_request_creates_the_household_and_the_user(db: Database, identities: IdentityService) -> None:
    identity = new_identity(email="ann@example.com", role=Role.ADMIN, scopes=frozenset({"finance:read"}))

    principal = await identities.resolve(identity)

    assert principal.household_name == f"Household {identity.tenant_id}"
    assert principal.auth_user_id == identity.auth_user_id
    assert principal.email == "ann@example.com"
    assert principal.role is Role.ADMIN
    assert principal.scopes == frozenset({"finance:read"})
    key = "SELECT count(*) FROM households WHERE external_key = :k AND id = :h"
    assert await count_rows(db, key, k=identity.household_key, h=principal.household_id) == 1
    user = "SELECT count(*) FROM users WHERE id = :u AND household_id = :h AND auth_user_id = :s"
    assert await count_rows(db, user, u=principal.user_id, h=principal.household_id, s=identity.auth_user_id) == 1


async def test_a_returning_user_gets_the_same_household_and_user(db: Database, identities: IdentityService) -> None:
    identity = new_identity()

    first = await identities.resolve(identity)
    again = await identities.resolve(identity)
    from_another_process = await IdentityService(db).resolve(identity)

    assert (again.user_id, again.household_id) == (first.user_id, first.household_id)
    assert (from_another_process.user_id, from_another_process.household_id) == (first.user_id, first.household_id)


async def test_members_of_a_tenant_share_one_household(identities: IdentityService) -> None:
    ann = new_identity()
    bob = new_identity(tenant=ann.tenant_id)

    ann_principal = await identities.resolve(ann)
    bob_principal = await identities.resolve(bob)

    assert ann_principal.household_id == bob_principal.household_id
    assert ann_principal.user_id != bob_principal.user_id


async def test_a_personal_household_is_separate_from_tenant_households(
    db: Database, identities: IdentityService
) -> None:
    alone = new_identity(tenant=None, role=Role.OWNER, email="solo@example.com")
    same_person_in_tenant = new_identity(tenant="team-" + uuid.uuid4().hex, auth_user_id=alone.auth_user_id)
    tenant_named_like_the_person = new_identity(tenant=alone.auth_user_id)
    someone_else_alone = new_identity(tenant=None)

    personal = await identities.resolve(alone)
    in_tenant = await identities.resolve(same_person_in_tenant)
    lookalike = await identities.resolve(tenant_named_like_the_person)
    other = await identities.resolve(someone_else_alone)

    households = {personal.household_id, in_tenant.household_id, lookalike.household_id, other.household_id}
    assert len(households) == 4
    assert personal.household_name == "Personal (solo@example.com)"
    account = await open_account(db, personal)
    assert [a.id for a in (await accounts.list_accounts(db, personal)).accounts] == [account.id]
    assert (await accounts.list_accounts(db, in_tenant)).total == 0


async def test_the_role_comes_from_each_token_not_from_the_first_one(identities: IdentityService) -> None:
    first = new_identity(role=Role.OWNER)
    later = Identity(first.auth_user_id, first.tenant_id, None, Role.VIEWER)

    assert (await identities.resolve(first)).role is Role.OWNER
    assert (await identities.resolve(later)).role is Role.VIEWER


# ---- email ---------------------------------------------------------------------------------------


async def test_the_email_is_kept_up_to_date_from_later_tokens(db: Database, identities: IdentityService) -> None:
    old = new_identity(email="old@example.com")
    new = Identity(old.auth_user_id, old.tenant_id, "new@example.com", old.role)

    before = await identities.resolve(old)
    after = await identities.resolve(new)

    assert before.email == "old@example.com"
    assert after.email == "new@example.com"
    assert after.user_id == before.user_id
    assert await stored_email(db, after) == "new@example.com"


async def test_a_token_without_an_email_keeps_the_stored_one(db: Database, identities: IdentityService) -> None:
    with_email = new_identity(email="kept@example.com")
    without = Identity(with_email.auth_user_id, with_email.tenant_id, None, with_email.role)

    first = await identities.resolve(with_email)
    later = await IdentityService(db).resolve(without)

    assert await stored_email(db, first) == "kept@example.com"
    assert later.email == "kept@example.com"


async def test_an_email_change_seen_by_another_process_is_stored(db: Database, identities: IdentityService) -> None:
    old = new_identity(email="a@example.com")
    new = Identity(old.auth_user_id, old.tenant_id, "b@example.com", old.role)
    principal = await identities.resolve(old)

    await IdentityService(db).resolve(new)

    assert await stored_email(db, principal) == "b@example.com"


# ---- first requests arriving at the same moment --------------------------------------------------


async def test_simultaneous_first_requests_create_one_household_and_one_user(db: Database) -> None:
    identity = new_identity(email="rush@example.com")
    services = [IdentityService(db) for _ in range(8)]
    resolved: list[Principal] = []

    async def resolve(service: IdentityService) -> None:
        resolved.append(await service.resolve(identity))

    async with anyio.create_task_group() as group:
        for service in services:
            group.start_soon(resolve, service)

    assert len({(p.household_id, p.user_id) for p in resolved}) == 1
    assert len(resolved) == 8
    assert (
        await count_rows(db, "SELECT count(*) FROM households WHERE external_key = :k", k=identity.household_key) == 1
    )
    users = "SELECT count(*) FROM users WHERE household_id = :h"
    assert await count_rows(db, users, h=resolved[0].household_id) == 1


async def test_simultaneous_first_requests_of_several_users_create_one_household(db: Database) -> None:
    tenant = f"t{uuid.uuid4().hex[:12]}"
    people = [new_identity(tenant=tenant) for _ in range(6)]
    resolved: list[Principal] = []

    async def resolve(identity: Identity) -> None:
        # Each request through two fresh services, as two server processes would see it.
        for _ in range(2):
            resolved.append(await IdentityService(db).resolve(identity))

    async with anyio.create_task_group() as group:
        for identity in people:
            group.start_soon(resolve, identity)

    assert len({p.household_id for p in resolved}) == 1
    assert len({p.user_id for p in resolved}) == 6
    assert await count_rows(db, "SELECT count(*) FROM households WHERE external_key = :k", k=f"tenant:{tenant}") == 1
    assert await count_rows(db, "SELECT count(*) FROM users WHERE household_id = :h", h=resolved[0].household_id) == 6


async def test_simultaneous_first_requests_through_separate_database_pools_create_one_of_each(
    database_url: str,
) -> None:
    identity = new_identity(tenant=None)
    pools = [open_database(database_url) for _ in range(4)]
    resolved: list[Principal] = []

    async def resolve(pool: Database) -> None:
        resolved.append(await IdentityService(pool).resolve(identity))

    try:
        async with anyio.create_task_group() as group:
            for pool in pools:
                group.start_soon(resolve, pool)
        households = "SELECT count(*) FROM households WHERE external_key = :k"
        assert await count_rows(pools[0], households, k=identity.household_key) == 1
        users = "SELECT count(*) FROM users WHERE auth_user_id = :s"
        assert await count_rows(pools[0], users, s=identity.auth_user_id) == 1
    finally:
        for pool in pools:
            await pool.dispose()

    assert len({(p.household_id, p.user_id) for p in resolved}) == 1
