"""Whole-database dumps for "nothing changed" checks: every row of every table, in a stable order.

SQLite: `iterdump()` of the file (schema and rows, as SQL text). PostgreSQL: every table of the public schema,
each row rendered by PostgreSQL itself (`row::text`), ordered by primary key. Sequence positions are left out on
purpose: PostgreSQL never rolls a sequence back, so a refused insert may consume an id without changing data.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

import asyncpg

TABLES = """
SELECT c.relname, array_agg(a.attname ORDER BY array_position(i.indkey, a.attnum)) AS key
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
WHERE c.relkind = 'r'
GROUP BY c.relname
ORDER BY c.relname
"""


def sqlite_path(url: str) -> str:
    return url.split(":///", 1)[1]


def _is_data(line: str) -> bool:
    """Planner statistics (`ANALYZE`, `PRAGMA optimize`: the server refreshes them on its own) are not data."""
    return "sqlite_stat" not in line and line != 'ANALYZE "sqlite_master";'


def sqlite_dump(url: str) -> str:
    conn = sqlite3.connect(sqlite_path(url))
    try:
        return "\n".join(line for line in conn.iterdump() if _is_data(line))
    finally:
        conn.close()


def asyncpg_dsn(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(scheme="postgresql").geturl()


async def postgres_rows(conn: asyncpg.Connection) -> str:
    lines: list[str] = []
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for table in await conn.fetch(TABLES):
            order = ", ".join(f'"{column}"' for column in table["key"])
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{table["relname"]}" AS t ORDER BY {order}')  # noqa: S608
            lines.append(f"-- {table['relname']}")
            lines.extend(row["row"] for row in rows)
    return "\n".join(lines)


async def postgres_dump(url: str) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        return await postgres_rows(conn)
    finally:
        await conn.close()


async def database_dump(url: str) -> str:
    if url.startswith("sqlite"):
        return sqlite_dump(url)
    return await postgres_dump(url)


class Dumper:
    """Repeated dumps of one database over one connection (a dump per generated example stays cheap)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: asyncpg.Connection | None = None

    async def dump(self) -> str:
        if self.url.startswith("sqlite"):
            return sqlite_dump(self.url)
        if self._conn is None:
            self._conn = await asyncpg.connect(asyncpg_dsn(self.url), timeout=10)
        conn = self._conn
        assert conn is not None
        return await postgres_rows(conn)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
