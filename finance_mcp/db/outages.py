"""Which database errors mean "the server cannot serve right now" (an outage: retry later), which mean "the
schema is not migrated" (retrying cannot help), and the translation of both into domain errors."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator

import asyncpg  # pyright: ignore[reportMissingTypeStubs]
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from finance_mcp.db.schema import SCHEMA_MESSAGE, is_missing_schema
from finance_mcp.domain.errors import SchemaNotMigrated, Unavailable

logger = logging.getLogger("finance_mcp.db.database")  # the name operators' log filters know

UNAVAILABLE_MESSAGE = "The finance database is unavailable right now; nothing was changed. Try again shortly."

# SQLSTATEs that mean "the server cannot serve right now": connection exceptions (08); the server shutting
# down, crashing, starting up or recovering (57P01-57P05); too many connections (53300). asyncpg raises these
# as plain DBAPI errors, not OperationalError, so a restarting PostgreSQL used to surface as an internal error.
_OUTAGE_SQLSTATES = ("08", "57P", "53300")


# asyncpg's own errors that mean the connection is gone or its protocol state is lost (e.g. the server's
# "terminating connection" arriving in the middle of a query): only the `rows()` fast path sees them.
_DRIVER_OUTAGES = (asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresConnectionError)


def is_outage(error: BaseException) -> bool:
    if isinstance(error, (OperationalError, InterfaceError, OSError, ConnectionError, *_DRIVER_OUTAGES)):
        return True
    if isinstance(error, asyncpg.PostgresError):  # raised by the driver itself on the `rows()` fast path
        sqlstate = getattr(error, "sqlstate", None)
        return isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES)
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    return error.connection_invalidated or (isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES))


@contextlib.asynccontextmanager
async def translated_outages() -> AsyncGenerator[None, None]:
    try:
        yield
    except (DBAPIError, OSError, ConnectionError, asyncpg.PostgresError, *_DRIVER_OUTAGES) as error:
        if is_missing_schema(error):  # not an outage: retrying cannot help, migrating does
            logger.warning(
                "the database lacks a table or column (run finance-mcp migrate): %s", getattr(error, "orig", error)
            )
            raise SchemaNotMigrated(SCHEMA_MESSAGE) from error
        if not is_outage(error):
            raise
        logger.warning("database unavailable: %s", error.__class__.__name__, exc_info=True)
        raise Unavailable(UNAVAILABLE_MESSAGE) from error
