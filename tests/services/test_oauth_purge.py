"""The login bridge's tables keep only what is live: every completed sign-in clears expired codes, refresh
tokens and grants (a grant takes its remaining codes and tokens with it)."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from sqlalchemy import text

from finance_mcp.crypto import Sealer
from finance_mcp.db.database import Database
from finance_mcp.repositories.oauth import OAuthRepository
from finance_mcp.services.oauth import GrantStore, Person

pytestmark = pytest.mark.anyio

PERSON = Person(auth_user_id="7", tenant_id="t-purge", email=None, role="owner")


async def sign_in(store: GrantStore, client_id: str) -> str:
    return await store.start(
        client_id=client_id,
        person=PERSON,
        scopes=[],
        resource=None,
        upstream_refresh_token=None,
        code_challenge="c" * 43,
        redirect_uri="http://127.0.0.1:9/callback",
        redirect_uri_provided_explicitly=True,
    )


async def rows_of(db: Database, client_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with db.connect(write=False) as conn:
        for table in ("oauth_grants", "oauth_codes", "oauth_refresh_tokens"):
            grant_ids = "SELECT id FROM oauth_grants WHERE client_id = :c"
            where = "client_id = :c" if table == "oauth_grants" else f"grant_id IN ({grant_ids})"
            statement = text(f"SELECT count(*) FROM {table} WHERE {where}")  # noqa: S608  # fixed table names
            counts[table] = int((await conn.execute(statement, {"c": client_id})).scalar_one())
    return counts


async def test_a_sign_in_clears_what_has_expired_and_keeps_what_is_live(db: Database) -> None:
    store, client_id = GrantStore(db, Sealer(secrets.token_urlsafe(48), "test")), f"client-{secrets.token_hex(4)}"
    await store.register_client(client_id, None, {"redirect_uris": ["http://127.0.0.1:9/callback"]})
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    async with db.connect(write=True) as conn:
        repo = OAuthRepository(conn)
        for lifetime in (dt.timedelta(days=90), dt.timedelta(days=400)):  # one grant expired, one still live
            grant = await repo.add_grant(
                now=long_ago,
                client_id=client_id,
                auth_user_id="7",
                tenant_id="t-purge",
                email=None,
                role="owner",
                scopes=[],
                resource=None,
                upstream_refresh_token=None,
                expires_at=long_ago + lifetime,
            )
            await repo.add_code(
                now=long_ago,
                grant_id=grant,
                code_hash=secrets.token_hex(16),
                code_challenge="c" * 43,
                redirect_uri="http://127.0.0.1:9/callback",
                redirect_uri_provided_explicitly=True,
                expires_at=long_ago + dt.timedelta(minutes=5),
            )
            for age in (dt.timedelta(days=30), dt.timedelta(days=300)):  # an expired and a live token
                token_expires = min(long_ago + age, long_ago + lifetime)
                await repo.add_refresh_token(
                    now=long_ago, grant_id=grant, token_hash=secrets.token_hex(16), expires_at=token_expires
                )
        await conn.commit()
    assert await rows_of(db, client_id) == {"oauth_grants": 2, "oauth_codes": 2, "oauth_refresh_tokens": 4}

    code = await sign_in(store, client_id)

    # left: the live old grant with its live token, and the new grant with its fresh code
    assert await rows_of(db, client_id) == {"oauth_grants": 2, "oauth_codes": 1, "oauth_refresh_tokens": 1}
    assert await store.find_code(code) is not None
