"""Calendar periods for analytics: months, ISO weeks (Monday to Sunday) and days.

The database buckets dates the same way (`repositories/analytics.py`); these helpers list the buckets of a
range, so that empty periods are present as zero, and label them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.periods import Interval

MAX_DAYS = 3660  # ten years and a little: bounds the work and the size of every answer
LAST_DAY = dt.date(9998, 12, 31)  # leaves room to step one period past any date we accept
ONE_DAY = dt.timedelta(days=1)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Bucket:
    """One period of a range: `key` is where the whole bucket starts (what the database groups by);
    `start` and `end` are clipped to the range."""

    key: dt.date
    start: dt.date
    end: dt.date


def check_range(start: dt.date, end: dt.date, *, max_days: int = MAX_DAYS) -> int:
    """Return the number of days in [start, end], or raise `Invalid` saying how to fix the range."""
    if end < start:
        raise Invalid(f"end_date {end} is before start_date {start}; swap them or fix one")
    if end > LAST_DAY:
        raise Invalid(f"dates must be on or before {LAST_DAY}")
    days = (end - start).days + 1
    if days > max_days:
        raise Invalid(f"the range covers {days} days; at most {max_days} (about ten years) fit in one call")
    return days


def bucket_start(day: dt.date, interval: Interval) -> dt.date:
    if interval == "month":
        return day.replace(day=1)
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    return day


def next_start(key: dt.date, interval: Interval) -> dt.date:
    if interval == "month":
        return add_months(key, 1)
    return key + (dt.timedelta(days=7) if interval == "week" else ONE_DAY)


def buckets(start: dt.date, end: dt.date, interval: Interval) -> list[Bucket]:
    """Every bucket overlapping [start, end], oldest first."""
    found: list[Bucket] = []
    key = bucket_start(start, interval)
    while key <= end:
        following = next_start(key, interval)
        found.append(Bucket(key, max(key, start), min(following - ONE_DAY, end)))
        key = following
    return found


def label(key: dt.date, interval: Interval) -> str:
    if interval == "month":
        return month_label(key)
    if interval == "week":
        year, week, _ = key.isocalendar()
        return f"{year}-W{week:02d}"
    return key.isoformat()


def month_label(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= LAST_DAY.year:
        raise Invalid(f"that reaches the year {year}, outside the supported calendar")
    return dt.date(year, month + 1, 1)


def parse_month(text: str) -> dt.date:
    """`"2026-03"` -> the first day of that month; `Invalid` otherwise."""
    found = _MONTH.match(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1:
        raise Invalid(f"month {text!r} is not a month; write it as YYYY-MM, e.g. 2026-03")
    return dt.date(int(found.group(1)), int(found.group(2)), 1)
