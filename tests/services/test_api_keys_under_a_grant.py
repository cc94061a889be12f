"""API keys made under an OAuth sign-in re-check through its grant, on SQLite and PostgreSQL: the grant's one
MCP_Auth refresh token is never refreshed by two holders at once, a freshly vouched grant answers for its
keys without a call to MCP_Auth, and MCP_Auth refusing the grant's token ends the grant and all its keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import uuid

import pytest

from finance_mcp.crypto import Sealer
from finance_mcp.db.database import Database
from finance_mcp.domain.errors import PermissionDenied
from finance_mcp.domain.principals import Principal, Role
from finance_mcp.repositories.oauth import OAuthRepository
from finance_mcp.schemas.api_keys import ApiKeyCreate
from finance_mcp.services import api_keys
from finance_mcp.services.api_key_recheck import Disowned, RecheckPolicy, Vouched
from finance_mcp.services.oauth import GrantStore, Person, UpstreamBusy
from tests.conftest import MakePrincipal

pytestmark = pytest.mark.anyio

GRANT_SEALER = Sealer("g" * 40, "grant")
READ = ApiKeyCreate(name="reader", scopes=["finance:read"], expires_in_days=30)


async def signed_in(db: Database, principal: Principal, tenant: str) -> tuple[GrantStore, int, str]:
    """A completed sign-in of `principal` (MCP_Auth refresh token "up-1"): the store, its grant and its
    first refresh token."""
    store = GrantStore(db, GRANT_SEALER)
    client_id = f"client-{secrets.token_hex(4)}"
    await store.register_client(client_id, None, {"redirect_uris": ["http://127.0.0.1:9/callback"]})
    code = await store.start(
        client_id=client_id,
        person=Person(principal.auth_user_id, tenant, None, "MEMBER"),
        scopes=["finance:read"],
        resource=None,
        upstream_refresh_token="up-1",
        code_challenge="c" * 43,
        redirect_uri="http://127.0.0.1:9/callback",
        redirect_uri_provided_explicitly=True,
    )
    found = await store.find_code(code)
    assert found is not None
    refresh_token = await store.redeem(found)
    assert refresh_token is not None
    return store, found.grant.id, refresh_token


def policy(answers: list[Vouched | Disowned | None], asked: list[str], *, interval: int = 0) -> RecheckPolicy:
    async def ask(refresh_token: str) -> Vouched | Disowned | None:
        asked.append(refresh_token)
        return answers.pop(0)

    return RecheckPolicy(
        ask=ask,
        sealer=Sealer("s" * 40, "test"),
        interval=dt.timedelta(seconds=interval),
        grace=dt.timedelta(0),
        grant_sealer=GRANT_SEALER,
    )


async def member_signed_in(db: Database, make_principal: MakePrincipal) -> tuple[Principal, str, GrantStore, int, str]:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    member = await make_principal(Role.MEMBER, tenant=tenant)
    store, grant_id, refresh_token = await signed_in(db, member, tenant)
    return dataclasses.replace(member, grant_id=grant_id), tenant, store, grant_id, refresh_token


async def test_a_client_refresh_meets_a_keys_recheck_holding_the_mcp_auth_token_and_takes_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    _, _, store, grant_id, refresh_token = await member_signed_in(db, make_principal)
    record = await store.find_refresh_token(refresh_token)
    assert record is not None
    now = dt.datetime.now(dt.UTC)
    async with db.connect(write=True) as conn:  # what a key's re-check does first
        held, _ = await OAuthRepository(conn).claim_upstream(grant_id, now=now, until=now + dt.timedelta(seconds=30))
        await conn.commit()

    with pytest.raises(UpstreamBusy):
        await store.claim(record)
    async with db.connect(write=True) as conn:
        await OAuthRepository(conn).release_upstream(grant_id)
        await conn.commit()
    claim = await store.claim(record)  # the refresh token was given back: not a replay

    assert held
    assert claim is not None
    assert claim.upstream_refresh_token == "up-1"


async def test_a_keys_recheck_stores_the_rotated_mcp_auth_token_on_the_grant_for_its_client(
    db: Database, make_principal: MakePrincipal
) -> None:
    member, tenant, store, _, refresh_token = await member_signed_in(db, make_principal)
    asked: list[str] = []
    rechecking = policy([Vouched(member.auth_user_id, tenant, "MEMBER", "up-2")], asked)
    created = await api_keys.create_api_key(db, member, READ)

    holder = await api_keys.authenticate(db, created.key, recheck=rechecking)
    record = await store.find_refresh_token(refresh_token)
    assert record is not None
    claim = await store.claim(record)

    assert asked == ["up-1"]
    assert isinstance(holder, api_keys.KeyHolder)
    assert claim is not None
    assert claim.upstream_refresh_token == "up-2"


async def test_a_freshly_vouched_grant_answers_for_its_key_without_asking_mcp_auth(
    db: Database, make_principal: MakePrincipal
) -> None:
    member, _, _, grant_id, _ = await member_signed_in(db, make_principal)
    created = await api_keys.create_api_key(db, member, READ)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=301)
    async with db.connect(write=True) as conn:  # its client refreshed just now: MCP_Auth said VIEWER
        await OAuthRepository(conn).update_grant(grant_id, role="VIEWER", checked_at=later)
        await conn.commit()
    asked: list[str] = []

    holder = await api_keys.authenticate(db, created.key, now=later, recheck=policy([], asked, interval=300))

    assert asked == []
    assert isinstance(holder, api_keys.KeyHolder)
    assert holder.role == "viewer"


async def test_mcp_auth_refusing_the_grants_token_ends_the_grant_and_every_key_made_under_it(
    db: Database, make_principal: MakePrincipal
) -> None:
    member, _, store, _, refresh_token = await member_signed_in(db, make_principal)
    first = await api_keys.create_api_key(db, member, READ)
    second = await api_keys.create_api_key(db, member, READ)
    rechecking = policy([Disowned("401: User account is disabled")], [])

    refused = await api_keys.authenticate(db, first.key, recheck=rechecking)
    other = await api_keys.authenticate(db, second.key, recheck=rechecking)
    listed = await api_keys.list_api_keys(db, member)

    assert isinstance(refused, api_keys.KeyRefused)
    assert "no longer vouches" in refused.reason
    assert isinstance(other, api_keys.KeyRefused)
    assert "no longer vouches" in other.reason
    assert [key.status for key in listed.api_keys] == ["revoked", "revoked"]
    assert await store.find_refresh_token(refresh_token) is None


async def test_no_key_is_made_under_a_sign_in_that_has_ended(db: Database, make_principal: MakePrincipal) -> None:
    member, _, store, grant_id, _ = await member_signed_in(db, make_principal)
    await store.revoke(grant_id)

    with pytest.raises(PermissionDenied, match="sign in again"):
        await api_keys.create_api_key(db, member, READ)


async def test_a_server_that_makes_no_unchecked_keys_says_how_to_make_one_that_is_rechecked(
    db: Database, make_principal: MakePrincipal
) -> None:
    bare = await make_principal(Role.MEMBER)

    with pytest.raises(PermissionDenied, match="sign in through OAuth"):
        await api_keys.create_api_key(db, bare, READ, unchecked_max_days=0)


async def test_an_expired_grant_that_keys_were_made_under_is_kept_to_recheck_them(
    db: Database, make_principal: MakePrincipal
) -> None:
    member, tenant, _, grant_id, _ = await member_signed_in(db, make_principal)
    created = await api_keys.create_api_key(db, member, READ)
    now = dt.datetime.now(dt.UTC)
    async with db.connect(write=True) as conn:
        repo = OAuthRepository(conn)
        await repo.update_grant(grant_id, expires_at=now - dt.timedelta(days=1))
        await repo.purge_expired(now=now)
        kept = await repo.grant(grant_id)
        await conn.commit()
    rechecking = policy([Vouched(member.auth_user_id, tenant, "MEMBER", "up-2")], [])

    holder = await api_keys.authenticate(db, created.key, recheck=rechecking)

    assert kept is not None
    assert isinstance(holder, api_keys.KeyHolder)
