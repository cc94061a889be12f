"""Money and UTCDateTime read back exactly what was written on SQLite and PostgreSQL, and store what they always did."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, cast, func, insert, literal, null, select, text, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.exc import StatementError
from sqlalchemy.schema import CreateTable

from finance_mcp.db.database import Connection, Database
from finance_mcp.db.types import Money, UTCDateTime

pytestmark = pytest.mark.anyio

SAMPLES = Table(
    "type_samples",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("amount", Money()),
    Column("at", UTCDateTime()),
    prefixes=["TEMPORARY"],
)

AMOUNTS = ["0.00", "0.01", "-0.01", "-12.50", "9999999999999.99", "-9999999999999.99"]
INSTANTS = [
    datetime(2026, 11, 25, 20, 54, 37, 123456, tzinfo=UTC),
    datetime(2026, 11, 25, 20, 54, 37, tzinfo=UTC),
    datetime(2026, 11, 25, 20, 54, 37, 1, tzinfo=UTC),
    datetime(2027, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # the day before, in UTC
    datetime(2026, 12, 31, 23, 0, 0, 999999, tzinfo=timezone(timedelta(hours=-2))),  # the year after, in UTC
]

# SQLAlchemy's own SQLite DATETIME, which stored these columns before and must keep reading them the same.
SQLITE_DATETIME = sqlite.DATETIME()
SQLITE = sqlite.dialect()
_bind = SQLITE_DATETIME.bind_processor(SQLITE)
_result = SQLITE_DATETIME.result_processor(SQLITE, None)
assert _bind is not None
assert _result is not None
sa_store: Callable[[Any], Any] = _bind
sa_parse: Callable[[Any], Any] = _result


@contextlib.asynccontextmanager
async def samples(db: Database) -> AsyncIterator[Connection]:
    """A temporary table of both types, gone when the (never committed) transaction ends."""
    async with db.connect(write=True) as conn:
        await conn.execute(CreateTable(SAMPLES))
        yield conn


async def round_trip(db: Database, **values: Any) -> Any:
    async with samples(db) as conn:
        await conn.execute(insert(SAMPLES).values(id=1, **values))
        return (await conn.execute(select(SAMPLES).where(SAMPLES.c.id == 1))).one()


only_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


# ---- Money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", AMOUNTS)
async def test_an_amount_comes_back_exact_with_two_decimal_places(db: Database, amount: str) -> None:
    row = await round_trip(db, amount=Decimal(amount))

    assert row.amount == Decimal(amount)
    assert str(row.amount) == amount
    assert row.amount.as_tuple().exponent == -2


async def test_an_amount_written_with_fewer_places_comes_back_with_two(db: Database) -> None:
    row = await round_trip(db, amount=Decimal("-12.5"))

    assert str(row.amount) == "-12.50"


async def test_a_sum_typed_as_money_has_two_decimal_places(db: Database) -> None:
    async with samples(db) as conn:
        await conn.execute(insert(SAMPLES), [{"id": 1, "amount": Decimal("-12.50")}, {"id": 2, "amount": Decimal(7)}])
        total = (await conn.execute(select(type_coerce(func.sum(SAMPLES.c.amount), Money())))).scalar_one()
        nothing = (await conn.execute(select(cast(null(), Money())))).scalar_one()

    assert str(total) == "-5.50"
    assert nothing is None


@pytest.mark.parametrize(
    ("database_url", "sql", "expected"),
    [
        ("sqlite", "SELECT 1250.0", "12.50"),  # a REAL, as SQLite's AVG or TOTAL would give
        ("sqlite", "SELECT '-1250'", "-12.50"),
        ("postgres", "SELECT CAST(12.5 AS NUMERIC(10, 1))", "12.50"),
        ("postgres", "SELECT CAST(3 AS INTEGER)", "3.00"),
        ("postgres", "SELECT CAST(12.5 AS DOUBLE PRECISION)", "12.50"),
    ],
    indirect=["database_url"],
)
async def test_money_computed_by_the_database_comes_back_with_two_places(db: Database, sql: str, expected: str) -> None:
    async with db.connect(write=False) as conn:
        value = (await conn.execute(text(f"{sql} AS amount").columns(amount=Money()))).scalar_one()

    assert str(value) == expected


@only_sqlite
async def test_sqlite_stores_an_amount_as_integer_cents(db: Database) -> None:
    async with samples(db) as conn:
        await conn.execute(insert(SAMPLES).values(id=1, amount=Decimal("-9999999999999.99")))
        stored = (await conn.execute(text("SELECT typeof(amount), amount FROM type_samples"))).one()

    assert tuple(stored) == ("integer", -999999999999999)


@only_sqlite
async def test_sqlite_refuses_an_amount_with_more_than_two_places(db: Database) -> None:
    async with samples(db) as conn:
        with pytest.raises(StatementError, match="more than two decimal places"):
            await conn.execute(insert(SAMPLES).values(id=1, amount=Decimal("1.005")))


@pytest.mark.parametrize(("dialect", "rendered"), [(SQLITE, "-1250"), (asyncpg.dialect(), "-12.50")])
def test_an_amount_written_into_literal_sql_is_stored_the_same_way(dialect: Any, rendered: str) -> None:
    statement = select(literal(Decimal("-12.50"), Money()))

    sql = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})

    assert str(sql) == f"SELECT {rendered} AS anon_1"


@settings(database=None)
@given(cents=st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_every_amount_in_range_survives_the_sqlite_processors(cents: int) -> None:
    money = Money().dialect_impl(SQLITE)
    read, write = money.result_processor(SQLITE, None), money.bind_processor(SQLITE)
    assert read is not None
    assert write is not None

    amount = read(cents)

    assert isinstance(amount, Decimal)
    assert amount == Decimal(cents) / 100
    assert amount.as_tuple().exponent == -2
    assert write(amount) == cents


# ---- UTCDateTime ---------------------------------------------------------------------------------


@pytest.mark.parametrize("instant", INSTANTS, ids=str)
async def test_a_timestamp_comes_back_as_the_same_instant_in_utc(db: Database, instant: datetime) -> None:
    row = await round_trip(db, at=instant)

    assert row.at == instant
    assert row.at.tzinfo is UTC
    assert row.at.microsecond == instant.microsecond


async def test_a_naive_timestamp_is_refused(db: Database) -> None:
    async with samples(db) as conn:
        with pytest.raises(StatementError, match="naive datetime"):
            await conn.execute(insert(SAMPLES).values(id=1, at=datetime(2026, 1, 1)))


@only_sqlite
@pytest.mark.parametrize("instant", INSTANTS, ids=str)
async def test_sqlite_stores_the_text_sqlalchemys_datetime_stored(db: Database, instant: datetime) -> None:
    async with samples(db) as conn:
        await conn.execute(insert(SAMPLES).values(id=1, at=instant))
        stored = (await conn.execute(text("SELECT at FROM type_samples"))).scalar_one()

    assert stored == sa_store(instant.astimezone(UTC))
    assert stored == instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.mark.parametrize(
    ("database_url", "sql"),
    [
        ("sqlite", "SELECT '2026-01-01 10:00:00'"),
        ("sqlite", "SELECT '2026-01-01T12:00:00+02:00'"),
        ("sqlite", "SELECT '2026-01-01 10:00:00Z'"),
        ("postgres", "SELECT CAST('2026-01-01 10:00:00' AS TIMESTAMP)"),
        ("postgres", "SELECT CAST('2026-01-01 12:00:00+02' AS TIMESTAMPTZ)"),
    ],
    indirect=["database_url"],
)
async def test_timestamps_the_database_made_are_read_in_utc(db: Database, sql: str) -> None:
    async with db.connect(write=False) as conn:
        value = (await conn.execute(text(f"{sql} AS at").columns(at=UTCDateTime()))).scalar_one()

    assert value == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert value.tzinfo is UTC


def previous_reading(stored: str) -> datetime:
    """How UTCDateTime read SQLite text before: SQLAlchemy's parsing, then tagged or converted to UTC."""
    parsed = sa_parse(stored)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@settings(database=None)
