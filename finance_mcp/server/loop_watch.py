"""A loop-lag probe: every call of every household is served by one event loop, so a call that runs on it
without yielding (a scan that should be on a worker thread) stalls them all. The probe sleeps a short
interval and reports when it woke up late, naming how long the loop was blocked (issue 11, item 6)."""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)

PROBE_SECONDS = 0.05
# Below this a lag is scheduling noise on a busy machine; above it some call held the loop.
REPORT_ABOVE_SECONDS = 0.25
BLOCKED = "the event loop was blocked for %d ms"


async def watch_event_loop(*, every: float = PROBE_SECONDS, report_above: float = REPORT_ABOVE_SECONDS) -> None:
    loop = asyncio.get_running_loop()
    while True:
        slept_at = loop.time()
        await asyncio.sleep(every)
        lag = loop.time() - slept_at - every
        if lag > report_above:
            logger.warning(BLOCKED, round(lag * 1000))
