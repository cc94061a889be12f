"""One unit of work = one database transaction (or, where it is safe, one autocommit statement); it rolls
back unless committed.

Services open units through `UnitsOfWork`, by intent, never through `Database.connect` and its flags:

| intent                | what the unit is for                                  | `Database.connect` flags        |
|-----------------------|-------------------------------------------------------|---------------------------------|
| `read`                | reads that need no common snapshot                    | write=False, transaction=False  |
| `snapshot`            | reads that must agree (one transaction)               | write=False                     |
| `search(many_rows=)`  | a listing: a `read`, or a bounded scan when it may    | write=False, transaction=False, |
|                       | read many rows (the repository says which)            | scan=many_rows                  |
| `scan`                | reads of many rows (analytics): bounded, off the loop | write=False, scan=True          |
| `write`               | statements that commit together                       | write=True                      |
| `write_statement`     | exactly one write statement, atomic on its own        | write=True, transaction=False   |

What each flag costs or saves on each database is described at `Database.connect`.

Households: every intent takes the household the unit works for, and the household's repositories
(`accounts`, `transactions`, `analytics`, `usage`, `api_keys`) are built with it. A unit opened without one
(`household_id=None`, the default) serves the callers that come before any household is known or span all
of them: API key credentials, identities and households, OAuth clients and grants, sign-in attempts and
client registrations. Such a unit has no household's repositories: asking for one raises at once.

Repositories are built on first access, so a unit that touches one repository pays for one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Generic, TypeVar, overload

from finance_mcp.db.database import Connection, Database
from finance_mcp.db.held import HeldDatabase
from finance_mcp.repositories.accounts import AccountRepository
from finance_mcp.repositories.analytics import AnalyticsRepository
from finance_mcp.repositories.api_keys import ApiKeyCredentials, ApiKeyRepository
from finance_mcp.repositories.bulk import BulkTransactions
from finance_mcp.repositories.change_recorder import ChangeRecorder
from finance_mcp.repositories.changes import ChangeRepository
from finance_mcp.repositories.households import IdentityRepository
from finance_mcp.repositories.idempotency import ExpiredKeys, IdempotencyRepository
from finance_mcp.repositories.oauth import OAuthRepository
from finance_mcp.repositories.oauth_registrations import RegistrationCounts
from finance_mcp.repositories.planning import BudgetRepository, RecurringRepository, RuleRepository
from finance_mcp.repositories.quota_usage import QuotaUsage
from finance_mcp.repositories.signin_attempts import SignInAttemptRepository
from finance_mcp.repositories.splits import SplitRepository
from finance_mcp.repositories.toolset_usage import ToolsetUsage
from finance_mcp.repositories.transactions import TransactionRepository

R = TypeVar("R")
Step = Callable[[], Awaitable[None]]


class _Repository(Generic[R]):
    """A repository built on first access and then stored on the unit itself: a non-data descriptor, so
    every later access is a plain attribute read."""

    def __init__(self, build: Callable[[UnitOfWork], R]) -> None:
        self._build = build
        self._name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, unit: None, owner: type[Any]) -> _Repository[R]: ...
    @overload
    def __get__(self, unit: UnitOfWork, owner: type[Any]) -> R: ...
    def __get__(self, unit: UnitOfWork | None, owner: type[Any]) -> R | _Repository[R]:
        if unit is None:
            return self
        repository = unit.__dict__[self._name] = self._build(unit)
        return repository


class UnitOfWork:
    """The repositories of one open connection. `commit()` commits; leaving the block without it rolls back."""

    def __init__(self, conn: Connection, household_id: int | None = None) -> None:
        self._conn = conn
        self._household_id = household_id
        self._before_commit: list[Step] | None = None

    @property
    def household_id(self) -> int:
        if self._household_id is None:
            raise RuntimeError("this unit of work was opened without a household: it has no household's repositories")
        return self._household_id

    accounts = _Repository(lambda unit: AccountRepository(unit._conn, unit.household_id))
    # The change log of this unit's write, flushed by `commit()` (`repositories/change_recorder.py`).
    log = _Repository(lambda unit: ChangeRecorder(unit._conn, unit.household_id))
    changes = _Repository(lambda unit: ChangeRepository(unit._conn, unit.household_id))
    transactions = _Repository(lambda unit: TransactionRepository(unit._conn, unit.household_id, log=unit.log))
    splits = _Repository(lambda unit: SplitRepository(unit._conn, unit.household_id))
    bulk = _Repository(lambda unit: BulkTransactions(unit._conn, unit.household_id))
    analytics = _Repository(lambda unit: AnalyticsRepository(unit._conn, unit.household_id))
    usage = _Repository(lambda unit: QuotaUsage(unit._conn, unit.household_id))
    api_keys = _Repository(lambda unit: ApiKeyRepository(unit._conn, unit.household_id))
    toolset_usage = _Repository(lambda unit: ToolsetUsage(unit._conn, unit.household_id))
    budgets = _Repository(lambda unit: BudgetRepository(unit._conn, unit.household_id))
    recurring = _Repository(lambda unit: RecurringRepository(unit._conn, unit.household_id))
    rules = _Repository(lambda unit: RuleRepository(unit._conn, unit.household_id))
    # Household-less: these serve callers before a household is known, or across households.
    api_key_credentials = _Repository(lambda unit: ApiKeyCredentials(unit._conn))
    identity = _Repository(lambda unit: IdentityRepository(unit._conn))
    oauth = _Repository(lambda unit: OAuthRepository(unit._conn))
    sign_in_attempts = _Repository(lambda unit: SignInAttemptRepository(unit._conn))
    registrations = _Repository(lambda unit: RegistrationCounts(unit._conn))
    expired_idempotency_keys = _Repository(lambda unit: ExpiredKeys(unit._conn))

    def idempotency_keys(self, user_id: int) -> IdempotencyRepository:
        """The household's idempotency keys of one user (keys are per household and user)."""
        return IdempotencyRepository(self._conn, self.household_id, user_id=user_id)

    def held(self) -> Database:
        """A `Database` whose every unit is this unit's transaction, its commits deferred to this unit's
        `commit()`: an idempotent call runs a tool's body inside the transaction that claimed its key."""
        return HeldDatabase(self._conn)

    def before_commit(self, step: Step) -> None:
        """Run `step` inside the transaction just before `commit()` commits it (in the order added), so what
        it writes commits with the unit's own statements, or not at all. Not for a `write_statement` unit:
        there the one statement has already committed."""
        if self._before_commit is None:
            self._before_commit = []
        self._before_commit.append(step)

    async def commit(self) -> None:
        log: ChangeRecorder | None = self.__dict__.get("log")
        if log is not None:
            await log.flush()  # the change log, in the same database transaction as the change
        steps, self._before_commit = self._before_commit, None
        for step in steps or ():
            await step()
        await self._conn.commit()


