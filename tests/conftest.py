"""Shared fixtures: one database fixture, two real backends (a SQLite file and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from finance_mcp.db.database import Database, open_database
from finance_mcp.db.migrate import upgrade
from finance_mcp.domain.principals import Identity, Principal, Role
from finance_mcp.services.households import IdentityService

PG_HOST = os.environ.get("FINANCE_MCP_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
REQUIRE_POSTGRES = os.environ.get("CI", "").lower() in ("1", "true", "yes")

MakePrincipal = Callable[..., Awaitable[Principal]]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


async def _pg_admin(statement: str) -> None:
    conn = await asyncpg.connect(f"{PG_HOST}/postgres", timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test run on the shared server; dropped at the end."""
    name = f"finance_mcp_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {PG_HOST} is required in CI but unreachable: {error}")
        pytest.skip(f"!!! PostgreSQL at {PG_HOST} is unreachable ({error}); PostgreSQL tests SKIPPED !!!")
    try:
        yield f"{PG_HOST}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str) -> str:
    upgrade(postgres_server)
    return postgres_server


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'finance.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = open_database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def identities(db: Database) -> IdentityService:
    return IdentityService(db)


@pytest.fixture
def make_principal(identities: IdentityService) -> MakePrincipal:
    """Principals in fresh households: every test gets tenants no other test has seen."""

    async def make(
        role: Role = Role.OWNER,
        *,
        tenant: str | None = None,
        sub: str | None = None,
        scopes: frozenset[str] = frozenset(),
        email: str | None = None,
    ) -> Principal:
        identity = Identity(
            auth_user_id=sub or str(uuid.uuid4().int % 10**9),
            tenant_id=tenant or f"t{uuid.uuid4().hex[:10]}",
            email=email,
            role=role,
            scopes=scopes,
        )
        return await identities.resolve(identity)

    return make


@pytest.fixture
def tmp_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.db'}"


@pytest.fixture
def fresh_postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database of its own on the test server (`postgres_server` brings the skip-or-fail policy)."""
    server = postgres_server.rsplit("/", 1)[0]
    name = f"finance_mcp_fresh_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def own_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of this test alone, on each backend: for tests that start servers with their own
    settings, count from zero, lock tables or drop an index."""
    sqlite = f"sqlite:///{tmp_path / 'own.db'}"
    url = sqlite if request.param == "sqlite" else str(request.getfixturevalue("fresh_postgres_url"))
    upgrade(url)
    return url