@given(
    instant=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    layout=st.sampled_from(
        [
            lambda d: sa_store(d),
            lambda d: d.isoformat(" ", "seconds"),
            lambda d: d.isoformat("T", "milliseconds"),
            lambda d: d.isoformat(" ", "minutes"),
            lambda d: d.date().isoformat(),
            lambda d: d.isoformat() + "+03:00",
            lambda d: d.isoformat() + "Z",
        ]
    ),
)
def test_sqlite_text_reads_as_it_did_before(instant: datetime, layout: Any) -> None:
    stored = layout(instant)
    read = UTCDateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)
    assert read is not None

    value = read(stored)

    assert isinstance(value, datetime)
    assert value == previous_reading(stored)
    assert value.tzinfo is UTC


# ---- the schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "money", "timestamp"),
    [
        (sqlite.dialect(), "BIGINT", "DATETIME"),
        (postgresql.dialect(), "NUMERIC(15, 2)", "TIMESTAMP WITH TIME ZONE"),
        (asyncpg.dialect(), "NUMERIC(15, 2)", "TIMESTAMP WITH TIME ZONE"),
    ],
)
def test_the_column_types_are_unchanged(dialect: Any, money: str, timestamp: str) -> None:
    assert Money().compile(dialect=dialect) == money
    assert UTCDateTime().compile(dialect=dialect) == timestamp