class UnitsOfWork:
    """Opens units of work on one database, each by its intent (the table in this module's docstring)."""

    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextlib.asynccontextmanager
    async def read(self, household_id: int | None = None) -> AsyncGenerator[UnitOfWork, None]:
        """Reads that need no common snapshot (each statement may see a different moment)."""
        async with self._db.connect(write=False, transaction=False) as conn:
            yield UnitOfWork(conn, household_id)

    @contextlib.asynccontextmanager
    async def snapshot(self, household_id: int | None = None) -> AsyncGenerator[UnitOfWork, None]:
        """Reads inside one transaction: what they see agrees."""
        async with self._db.connect(write=False) as conn:
            yield UnitOfWork(conn, household_id)

    @contextlib.asynccontextmanager
    async def search(self, household_id: int | None = None, *, many_rows: bool) -> AsyncGenerator[UnitOfWork, None]:
        """A listing: a `read`, run as a scan (bounded in time, off SQLite's event loop) when it may read
        many rows."""
        async with self._db.connect(write=False, transaction=False, scan=many_rows) as conn:
            yield UnitOfWork(conn, household_id)

    @contextlib.asynccontextmanager
    async def scan(self, household_id: int | None = None) -> AsyncGenerator[UnitOfWork, None]:
        """Reads of many rows (analytics): each statement bounded in time, and kept off SQLite's event loop."""
        async with self._db.connect(write=False, scan=True) as conn:
            yield UnitOfWork(conn, household_id)

    @contextlib.asynccontextmanager
    async def write(self, household_id: int | None = None) -> AsyncGenerator[UnitOfWork, None]:
        """Statements that commit together at `commit()`, or not at all."""
        async with self._db.connect(write=True) as conn:
            yield UnitOfWork(conn, household_id)

    @contextlib.asynccontextmanager
    async def write_statement(self, household_id: int | None = None) -> AsyncGenerator[UnitOfWork, None]:
        """Exactly one write statement, atomic on its own: PostgreSQL runs it in autocommit (no BEGIN or
        COMMIT round trip) and refuses a second one. Still call `commit()`: SQLite runs it in a transaction."""
        async with self._db.connect(write=True, transaction=False) as conn:
            yield UnitOfWork(conn, household_id)
