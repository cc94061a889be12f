"""Migration 0009 fills each account's `stored_bytes` with exactly the estimate the server keeps up to date
(`finance_mcp.domain.quotas.row_bytes`), so deleting an old row later frees what it was counted for."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Connection, Date, DateTime, TextClause, bindparam, text

from finance_mcp.db.migrate import upgrade
from finance_mcp.domain.quotas import row_bytes
from tests.db.test_migrations import _inspect, empty_database_url, empty_postgres_url  # noqa: F401 - fixtures

ROWS = [
    {"account": 1, "category": "Café", "description": "croissant ☕", "merchant": None, "tags": ["Früh", "x"]},
    {"account": 1, "category": "food", "description": None, "merchant": "Lidl", "tags": []},
    {"account": 2, "category": "rent", "description": "x" * 1000, "merchant": None, "tags": ["home"]},
]


def _typed(statement: str) -> TextClause:
    """Dates bound with SQLAlchemy's types, not sqlite3's default adapters (deprecated since Python 3.12)."""
    types = {"at": DateTime(timezone=True), "day": Date()}
    return text(statement).bindparams(*(bindparam(k, type_=t) for k, t in types.items() if f":{k}" in statement))


def _insert(conn: Connection) -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    conn.execute(
        _typed("INSERT INTO households (id, external_key, name, created_at) VALUES (1, 'h', 'H', :at)"), {"at": at}
    )
    for account in (1, 2, 3):
        conn.execute(
            _typed(
                "INSERT INTO accounts (id, household_id, name, account_type, currency, opening_balance, balance, "
                "created_at, updated_at) VALUES (:n, 1, 'A', 'checking', 'USD', 0, 0, :at, :at)"
            ),
            {"n": account, "at": at},
        )
    for row in ROWS:
        conn.execute(
            _typed(
                "INSERT INTO transactions (household_id, account_id, amount, date, category, description, "
                "merchant, tags, created_at, updated_at) "
                "VALUES (1, :account, 0, :day, :category, :description, :merchant, :tags, :at, :at)"
            ),
            {**row, "tags": json.dumps(row["tags"]), "day": dt.date(2026, 1, 1), "at": at},
        )
    conn.commit()


def _stored_bytes(conn: Connection) -> dict[int, int]:
    rows = conn.execute(text("SELECT id, stored_bytes FROM accounts ORDER BY id"))
    return {int(id_): int(size) for id_, size in rows}


def test_0009_fills_each_accounts_stored_bytes_with_the_servers_own_estimate(empty_database_url: str) -> None:  # noqa: F811
    upgrade(empty_database_url, "0004")
    _inspect(empty_database_url, _insert)

    upgrade(empty_database_url)

    expected = {n: sum(row_bytes(r) for r in ROWS if r["account"] == n) for n in (1, 2, 3)}
    assert expected[3] == 0
    assert _inspect(empty_database_url, _stored_bytes) == expected
