"""Reaching the database: one object per process, one connection and transaction per unit of work.

Two designs behind one small interface (`db/connection.py`), each the faster of those measured in a prototype:

* PostgreSQL (`db/postgres.py`): SQLAlchemy's async engine on asyncpg; units that need no transaction run in
  autocommit, their reads on the raw-asyncpg path (`db/asyncpg_driver.py`).
* SQLite (`db/sqlite.py`): a *sync* SQLAlchemy engine called directly from the event loop, writers serialised.

Around them: `db/urls.py` maps the URLs users write to these drivers, and `db/outages.py` tells an outage
(`Unavailable`, try again) and a schema that is not migrated from every other error.

This module is the front door: the rest of the package imports these names from here.
"""

from __future__ import annotations

from finance_mcp.db import scans
from finance_mcp.db.connection import Connection, Database, Params, as_dicts
from finance_mcp.db.outages import UNAVAILABLE_MESSAGE
from finance_mcp.db.postgres import CONNECT_TIMEOUT_SECONDS, PostgresDatabase
from finance_mcp.db.sqlite import SqliteDatabase
from finance_mcp.db.urls import async_url

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "UNAVAILABLE_MESSAGE",
    "Connection",
    "Database",
    "Params",
    "PostgresDatabase",
    "SqliteDatabase",
    "as_dicts",
    "async_url",
    "open_database",
]


def open_database(
    url: str, *, echo: bool = False, pgbouncer: bool = False, scan_timeout: float = scans.SCAN_TIMEOUT_SECONDS
) -> Database:
    if async_url(url).startswith("sqlite"):
        return SqliteDatabase(url, echo=echo, scan_timeout=scan_timeout)
    return PostgresDatabase(url, echo=echo, pgbouncer=pgbouncer, scan_timeout=scan_timeout)
