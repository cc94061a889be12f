"""Finding recurring series in a history: the same merchant, a similar amount, a regular cadence.

Per merchant, payments are clustered by amount (within `AMOUNT_TOLERANCE` of the cluster's median, so two
subscriptions at one merchant stay two), and each cluster's gaps between dates are compared with each
cadence, allowing a few days of drift (a payment moved off a weekend) and one missed payment. A cluster is
a series when most gaps fit, it has enough payments for its cadence, it covers most of the dates it should
since its first, and it is still running (its next date is not long past).
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from finance_mcp.domain.schedule import Frequency

AMOUNT_TOLERANCE = Decimal("0.05")
CENT = Decimal("0.01")
MIN_FIT = 0.75
MIN_COVERAGE = 0.7
MIN_CONFIDENCE = 0.6
YEARLY_MIN_SHARE = 0.5
DAYS_PER_MONTH = Decimal("30.4375")


@dataclass(frozen=True, slots=True)
class Cadence:
    frequency: Frequency
    interval: int
    days: float
    drift: float  # days a gap may be off
    min_payments: int

    @property
    def label(self) -> str:
        unit = {"weekly": "week", "monthly": "month", "yearly": "year"}[self.frequency]
        if self.interval == 1:
            return self.frequency
        return f"every {self.interval} {unit}s"


CADENCES = (
    Cadence("weekly", 1, 7, 2, 6),
    Cadence("weekly", 2, 14, 2, 4),
    Cadence("monthly", 1, 30.44, 3, 4),
    Cadence("monthly", 3, 91.31, 4, 4),
    Cadence("yearly", 1, 365.25, 5, 2),
)


@dataclass(frozen=True, slots=True)
class Payment:
    key: str  # the merchant, lower case
    merchant: str
    date: dt.date
    amount: Decimal
    account_id: int
    category: str


@dataclass(frozen=True, slots=True)
class Found:
    merchant: str
    key: str
    typical_amount: Decimal
    cadence: Cadence
    payments: int
    first_date: dt.date
    last_date: dt.date
    next_date: dt.date
    confidence: float
    monthly_amount: Decimal
    account_id: int
    category: str


def detect(payments: Iterable[Payment], *, today: dt.date) -> list[Found]:
    """Every series found, the most confident first."""
    by_key: dict[str, list[Payment]] = {}
    for payment in payments:
        by_key.setdefault(payment.key, []).append(payment)
    found: list[Found] = []
    for group in by_key.values():
        for cluster in _clusters(group):
            series = _series(cluster, today, share=len(cluster) / len(group))
            if series is not None:
                found.append(series)
    return sorted(found, key=lambda s: (-s.confidence, s.key, s.typical_amount))


def _clusters(group: Sequence[Payment]) -> list[list[Payment]]:
    """Payments of one merchant grouped by similar amount (sign included)."""
    clusters: list[list[Payment]] = []
    for payment in sorted(group, key=lambda p: p.amount):
        if clusters:
            last = clusters[-1]
            near = payment.amount - last[-1].amount <= _tolerance(last[-1].amount)
            narrow = payment.amount - last[0].amount <= 2 * _tolerance(last[len(last) // 2].amount)
            if (payment.amount > 0) == (last[0].amount > 0) and near and narrow:
                last.append(payment)
                continue
        clusters.append([payment])
    return [sorted(c, key=lambda p: (p.date, p.amount)) for c in clusters if len(c) >= 2]


def _tolerance(amount: Decimal) -> Decimal:
    return max(abs(amount) * AMOUNT_TOLERANCE, CENT)


def _series(cluster: list[Payment], today: dt.date, *, share: float) -> Found | None:
    dates = sorted({p.date for p in cluster})
    if len(dates) < 2:
        return None
    best: tuple[float, Cadence] | None = None
    for cadence in CADENCES:
        if len(dates) < cadence.min_payments:
            continue
        if cadence.frequency == "yearly" and share < YEARLY_MIN_SHARE:
            continue  # two payments a year apart at a busy merchant: as likely chance as a bill
        fit = _fit(dates, cadence)
        if fit >= MIN_FIT and (best is None or fit > best[0]):
            best = (fit, cadence)
    if best is None:
        return None
    fit, cadence = best
    expected = (today - dates[0]).days / cadence.days
    coverage = min(1.0, len(dates) / max(1.0, expected))
    next_date = _next(dates, cadence)
    stale = (today - next_date).days > cadence.drift + cadence.days / 2
    if coverage < MIN_COVERAGE or stale:
        return None
    confidence = round(fit * coverage * min(1.0, 0.6 + 0.1 * len(dates)), 2)
    if confidence < MIN_CONFIDENCE:
        return None
    typical = Decimal(statistics.median([p.amount for p in cluster])).quantize(CENT, rounding=ROUND_HALF_EVEN)
    merchant = statistics.mode([p.merchant for p in cluster])
    return Found(
        merchant=merchant,
        key=cluster[0].key,
        typical_amount=typical,
        cadence=cadence,
        payments=len(dates),
        first_date=dates[0],
        last_date=dates[-1],
        next_date=next_date,
        confidence=confidence,
        monthly_amount=(typical * DAYS_PER_MONTH / Decimal(str(cadence.days))).quantize(CENT, rounding=ROUND_HALF_EVEN),
        account_id=statistics.mode([p.account_id for p in cluster]),
        category=statistics.mode([p.category for p in cluster]),
    )


def _fit(dates: Sequence[dt.date], cadence: Cadence) -> float:
    """The share of steps between payments that fit the cadence, within its drift; a step of two periods
    (one missed payment) counts half. Monthly and yearly steps are measured on the calendar, from the
    series' usual day of the month (clamped to short months), so month lengths are not drift."""
    score = 0.0
    day = _usual_day(dates)
    for before, after in itertools.pairwise(dates):
        for periods, credit in ((1, 1.0), (2, 0.5)):
            if abs((after - _expected(before, cadence, periods, day)).days) <= cadence.drift:
                score += credit
                break
    return score / (len(dates) - 1)


def _expected(before: dt.date, cadence: Cadence, periods: int, day: int) -> dt.date:
    if cadence.frequency == "weekly":
        return before + dt.timedelta(days=7 * cadence.interval * periods)
    step = cadence.interval * periods * (12 if cadence.frequency == "yearly" else 1)
    # The payment stands for the nearest date on the usual day (a payment on Dec 30 may be Jan 1's).
    nominal = min((_shifted(before, shift, day) for shift in (-1, 0, 1)), key=lambda d: abs((d - before).days))
    return _shifted(nominal, step, day)


def _shifted(month: dt.date, months: int, day: int) -> dt.date:
    year, index = divmod(month.year * 12 + month.month - 1 + months, 12)
    return dt.date(year, index + 1, min(day, calendar.monthrange(year, index + 1)[1]))


def _next(dates: Sequence[dt.date], cadence: Cadence) -> dt.date:
    """The date after the last: weekly by days; monthly and yearly on the series' usual day of the month
    (clamped to a shorter month's last day)."""
    return _expected(dates[-1], cadence, 1, _usual_day(dates))


def _usual_day(dates: Sequence[dt.date]) -> int:
    """The day of the month a series keeps; one at the end of the month (28th-31st) is the latest seen."""
    day = statistics.median_low([d.day for d in dates])
    return max(d.day for d in dates) if day >= 28 else day
