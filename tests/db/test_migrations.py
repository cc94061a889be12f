"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and
undo it cleanly. Each test gets an empty database of its own: the shared fixtures are already migrated."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pprint import pformat
from typing import Any, TypeVar

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Date, DateTime, bindparam, create_engine, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from finance_mcp.db.database import async_url
from finance_mcp.db.migrate import alembic_config, downgrade, upgrade
from finance_mcp.db.models import Base

T = TypeVar("T")

MODEL_TABLES = set(Base.metadata.tables)


async def _pg_admin(server: str, statement: str) -> None:
    conn = await asyncpg.connect(f"{server}/postgres", timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def empty_postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the test server (`postgres_server` brings the skip-or-fail policy)."""
    server = postgres_server.rsplit("/", 1)[0]
    name = f"finance_mcp_migrations_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    fixture = "tmp_sqlite_url" if request.param == "sqlite" else "empty_postgres_url"
    return str(request.getfixturevalue(fixture))


def _inspect(url: str, look: Callable[[Connection], T]) -> T:
    """Run `look` on a plain connection; PostgreSQL has only the async driver, hence `run_sync`."""
    if url.startswith("sqlite"):
        engine = create_engine(async_url(url), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return look(conn)
        finally:
            engine.dispose()

    async def look_async() -> T:
        engine = create_async_engine(async_url(url), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(look_async())


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _assert_models_match(url: str) -> None:
    differences = _inspect(url, _differences)
    assert not differences, "the migrations and the models disagree:\n" + pformat(differences)


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def test_upgrade_head_on_an_empty_database_builds_exactly_the_models(empty_database_url: str) -> None:
    upgrade(empty_database_url)

    _assert_models_match(empty_database_url)
    assert _inspect(empty_database_url, _tables) == MODEL_TABLES | {"alembic_version"}
    head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
    assert _inspect(empty_database_url, _revision) == head


def test_downgrade_base_removes_every_table_and_upgrade_head_works_again(empty_database_url: str) -> None:
    upgrade(empty_database_url)

    downgrade(empty_database_url, "base")
    assert _inspect(empty_database_url, _tables) == {"alembic_version"}
    assert _inspect(empty_database_url, _revision) is None

    upgrade(empty_database_url)
    _assert_models_match(empty_database_url)
    assert _inspect(empty_database_url, _tables) == MODEL_TABLES | {"alembic_version"}


def test_upgrade_head_twice_is_a_no_op(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)

    _assert_models_match(empty_database_url)


_OLD_ROWS = [
    ("INSERT INTO households (id, external_key, name, created_at) VALUES (1, 'h', 'H', :at)", [{}]),
    (
        "INSERT INTO accounts (id, household_id, name, account_type, currency, opening_balance, balance, "
        "created_at, updated_at) VALUES (:n, 1, 'A', 'checking', 'USD', 0, 0, :at, :at)",
        [{"n": n} for n in (1, 2, 3)],
    ),
    (
        "INSERT INTO transactions (household_id, account_id, amount, date, category, tags, created_at, "
        "updated_at) VALUES (1, :account, 0, :day, 'C', '[]', :at, :at)",
        [{"account": account} for account in (1, 1, 1, 2)],
    ),
]


def _counters(conn: Connection) -> dict[int, int]:
    rows = conn.execute(text("SELECT id, transaction_count FROM accounts ORDER BY id"))
    return {int(id_): int(count) for id_, count in rows}


def _insert_old_rows(conn: Connection) -> None:
    # Typed parameters: SQLAlchemy renders them for SQLite (sqlite3's own datetime adapter is deprecated in 3.12).
    types = {"at": DateTime(timezone=True), "day": Date()}
    for statement, rows in _OLD_ROWS:
        typed = text(statement).bindparams(*(bindparam(k, type_=t) for k, t in types.items() if f":{k}" in statement))
        for row in rows:
            stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            conn.execute(typed, {**row, "at": stamp, "day": dt.date(2026, 1, 1)})
    conn.commit()


def test_0004_fills_each_accounts_row_counter_from_the_rows_already_there(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0003")
    _inspect(empty_database_url, _insert_old_rows)

    upgrade(empty_database_url)

    assert _inspect(empty_database_url, _counters) == {1: 3, 2: 1, 3: 0}
