"""API keys through the service layer, on SQLite and PostgreSQL: shown once, stored as a hash, scoped to at
most the creator's permissions, bound to the household and user, revocable, never readable again."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from pydantic import ValidationError

from finance_mcp.crypto import Sealer, hash_secret
from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Conflict, NotFound, PermissionDenied
from finance_mcp.domain.principals import Identity, Principal, Role
from finance_mcp.schemas.api_keys import ApiKeyCreate
from finance_mcp.services import api_keys
from finance_mcp.services.api_key_recheck import Disowned, RecheckPolicy, Vouched
from finance_mcp.services.households import IdentityService
from tests.services.helpers import MakePrincipal, count_rows

pytestmark = pytest.mark.anyio


def wanted(*scopes: str, name: str = "Cursor", days: int = 30) -> ApiKeyCreate:
    return ApiKeyCreate.model_validate({"name": name, "scopes": list(scopes), "expires_in_days": days})


async def test_a_new_key_is_shown_once_and_authenticates_as_its_creator(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal(Role.MEMBER, email="me@example.com")

    created = await api_keys.create_api_key(db, me, wanted("finance:read", "finance:write"))
    holder = await api_keys.authenticate(db, created.key)

    assert created.key.startswith("fmcp_")
    assert created.api_key.prefix == created.key[:22] + "…"
    assert created.api_key.scopes == ["finance:read", "finance:write"]
    assert created.api_key.role == "member"
    assert created.api_key.status == "active"
    assert created.api_key.user_email == "me@example.com"
    assert isinstance(holder, api_keys.KeyHolder)
    assert holder.auth_user_id == me.auth_user_id
    assert holder.scopes == ("finance:read", "finance:write")
    assert holder.role == "member"


async def test_only_the_hash_of_the_secret_is_stored(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    created = await api_keys.create_api_key(db, me, wanted("finance:read"))
    secret = created.key[22:]  # fmcp_ + 16 hex + _ + the secret

    assert await count_rows(db, "SELECT count(*) FROM api_keys WHERE secret_hash = :h", h=hash_secret(secret)) == 1
    for column in ("name", "lookup_id", "secret_hash", "role"):
        found = await count_rows(db, f"SELECT count(*) FROM api_keys WHERE {column} LIKE :s", s=f"%{secret}%")  # noqa: S608
        assert found == 0, column


async def test_listing_never_shows_a_secret(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    created = await api_keys.create_api_key(db, me, wanted("finance:read"))

    listed = await api_keys.list_api_keys(db, me)

    assert listed.total == 1
    assert created.key not in listed.model_dump_json()
    assert created.key[22:] not in listed.model_dump_json()
    assert listed.api_keys[0].id == created.api_key.id


async def test_a_wrong_secret_a_malformed_key_and_an_unknown_key_do_not_authenticate(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    key = (await api_keys.create_api_key(db, me, wanted("finance:read"))).key

    assert isinstance(await api_keys.authenticate(db, key[:-1] + ("A" if key[-1] != "A" else "B")), api_keys.KeyRefused)
    assert isinstance(await api_keys.authenticate(db, key + "x"), api_keys.KeyRefused)
    assert isinstance(await api_keys.authenticate(db, "fmcp_0000000000000000_" + "a" * 43), api_keys.KeyRefused)
    assert isinstance(await api_keys.authenticate(db, "fmcp_"), api_keys.KeyRefused)


async def test_a_revoked_key_no_longer_authenticates(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    created = await api_keys.create_api_key(db, me, wanted("finance:read"))

    revoked = await api_keys.revoke_api_key(db, me, created.api_key.id)
    again = await api_keys.revoke_api_key(db, me, created.api_key.id)

    assert revoked.api_key.status == "revoked"
    assert again.api_key.revoked_at == revoked.api_key.revoked_at
    assert isinstance(await api_keys.authenticate(db, created.key), api_keys.KeyRefused)


async def test_a_key_stops_working_when_it_expires(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    created = await api_keys.create_api_key(db, me, wanted("finance:read", days=1))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1, seconds=1)

    assert isinstance(await api_keys.authenticate(db, created.key), api_keys.KeyHolder)
    assert isinstance(await api_keys.authenticate(db, created.key, now=later), api_keys.KeyRefused)


async def test_a_key_cannot_do_more_than_its_creators_role(db: Database, make_principal: MakePrincipal) -> None:
    member = await make_principal(Role.MEMBER)
    viewer = await make_principal(Role.VIEWER)

    with pytest.raises(PermissionDenied, match="finance:admin is beyond your role"):
        await api_keys.create_api_key(db, member, wanted("finance:read", "finance:admin"))
    with pytest.raises(PermissionDenied, match="finance:write is beyond your role"):
        await api_keys.create_api_key(db, viewer, wanted("finance:write"))
    assert await count_rows(db, "SELECT count(*) FROM api_keys WHERE household_id = :h", h=member.household_id) == 0


async def test_a_key_cannot_do_more_than_the_sign_in_that_made_it(db: Database, make_principal: MakePrincipal) -> None:
    read_only_owner = await make_principal(Role.OWNER, scopes=frozenset({"finance:read"}))

    with pytest.raises(PermissionDenied, match="finance:write"):
        await api_keys.create_api_key(db, read_only_owner, wanted("finance:write"))


async def test_an_api_key_cannot_manage_api_keys(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    created = await api_keys.create_api_key(db, me, wanted("finance:read", "finance:write", "finance:admin"))
    as_key = dataclasses.replace(me, api_key_id=created.api_key.id)

    for attempt in (
        api_keys.create_api_key(db, as_key, wanted("finance:read")),
        api_keys.list_api_keys(db, as_key),
        api_keys.revoke_api_key(db, as_key, created.api_key.id),
    ):
        with pytest.raises(PermissionDenied, match="API keys cannot"):
            await attempt


async def test_another_households_key_reads_as_not_found(db: Database, make_principal: MakePrincipal) -> None:
    mine = await make_principal()
    theirs = await make_principal()
    their_key = await api_keys.create_api_key(db, theirs, wanted("finance:read"))

    with pytest.raises(NotFound, match=f"API key {their_key.api_key.id} was not found"):
        await api_keys.revoke_api_key(db, mine, their_key.api_key.id)
    assert (await api_keys.list_api_keys(db, mine)).total == 0
    assert isinstance(await api_keys.authenticate(db, their_key.key), api_keys.KeyHolder)


async def test_members_see_and_revoke_only_their_own_keys_while_admins_manage_the_households(
    db: Database, make_principal: MakePrincipal
) -> None:
    owner = await make_principal(Role.OWNER)
    tenant = owner.household_name.removeprefix("Household ")
    member = await make_principal(Role.MEMBER, tenant=tenant)
    admin = await make_principal(Role.ADMIN, tenant=tenant)
    owners_key = await api_keys.create_api_key(db, owner, wanted("finance:read"))
    members_key = await api_keys.create_api_key(db, member, wanted("finance:read"))

    assert [k.id for k in (await api_keys.list_api_keys(db, member)).api_keys] == [members_key.api_key.id]
    with pytest.raises(NotFound):
        await api_keys.revoke_api_key(db, member, owners_key.api_key.id)
    assert (await api_keys.list_api_keys(db, admin)).total == 2
    await api_keys.revoke_api_key(db, admin, members_key.api_key.id)
    assert isinstance(await api_keys.authenticate(db, members_key.key), api_keys.KeyRefused)
    assert isinstance(await api_keys.authenticate(db, owners_key.key), api_keys.KeyHolder)


async def test_a_person_has_at_most_25_active_keys(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    for number in range(api_keys.MAX_ACTIVE_KEYS_PER_USER):
        await api_keys.create_api_key(db, me, wanted("finance:read", name=f"key {number}"))

    with pytest.raises(Conflict, match="already have 25 active API keys"):
        await api_keys.create_api_key(db, me, wanted("finance:read"))
    first = (await api_keys.list_api_keys(db, me)).api_keys[0]
    await api_keys.revoke_api_key(db, me, first.id)
    assert (await api_keys.create_api_key(db, me, wanted("finance:read"))).api_key.status == "active"


async def test_a_personal_households_key_speaks_for_that_person_alone(
    db: Database, identities: IdentityService
) -> None:
    me: Principal = await identities.resolve(
        Identity(auth_user_id=f"personal-{uuid.uuid4().hex[:8]}", tenant_id=None, email=None, role=Role.OWNER)
    )
    created = await api_keys.create_api_key(db, me, wanted("finance:read"))
    holder = await api_keys.authenticate(db, created.key)

    assert isinstance(holder, api_keys.KeyHolder)
    assert holder.tenant_id is None
    assert holder.auth_user_id == me.auth_user_id


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "", "scopes": ["finance:read"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["finance:everything"]},
        {"name": "x", "scopes": ["finance:read"], "expires_in_days": 0},
        {"name": "x", "scopes": ["finance:read"], "expires_in_days": 366},
    ],
)
def test_bad_key_requests_are_refused_before_anything_happens(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ApiKeyCreate.model_validate(bad)


# ---- re-checking the person with MCP_Auth (services/api_key_recheck.py) ---------------------------------


def policy(answers: list[Vouched | Disowned | None], asked: list[str], *, grace: int = 0) -> RecheckPolicy:
    async def ask(refresh_token: str) -> Vouched | Disowned | None:
        asked.append(refresh_token)
        return answers.pop(0)

    return RecheckPolicy(
        ask=ask, sealer=Sealer("s" * 40, "test"), interval=dt.timedelta(0), grace=dt.timedelta(seconds=grace)
    )


async def test_a_rechecked_key_rotates_its_refresh_token_and_takes_the_lower_role(
    db: Database, make_principal: MakePrincipal
) -> None:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    admin = await make_principal(Role.ADMIN, tenant=tenant)
    asked: list[str] = []
    answers: list[Vouched | Disowned | None] = [
        Vouched(admin.auth_user_id, tenant, "MEMBER", "second"),
        Vouched(admin.auth_user_id, tenant, "OWNER", "third"),
    ]
    rechecking = policy(answers, asked)
    created = await api_keys.create_api_key(db, admin, wanted("finance:read"), recheck=(rechecking, "first"))

    demoted = await api_keys.authenticate(db, created.key, recheck=rechecking)
    promoted = await api_keys.authenticate(db, created.key, recheck=rechecking)

    assert asked == ["first", "second"]
    assert isinstance(demoted, api_keys.KeyHolder)
    assert demoted.role == "member"
    assert isinstance(promoted, api_keys.KeyHolder)
    assert promoted.role == "member"


async def test_a_key_whose_person_mcp_auth_disowns_is_stopped_and_listed_with_the_reason(
    db: Database, make_principal: MakePrincipal
) -> None:
    member = await make_principal(Role.MEMBER)
    rechecking = policy([Disowned("401: User account is disabled")], [])
    created = await api_keys.create_api_key(db, member, wanted("finance:read"), recheck=(rechecking, "first"))

    refused = await api_keys.authenticate(db, created.key, recheck=rechecking)
    listed = await api_keys.list_api_keys(db, member)

    assert isinstance(refused, api_keys.KeyRefused)
    assert "no longer vouches" in refused.reason
    assert listed.api_keys[0].status == "revoked"
    assert "no longer vouches" in (listed.api_keys[0].revoke_reason or "")


async def test_mcp_auth_unreachable_within_the_grace_keeps_the_key_working_with_its_last_role(
    db: Database, make_principal: MakePrincipal
) -> None:
    member = await make_principal(Role.MEMBER)
    rechecking = policy([None], [], grace=3600)
    created = await api_keys.create_api_key(db, member, wanted("finance:read"), recheck=(rechecking, "first"))

    holder = await api_keys.authenticate(db, created.key, recheck=rechecking)

    assert isinstance(holder, api_keys.KeyHolder)
    assert holder.role == "member"
