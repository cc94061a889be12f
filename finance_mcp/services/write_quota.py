"""The write quota: how many calls of writing tools one user may make a minute (`WRITE_QUOTA_PER_MINUTE`).

A sliding window of the last minute's accepted calls per user, kept in memory: it costs no database round
trip on the hot path, and it is per worker process, so N workers allow up to N times the quota (enough to
stop a looping agent flooding a household, which is its purpose). Refused calls are not counted.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from finance_mcp.domain.errors import SlowDown

WINDOW_SECONDS = 60.0
# Users tracked before the idle ones (nothing in the window) are forgotten.
SWEEP_ABOVE = 10_000


class WriteQuota:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._calls: dict[int, deque[float]] = {}

    def admit(self, user_id: int) -> None:
        """Count one write by `user_id`, or refuse it (`SlowDown`, nothing counted) when the last minute is full."""
        if self._limit == 0:
            return
        now = self._clock()
        calls = self._calls.get(user_id)
        if calls is None:
            if len(self._calls) >= SWEEP_ABOVE:
                self._sweep(now)
            calls = self._calls[user_id] = deque()
        while calls and calls[0] <= now - WINDOW_SECONDS:
            calls.popleft()
        if len(calls) >= self._limit:
            raise SlowDown(max(1, math.ceil(calls[0] + WINDOW_SECONDS - now)))
        calls.append(now)

    def _sweep(self, now: float) -> None:
        idle = [user for user, calls in self._calls.items() if not calls or calls[-1] <= now - WINDOW_SECONDS]
        for user in idle:
            del self._calls[user]
