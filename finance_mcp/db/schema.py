"""Is the database at the schema this code was written for? (Alembic's `alembic_version` against the scripts.)

A server on a database that was never migrated, or is behind, would otherwise fail every call that touches
a missing table or column, and say "try again shortly", which sends an agent into a retry loop. The server
refuses to start on such a database, `/health` reports it, and those calls say what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from finance_mcp.domain.errors import SchemaNotMigrated

if TYPE_CHECKING:
    from finance_mcp.db.database import Database

MIGRATE_HINT = "run finance-mcp migrate"
NOT_MIGRATED = f"schema not migrated: {MIGRATE_HINT}"
NEWER = "schema newer than this finance-mcp: upgrade finance-mcp"
SCHEMA_MESSAGE = (
    "The finance database's schema is not migrated, so this cannot work yet; nothing was changed. "
    f"Retrying will not help: whoever runs the server must {MIGRATE_HINT}."
)

_VERSION = text("SELECT version_num FROM alembic_version")
# PostgreSQL: undefined_table, undefined_column. SQLite says it in words.
_MISSING_SQLSTATES = ("42P01", "42703")
_MISSING_SQLITE = ("no such table", "no such column", "has no column named")


def is_missing_schema(error: BaseException) -> bool:
    """A statement named a table or column the database does not have: the schema is behind the code."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    sqlstate = getattr(cause, "sqlstate", None)  # asyncpg's errors, and SQLAlchemy's wrappers of them
    if isinstance(sqlstate, str):
        return sqlstate in _MISSING_SQLSTATES
    return isinstance(error, DBAPIError) and str(cause).startswith(_MISSING_SQLITE)


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None  # None: never migrated (no alembic_version table, or an empty one)
    head: str
    known: frozenset[str]

    @property
    def ok(self) -> bool:
        return self.current == self.head

    @property
    def summary(self) -> str:
        """What `/health` says about the database."""
        return "ok" if self.ok else NEWER if self.is_newer else NOT_MIGRATED

    @property
    def is_newer(self) -> bool:
        return self.current is not None and self.current not in self.known

    def problem(self) -> str | None:
        """The refusal to start, for the operator; None when the schema is the one the code needs."""
        if self.ok:
            return None
        if self.is_newer:
            return f"schema is newer than this finance-mcp (at {self.current}, it knows up to {self.head}): upgrade"
        return f"schema not migrated (at {self.current or 'no revision'}, need {self.head}): {MIGRATE_HINT}"


async def schema_status(db: Database) -> SchemaStatus:
    """Read the database's revision (one statement); `Unavailable` when the database cannot be reached."""
    from finance_mcp.db.migrate import head_revision, known_revisions

    try:
        async with db.connect(write=False, transaction=False) as conn:
            revisions = sorted(str(row[0]) for row in (await conn.execute(_VERSION)).all())
    except SchemaNotMigrated:
        revisions = []
    current = ",".join(revisions) or None  # several rows only on branched histories, which are never at head
    return SchemaStatus(current=current, head=head_revision(), known=known_revisions())


async def schema_problem(database_url: str) -> str | None:
    """What stops a server from starting on this database, if anything. One that cannot be reached now is
    not refused: it may come back, and `/health` says "unavailable" meanwhile."""
    from finance_mcp.db.database import open_database
    from finance_mcp.domain.errors import Unavailable

    db = open_database(database_url)
    try:
        return (await schema_status(db)).problem()
    except Unavailable:
        return None
    finally:
        await db.dispose()
