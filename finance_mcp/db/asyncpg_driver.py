"""The raw-asyncpg path: reads of prebuilt statements sent straight to the driver, past SQLAlchemy's async
layer (greenlet, result processing), which costs more than the query itself here (docs/PERFORMANCE.md,
"Figures behind the code"). Each statement is compiled once and kept in a module-level cache: the statements are built
once at import, so the cache holds a fixed, small set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Dialect, Select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from finance_mcp.db.outages import is_outage

_DRIVER_SQL: dict[Select[*tuple[Any, ...]], tuple[str, tuple[str, ...]]] = {}


async def fetch_rows(
    conn: AsyncConnection, statement: Select[*tuple[Any, ...]], parameters: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The rows of a prebuilt SELECT, read by the asyncpg connection under `conn`. The values are already
    what the column types give: NUMERIC(15, 2) as two-place Decimals, UTC timestamps, and JSON decoded by the
    codec SQLAlchemy installs on every connection."""
    sql, names = _driver_sql(statement, conn.dialect)
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        records = await driver.fetch(sql, *(parameters[name] for name in names))
    except Exception as error:
        if is_outage(error) or driver.is_closed():
            await conn.invalidate()  # the pool must not hand this connection out again
        raise
    return [dict(record) for record in records]


def _driver_sql(statement: Select[*tuple[Any, ...]], dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """A prebuilt statement's PostgreSQL text and the order of its parameters, compiled once."""
    found = _DRIVER_SQL.get(statement)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        if compiled.binds and any(_converts(b.type, dialect) for b in compiled.binds.values()):
            raise ValueError("Connection.rows() takes statements whose parameters need no conversion")
        found = _DRIVER_SQL[statement] = (str(compiled), tuple(compiled.positiontup or ()))
    return found


def _converts(type_: TypeEngine[Any], dialect: Dialect) -> bool:
    """Whether SQLAlchemy would convert a parameter of `type_` before the driver sees it (the public
    spelling of what its compiler caches as `_cached_bind_processor`)."""
    return type_.dialect_impl(dialect).bind_processor(dialect) is not None
