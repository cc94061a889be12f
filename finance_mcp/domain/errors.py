"""The domain's errors. Messages are written for the model that called the tool: what was wrong and
what to do next. They never contain SQL, stack traces, or anything about another household."""

from __future__ import annotations


class FinanceError(Exception):
    """Base class; `str(error)` is safe to show to the caller."""


class NotFound(FinanceError):
    """The row does not exist in the caller's household (another household's row reads the same)."""


class PermissionDenied(FinanceError):
    """The caller's role or token scopes do not allow the operation."""


class Invalid(FinanceError):
    """The input breaks a rule; nothing was changed."""


class Conflict(FinanceError):
    """The operation clashes with the current state; nothing was changed."""


class Unavailable(FinanceError):
    """The database could not be reached; the operation may be retried."""


class SchemaNotMigrated(FinanceError):
    """The database's tables are not the ones this code needs; only `finance-mcp migrate` fixes it."""


class TooSlow(FinanceError):
    """A scan (a summary, a search) ran past its time limit and was stopped; nothing was changed."""


class SlowDown(FinanceError):
    """The caller wrote too often in the last minute; nothing was changed. Says how long to wait."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            f"slow down: retry in {retry_after_seconds} s. Too many writes in the last minute "
            "(WRITE_QUOTA_PER_MINUTE); nothing was changed. Reads still work."
        )
