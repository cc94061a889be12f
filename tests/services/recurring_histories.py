"""Generated payment histories for the recurring-series detector: real series with the noise real ones have
(a day or two of drift, amounts within a few percent, a missed payment, the 31st in short months) among
decoys that must not be found (shopping at irregular times, a series that stopped, one-offs)."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

TODAY = dt.date(2026, 11, 20)


@dataclass(frozen=True)
class Row:
    merchant: str
    date: dt.date
    amount: Decimal
    category: str


# merchant -> (frequency, interval) the detector must report
TRUTH = {
    "Netflix": ("monthly", 1),
    "Spotify": ("monthly", 1),
    "Gym Co": ("monthly", 1),
    "iCloud": ("monthly", 1),
    "ACME Payroll": ("monthly", 1),
    "Cleaner": ("weekly", 2),
    "Coffee Club": ("weekly", 1),
    "Home Insurance": ("monthly", 3),
}


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


def _monthly(rng: random.Random, start: dt.date, day: int, every: int, drift: int) -> list[dt.date]:
    dates: list[dt.date] = []
    year, month = start.year, start.month
    while True:
        length = calendar.monthrange(year, month)[1]
        base = dt.date(year, month, min(day, length))
        when = base + dt.timedelta(days=rng.randint(-drift, drift))
        if when > TODAY:
            return dates
        if when >= start:
            dates.append(when)
        month += every
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


def _every(rng: random.Random, start: dt.date, days: int, drift: int) -> list[dt.date]:
    dates, base = [], start
    while base <= TODAY:
        dates.append(base + dt.timedelta(days=rng.randint(-drift, drift)))
        base += dt.timedelta(days=days)
    return [d for d in dates if d <= TODAY]


def history(seed: int) -> list[Row]:
    rng = random.Random(seed)
    start = dt.date(2025, 11, 25)
    rows: list[Row] = []

    def add(merchant: str, dates: list[dt.date], amount: float, spread: float = 0.0, category: str = "Bills") -> None:
        for day in dates:
            rows.append(Row(merchant, day, _money(amount * (1 + rng.uniform(-spread, spread))), category))

    netflix = _monthly(rng, start, 7, 1, 1)
    del netflix[rng.randrange(2, len(netflix) - 2)]  # one missed payment
    add("Netflix", netflix, -15.99)
    add("Spotify", _monthly(rng, start, 31, 1, 0), -9.99)  # the 31st, clamped to short months
    add("Gym Co", _monthly(rng, start, 3, 1, 2), -40.0, spread=0.03)
    add("iCloud", _monthly(rng, start, 15, 1, 0), -2.99)
    add("ACME Payroll", _monthly(rng, start, 25, 1, 2), 3000.0, category="Salary")
    add("Cleaner", _every(rng, start + dt.timedelta(days=rng.randint(0, 13)), 14, 1), -60.0)
    add("Coffee Club", _every(rng, start + dt.timedelta(days=rng.randint(0, 6)), 7, 1), -5.0)
    add("Home Insurance", _monthly(rng, start, 10, 3, 1), -300.0)
    # Decoys.
    add("OldGym", [d for d in _monthly(rng, start, 12, 1, 1) if d < dt.date(2026, 6, 1)], -35.0)
    shop = sorted(start + dt.timedelta(days=rng.randint(0, 360)) for _ in range(100))
    add("Supermarket", shop, -60.0, spread=0.7, category="Groceries")
    add("Amazon", sorted(start + dt.timedelta(days=rng.randint(0, 360)) for _ in range(36)), -80.0, spread=0.9)
    day, dinners = start, []
    while day <= TODAY:
        dinners.append(day)
        day += dt.timedelta(days=rng.randint(9, 60))
    add("Trattoria", dinners, -45.0, spread=0.04, category="Dining")
    for n in range(30):
        add(f"Shop {n}", [start + dt.timedelta(days=rng.randint(0, 360))], -rng.uniform(3, 300), category="Misc")
    return rows
