"""What lives as long as the server process: settings, the database, the identity cache."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from finance_mcp.db.database import Database
from finance_mcp.db.replica import open_routed_database
from finance_mcp.db.schema import schema_status
from finance_mcp.domain.errors import Unavailable
from finance_mcp.domain.quotas import Quotas
from finance_mcp.server.loop_watch import watch_event_loop
from finance_mcp.services.households import IdentityService
from finance_mcp.services.idempotency import IdempotencyLedger
from finance_mcp.services.write_quota import WriteQuota
from finance_mcp.settings import Settings


def household_quotas(settings: Settings) -> Quotas:
    return Quotas(
        accounts=settings.max_accounts_per_household,
        transactions=settings.max_transactions_per_household,
        api_keys=settings.max_api_keys_per_household,
        stored_bytes=settings.max_stored_bytes_per_household,
    )


@dataclass
class ServerState:
    """Filled by the server's lifespan; `/health` and the resources read it too."""

    settings: Settings
    _db: Database | None = field(default=None, init=False)
    _identities: IdentityService | None = field(default=None, init=False)
    _loop_probe: asyncio.Task[None] | None = field(default=None, init=False)
    _idempotency: IdempotencyLedger | None = field(default=None, init=False)
    write_quota: WriteQuota = field(init=False)

    def __post_init__(self) -> None:
        self.write_quota = WriteQuota(self.settings.write_quota_per_minute)

    def open(self) -> None:
        self._db = open_routed_database(
            self.settings.database_url,
            replica_url=self.settings.database_replica_url,
            pgbouncer=self.settings.database_pgbouncer,
            echo=self.settings.debug,
            scan_timeout=self.settings.scan_timeout_seconds,
        )
        self._identities = IdentityService(self._db, quotas=household_quotas(self.settings))
        self._idempotency = IdempotencyLedger(self._db)
        self._loop_probe = asyncio.get_running_loop().create_task(watch_event_loop())

    def _stop_loop_probe(self) -> None:
        if self._loop_probe is not None:
            self._loop_probe.cancel()
            self._loop_probe = None

    async def close(self) -> None:
        self._stop_loop_probe()
        if self._db is not None:
            await self._db.dispose()
        self._db = self._identities = self._idempotency = None

    async def require_schema(self) -> None:
        """Refuse to serve a database that is not at the code's schema (`finance-mcp serve` checks first and
        says so plainly; this covers `uvicorn --factory`). An unreachable one is served: it may come back."""
        try:
            problem = (await schema_status(self.db)).problem()
        except Unavailable:
            return
        if problem is not None:
            raise RuntimeError(f"finance-mcp: {problem}")

    async def database_health(self) -> str:
        """`/health`'s word on the database: "ok", "unavailable", or what its schema needs."""
        if self._db is None:
            return "unavailable"
        try:
            return (await schema_status(self._db)).summary
        except Unavailable:
            return "unavailable"

    @property
    def running(self) -> bool:
        return self._db is not None

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("the server is not running (lifespan not entered)")
        return self._db

    @property
    def identities(self) -> IdentityService:
        if self._identities is None:
            raise RuntimeError("the server is not running (lifespan not entered)")
        return self._identities

    @property
    def idempotency(self) -> IdempotencyLedger:
        if self._idempotency is None:
            raise RuntimeError("the server is not running (lifespan not entered)")
        return self._idempotency
