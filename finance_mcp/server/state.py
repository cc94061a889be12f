"""What lives as long as the server process: settings, the database, the identity cache."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from finance_mcp.db.database import Database, open_database
from finance_mcp.server.loop_watch import watch_event_loop
from finance_mcp.services.identity import IdentityService
from finance_mcp.settings import Settings


@dataclass
class ServerState:
    """Filled by the server's lifespan; `/health` and the resources read it too."""

    settings: Settings
    _db: Database | None = field(default=None, init=False)
    _identities: IdentityService | None = field(default=None, init=False)
    _loop_probe: asyncio.Task[None] | None = field(default=None, init=False)

    def open(self) -> None:
        self._db = open_database(
            self.settings.database_url, echo=self.settings.debug, scan_timeout=self.settings.scan_timeout_seconds
        )
        self._identities = IdentityService(self._db)
        self._loop_probe = asyncio.get_running_loop().create_task(watch_event_loop())

    def _stop_loop_probe(self) -> None:
        if self._loop_probe is not None:
            self._loop_probe.cancel()
            self._loop_probe = None

    async def close(self) -> None:
        self._stop_loop_probe()
        if self._db is not None:
            await self._db.dispose()
        self._db = self._identities = None

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
