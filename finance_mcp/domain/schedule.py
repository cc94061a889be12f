"""When a recurring series falls due. Every occurrence is counted from the start date, never from the one
before, so a series on the 31st falls on Feb 28 (29 in a leap year) and is back on Mar 31."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Frequency = Literal["weekly", "monthly", "yearly"]
LAST_YEAR = 9998


def _on(year: int, month: int, day: int, *, last_day: bool) -> dt.date:
    length = calendar.monthrange(year, month)[1]
    return dt.date(year, month, length if last_day else min(day, length))


@dataclass(frozen=True, slots=True)
class Schedule:
    frequency: Frequency
    interval: int
    start: dt.date
    end: dt.date | None = None
    last_day: bool = False

    def occurrence(self, index: int) -> dt.date | None:
        """The `index`-th due date (0 = the first), or None past the calendar we support."""
        s = self.start
        if self.frequency == "weekly":
            ordinal = s.toordinal() + 7 * self.interval * index
            return dt.date.fromordinal(ordinal) if ordinal <= dt.date(LAST_YEAR, 12, 31).toordinal() else None
        months = (self.interval * index) * (12 if self.frequency == "yearly" else 1)
        year, month = divmod(s.year * 12 + s.month - 1 + months, 12)
        if year > LAST_YEAR:
            return None
        return _on(year, month + 1, s.day, last_day=self.last_day)

    def dates(self, until: dt.date, *, since: dt.date | None = None) -> Iterator[dt.date]:
        """The due dates from `since` (default the start) up to `until` and the end date, both inclusive."""
        last = min(until, self.end) if self.end is not None else until
        index = self._first_index_from(since) if since is not None and since > self.start else 0
        while (day := self.occurrence(index)) is not None and day <= last:
            if since is None or day >= since:
                yield day
            index += 1

    def _first_index_from(self, since: dt.date) -> int:
        """An index at or a little before `since`'s occurrence: skips a long series' past cheaply."""
        if self.frequency == "weekly":
            return max(0, (since - self.start).days // (7 * self.interval) - 1)
        months = (since.year - self.start.year) * 12 + since.month - self.start.month
        step = self.interval * (12 if self.frequency == "yearly" else 1)
        return max(0, months // step - 1)
