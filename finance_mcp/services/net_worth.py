"""Net worth: every account's balance at a date, and optionally its history at the end of each period.

Balances come from the stored balance (opening + every amount, an invariant every write keeps) minus the
transactions dated after the day asked for, so only the recent history is read, in one statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import RowMapping

from finance_mcp.db.database import Database
from finance_mcp.domain.currencies import check_code, convert
from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.periods import Interval
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from finance_mcp.schemas.analytics import AccountBalance, ConvertedTotal, CurrencyTotal, NetWorth, NetWorthPoint
from finance_mcp.services import periods
from finance_mcp.services.analytics import ZERO, today
from finance_mcp.services.periods import ONE_DAY, add_months, check_range

DEFAULT_HISTORY = 12


def history_periods(as_of: dt.date, interval: Interval, count: int) -> list[periods.Bucket]:
    """The `count` periods ending with the one that holds `as_of`, oldest first; the last ends at `as_of`."""
    if not 1 <= count <= periods.MAX_DAYS:
        raise Invalid(f"periods must be between 1 and {periods.MAX_DAYS}")
    key = periods.bucket_start(as_of, interval)
    found = [periods.Bucket(key, key, as_of)]
    step = {"week": dt.timedelta(days=7), "day": ONE_DAY}
    try:
        for _ in range(count - 1):
            earlier = add_months(key, -1) if interval == "month" else key - step[interval]
            found.append(periods.Bucket(earlier, earlier, key - ONE_DAY))
            key = earlier
    except OverflowError:
        raise Invalid("that history reaches before the year 1; ask for fewer periods") from None
    found.reverse()
    check_range(found[0].start, as_of)
    return found


async def net_worth(
    db: Database,
    principal: Principal,
    *,
    as_of: dt.date | None = None,
    interval: Interval | None = None,
    history: int | None = None,
    rates: Mapping[str, Decimal] | None = None,
    base_currency: str = "USD",
) -> NetWorth:
    """Balances at the end of `as_of` (default today, UTC) and, when asked, at the end of each period."""
    principal.require(Permission.READ)
    day = as_of or today()
    check_range(day, day)
    wanted = interval is not None or history is not None
    points = history_periods(day, interval or "month", history or DEFAULT_HISTORY) if wanted else []
    # Only transactions after the earliest point are read; older ones are already in every balance.
    since = points[0].end if points else day
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        rows = await uow.analytics.balances(as_of=day, since=since, bucket=(interval or "month") if wanted else None)
    accounts, flows = _accounts_and_flows(rows)
    ends = [point.end for point in points] or [day]
    balances = _balances_at(accounts, flows, ends)
    total, by_currency = _sum_by_currency(accounts, balances[-1])
    history_points: list[NetWorthPoint] = []
    for point, balance in zip(points, balances, strict=False):
        point_total, point_by_currency = _sum_by_currency(accounts, balance)
        history_points.append(
            NetWorthPoint(
                start_date=point.start,
                end_date=point.end,
                total=point_total,
                by_currency=point_by_currency,
                balances={str(account_id): value for account_id, value in balance.items()},
            )
        )
    return NetWorth(
        converted=_converted(by_currency, rates, base_currency) if rates is not None else None,
        as_of=day,
        accounts=[account.model_copy(update={"balance": balances[-1][account.account_id]}) for account in accounts],
        total=total,
        by_currency=by_currency,
        interval=(interval or "month") if wanted else None,
        history=history_points,
    )


Flows = dict[int, list[tuple[dt.date, Decimal]]]


def _converted(by_currency: list[CurrencyTotal], rates: Mapping[str, Decimal], base: str) -> ConvertedTotal:
    """Each currency's total times its rate (base units per unit; the base itself at 1), summed."""
    check_code(base)
    for code, rate in rates.items():
        check_code(code)
        if rate <= 0:
            raise Invalid(f"The rate for {code} must be positive (units of {base} per 1 {code}), got {rate}")
    missing = sorted(c.currency for c in by_currency if c.currency != base and c.currency not in rates)
    if missing:
        raise Invalid(
            f"No rate for {', '.join(missing)}: give rates for every currency of the accounts but the base "
            f'{base}, as units of {base} per 1 unit, e.g. {{"{missing[0]}": "1.08"}}.'
        )
    total = sum(
        (convert(c.balance, Decimal(1) if c.currency == base else rates[c.currency]) for c in by_currency), ZERO
    )
    return ConvertedTotal(
        base_currency=base,
        total=total,
        rates={code: f"{rate:f}" for code, rate in sorted(rates.items())},
        note=f"Converted into {base} at the rates you gave (each currency's total times its rate, to the cent); "
        "the per-currency totals are the exact ones.",
    )


def _accounts_and_flows(rows: list[RowMapping]) -> tuple[list[AccountBalance], Flows]:
    """Accounts with their stored (current) balance, and their sums by bucket, oldest bucket first."""
    accounts: dict[int, AccountBalance] = {}
    flows: Flows = {}
    for row in rows:
        account_id = int(row["id"])
        if account_id not in accounts:
            accounts[account_id] = AccountBalance(
                account_id=account_id,
                name=row["name"],
                account_type=row["account_type"],
                currency=row["currency"],
                balance=row["balance"],
            )
            flows[account_id] = []
        if row["bucket"] is not None:
            flows[account_id].append((row["bucket"], row["amount"]))
    for found in flows.values():
        found.sort()
    return list(accounts.values()), flows


def _balances_at(accounts: list[AccountBalance], flows: Flows, ends: list[dt.date]) -> list[dict[int, Decimal]]:
    """Balance at the end of each day of `ends` (ascending): the current balance minus every sum after it.

    A bucket that starts on or before an end lies wholly on or before it: the ends sit on bucket ends, and
    whatever is dated after as_of is in the FUTURE bucket.
    """
    found: list[dict[int, Decimal]] = [{} for _ in ends]
    for account in accounts:
        buckets = flows[account.account_id]
        after = sum((amount for _, amount in buckets), ZERO)
        position = 0
        for index, end in enumerate(ends):
            while position < len(buckets) and buckets[position][0] <= end:
                after -= buckets[position][1]
                position += 1
            found[index][account.account_id] = account.balance - after
    return found


def _sum_by_currency(
    accounts: list[AccountBalance], balances: dict[int, Decimal]
) -> tuple[Decimal | None, list[CurrencyTotal]]:
    """The total (None when the accounts use several currencies) and the total of each currency."""
    totals: dict[str, Decimal] = {}
    for account in accounts:
        totals[account.currency] = totals.get(account.currency, ZERO) + balances[account.account_id]
    by_currency = [CurrencyTotal(currency=currency, balance=totals[currency]) for currency in sorted(totals)]
    return (sum(totals.values(), ZERO) if len(totals) <= 1 else None), by_currency
