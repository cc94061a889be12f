"""The limit on anonymous client registration: at most `per_source` registrations from one address and
`total` from everyone in each fixed window, counted in the database (shared by every worker and replica).

An address over its own limit is refused before it counts towards the total, so one noisy address cannot
use up everyone's registrations. IPv6 addresses count per /64, the block one subscriber usually holds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from finance_mcp.db.database import Database
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from finance_mcp.services.client_address import source_of

EVERYONE = "all"


@dataclass(frozen=True, slots=True)
class RegistrationLimit:
    per_source: int
    total: int
    window_seconds: int


async def admit(db: Database, limit: RegistrationLimit, address: str | None) -> int | None:
    """Count one registration attempt; None when it may go ahead, else the seconds until the window ends."""
    now = time.time()
    window = int(now // limit.window_seconds)
    retry_after = max(1, math.ceil((window + 1) * limit.window_seconds - now))
    async with UnitsOfWork(db).write() as uow:
        counts = uow.registrations
        admitted = await counts.count(source_of(address), window=window) <= limit.per_source
        if admitted:
            admitted = await counts.count(EVERYONE, window=window) <= limit.total
        await uow.commit()
    # Apart from the count: deleting stale rows inside it would hold "all" while waiting on another source's
    # row, which a registration of the previous window (a replica's clock) may hold while it waits on "all".
    async with UnitsOfWork(db).write() as uow:
        await uow.registrations.forget_before(window=window)
        await uow.commit()
    return None if admitted else retry_after
