"""How units of work reach PostgreSQL: a transaction only where one is needed, and pooled connections that
the server closed are replaced instead of failing a call (there is no per-call pre-ping)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import asyncpg
import pytest
from sqlalchemy import text

from finance_mcp.db.database import Connection, Database, PostgresDatabase, open_database
from finance_mcp.domain.errors import Unavailable
from finance_mcp.domain.principals import Identity, Role
from finance_mcp.repositories.accounts import _GET as _GET_ACCOUNT  # pyright: ignore[reportPrivateUsage]
from finance_mcp.repositories.transactions import _ACCOUNT_PAGE  # pyright: ignore[reportPrivateUsage]
from finance_mcp.schemas.accounts import AccountCreate
from finance_mcp.services import accounts, transactions
from finance_mcp.services.households import IdentityService
from tests.services.helpers import item

pytestmark = pytest.mark.anyio

PROBE = "SELECT current_setting('finance_mcp.probe', true)"


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[PostgresDatabase]:
    db = open_database(postgres_url)
    assert isinstance(db, PostgresDatabase)
    try:
        yield db
    finally:
        await db.dispose()


async def backend_pid_of(conn: Connection) -> int:
    return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def backend_pid(db: Database) -> int:
    async with db.connect(write=False, transaction=False) as conn:
        return await backend_pid_of(conn)


async def test_a_pooled_connection_the_server_closed_is_replaced_without_failing_the_call(
    pg: PostgresDatabase, postgres_url: str
) -> None:
    async with pg.engine.connect() as conn:
        pooled = (await conn.get_raw_connection()).driver_connection
        first = await conn.scalar(text("SELECT pg_backend_pid()"))
    assert await backend_pid(pg) == first  # the pool hands the same connection back
    assert pooled is not None

    admin = await asyncpg.connect(postgres_url, timeout=5)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        with anyio.fail_after(10):
            while not pooled.is_closed():  # the event loop delivers the server's close to asyncpg
                await admin.fetchval("SELECT 1")
    finally:
        await admin.close()

    assert await backend_pid(pg) not in (first, None)


async def test_a_write_unit_without_a_transaction_runs_exactly_one_statement(pg: PostgresDatabase) -> None:
    """Two statements in autocommit would not be atomic together: the second is refused."""
    async with pg.connect(write=True, transaction=False) as conn:
        await conn.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError, match="exactly one statement"):
            await conn.execute(text("SELECT 2"))


async def probe_outlives_its_statement(pg: PostgresDatabase, *, transaction: bool) -> bool:
    """Set a transaction-local value, then read it in the next statement: it survives only in a transaction."""
    async with pg.connect(write=False, transaction=transaction) as conn:
        await conn.execute(text("SELECT set_config('finance_mcp.probe', 'set', true)"))
        return (await conn.execute(text(PROBE))).scalar_one() == "set"


async def test_reads_without_a_transaction_run_each_statement_on_its_own(pg: PostgresDatabase) -> None:
    assert await probe_outlives_its_statement(pg, transaction=True) is True
    assert await probe_outlives_its_statement(pg, transaction=False) is False


async def test_reads_on_the_driver_fast_path_give_exactly_what_sqlalchemy_gives(pg: PostgresDatabase) -> None:
    identity = Identity(auth_user_id="1", tenant_id=f"t{uuid.uuid4().hex[:10]}", email=None, role=Role.OWNER)
    me = await IdentityService(pg).resolve(identity)
    account = await accounts.create_account(
        pg, me, AccountCreate.model_validate({"name": "Fast", "account_type": "checking", "opening_balance": "10"})
    )
    await transactions.record_transaction(pg, me, account.id, item("-2.5", tags=["Trip", "food"]))
    page = (_ACCOUNT_PAGE, {"p_household": me.household_id, "p_account": account.id, "p_limit": 5})
    one = (_GET_ACCOUNT, {"p_household": me.household_id, "p_account": account.id})

    for statement, params in (page, one):
        async with pg.connect(write=False, transaction=False) as conn:
            fast = await conn.rows(statement, params)
        async with pg.connect(write=False) as conn:  # a transaction: the plain SQLAlchemy path
            plain = await conn.rows(statement, params)
        assert fast == plain
        assert [{k: type(v) for k, v in row.items()} for row in fast] == [
            {k: type(v) for k, v in row.items()} for row in plain
        ]
    assert fast[0]["balance"].as_tuple().exponent == -2


async def test_a_connection_lost_during_a_fast_read_is_unavailable_and_the_next_call_works(
    pg: PostgresDatabase, postgres_url: str
) -> None:
    statement, params = _GET_ACCOUNT, {"p_household": 0, "p_account": 1}

    async def read_after_the_server_closed_the_connection() -> None:
        async with pg.connect(write=False, transaction=False) as conn:
            pid = await backend_pid_of(conn)
            admin = await asyncpg.connect(postgres_url, timeout=5)
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            await conn.rows(statement, params)

    with pytest.raises(Unavailable):
        await read_after_the_server_closed_the_connection()

    async with pg.connect(write=False, transaction=False) as conn:
        assert await conn.rows(statement, params) == []
