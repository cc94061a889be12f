"""Recurring series: planned transactions (rent, subscriptions), their due dates, posting them, and
finding series in the history that nobody has set up yet.

`post_due_recurring` claims each due date in `recurring_postings` (unique per series and date) before it
records the transaction: two simultaneous calls both try, one claims, the other's insert waits for it and
then finds the date taken, so a date is never posted twice. Posted transactions go through the rules, as
every create does (`services/transactions.with_rules`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from finance_mcp.db.database import Database
from finance_mcp.domain.detection import Payment, detect
from finance_mcp.domain.errors import Invalid, NotFound
from finance_mcp.domain.money import check_balance, format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.domain.quotas import row_bytes
from finance_mcp.domain.schedule import Frequency, Schedule
from finance_mcp.repositories.change_recorder import image
from finance_mcp.repositories.ids import storable
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.recurring import (
    ClearableRecurringField,
    DetectedRecurring,
    DetectedSeries,
    DueItem,
    Posted,
    RecurringDeleted,
    RecurringList,
    RecurringRead,
    Upcoming,
)
from finance_mcp.services.accounts import account_not_found
from finance_mcp.services.analytics import today
from finance_mcp.services.transactions import to_transaction, with_rules

ZERO = Decimal("0.00")
MAX_SERIES = 200
MAX_INTERVAL = 52
MAX_POST = 1000
MAX_UPCOMING_DAYS = 366
MAX_UPCOMING_ITEMS = 500
MAX_DETECT_MONTHS = 36
# Merchants with more payments than this in the window are shopping, not bills (a weekly bill for three
# years with some drift stays under it).
MAX_PAYMENTS_PER_MERCHANT = 170


def recurring_not_found(recurring_id: int) -> NotFound:
    return NotFound(
        f"Recurring series {recurring_id} was not found in your household; call list_recurring to find the right id."
    )


def schedule_of(row: Mapping[str, Any]) -> Schedule:
    return Schedule(row["frequency"], int(row["interval"]), row["start_date"], row["end_date"], bool(row["last_day"]))


def _next_due(row: Mapping[str, Any], posted: set[dt.date]) -> dt.date | None:
    for day in schedule_of(row).dates(dt.date(9998, 12, 31), since=max(posted, default=None)):
        if day not in posted:
            return day
    return None


def to_recurring(row: Mapping[str, Any], posted: set[dt.date]) -> RecurringRead:
    return RecurringRead.model_validate({**row, "next_due": _next_due(row, posted)})


def _check(values: Mapping[str, Any]) -> None:
    if values["amount"] == 0:
        raise Invalid("amount must not be zero: negative for a bill, positive for income")
    if not 1 <= values["interval"] <= MAX_INTERVAL:
        raise Invalid(f"interval must be between 1 and {MAX_INTERVAL} (e.g. 2 with weekly: every other week)")
    if values["end_date"] is not None and values["end_date"] < values["start_date"]:
        raise Invalid(f"end_date {values['end_date']} is before start_date {values['start_date']}; fix one of them")
    if values["last_day"] and values["frequency"] == "weekly":
        raise Invalid("last_day applies to monthly and yearly series only; leave it false for weekly ones")


async def create_recurring(
    db: Database,
    principal: Principal,
    *,
    account_id: int,
    amount: Decimal,
    category: str,
    frequency: Frequency,
    start_date: dt.date,
    interval: int = 1,
    end_date: dt.date | None = None,
    merchant: str | None = None,
    description: str | None = None,
    last_day: bool = False,
) -> RecurringRead:
    principal.require(Permission.WRITE)
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "account_id": account_id,
        "amount": amount,
        "category": category,
        "frequency": frequency,
        "interval": interval,
        "last_day": last_day,
        "start_date": start_date,
        "end_date": end_date,
        "merchant": merchant,
        "description": description,
    }
    _check(values)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        if await uow.accounts.get(account_id) is None:
            raise account_not_found(account_id)
        if len(await uow.recurring.list()) >= MAX_SERIES:
            raise Invalid(f"A household holds at most {MAX_SERIES} recurring series; delete one (delete_recurring).")
        row = await uow.recurring.add({**values, "created_by": principal.user_id, "created_at": now, "updated_at": now})
        summary = f"Created a {frequency} series of {format_amount(amount)} ({category}) from {start_date}"
        uow.log.describe(
            by=principal, tool="create_recurring", summary=summary, entity_type="recurring", entity_id=row["id"]
        )
        uow.log.row("recurring", int(row["id"]), None, image(row))
        await uow.commit()
    return to_recurring(row, set())


async def list_recurring(db: Database, principal: Principal) -> RecurringList:
    principal.require(Permission.READ)
    async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
        rows = await uow.recurring.list()
        posted = await uow.recurring.posted_dates([int(r["id"]) for r in rows])
    return RecurringList(recurring=[to_recurring(r, posted[int(r["id"])]) for r in rows], total=len(rows))


async def update_recurring(
    db: Database,
    principal: Principal,
    recurring_id: int,
    changes: Mapping[str, Any],
    clear_fields: Sequence[ClearableRecurringField] = (),
) -> RecurringRead:
    """Change a series: given values replace, `clear_fields` empties; dates already posted stay posted."""
    principal.require(Permission.WRITE)
    values = {name: value for name, value in changes.items() if value is not None}
    both = [name for name in clear_fields if name in values]
    if both:
        raise Invalid(f"{', '.join(both)} is both given a value and listed in clear_fields; do one or the other")
    values |= dict.fromkeys(clear_fields)
    if not values:
        raise Invalid("Nothing to change: give at least one new value, or list fields in clear_fields.")
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        current = await uow.recurring.get(recurring_id, for_update=True)
        if current is None:
            raise recurring_not_found(recurring_id)
        _check({**current, **values})
        if "account_id" in values and await uow.accounts.get(values["account_id"]) is None:
            raise account_not_found(values["account_id"])
        row = await uow.recurring.update(recurring_id, {**values, "updated_at": dt.datetime.now(dt.UTC)})
        summary = f"Changed {', '.join(sorted(values))} of recurring series {recurring_id}"
        uow.log.describe(
            by=principal, tool="update_recurring", summary=summary, entity_type="recurring", entity_id=recurring_id
        )
        uow.log.row("recurring", recurring_id, image(current), image(row))
        posted = (await uow.recurring.posted_dates([recurring_id]))[recurring_id]
        await uow.commit()
    return to_recurring(row, posted)


async def delete_recurring(db: Database, principal: Principal, recurring_id: int) -> RecurringDeleted:
    """Delete a series and its record of posted dates; the transactions it posted stay."""
    principal.require(Permission.WRITE)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        postings = await uow.recurring.postings_of(recurring_id) if storable(recurring_id) else []
        removed = await uow.recurring.delete(recurring_id)
        if removed is None:
            raise recurring_not_found(recurring_id)
        summary = (
            f"Deleted the {removed['frequency']} series of {format_amount(removed['amount'])} ({removed['category']})"
        )
        uow.log.describe(
            by=principal, tool="delete_recurring", summary=summary, entity_type="recurring", entity_id=recurring_id
        )
        # The series' row last, so that an undo (which runs backwards) puts it back before its postings.
        for posting in postings:
            uow.log.row("recurring_postings", int(posting["id"]), image(posting), None)
        uow.log.row("recurring", recurring_id, image(removed), None)
        await uow.commit()
    return RecurringDeleted(recurring_id=recurring_id, postings_deleted=len(postings))


async def upcoming(db: Database, principal: Principal, days: int = 30, *, on: dt.date | None = None) -> Upcoming:
    """Due dates from today to `days` ahead not posted yet, and earlier ones still unposted (overdue)."""
    principal.require(Permission.READ)
    if not 1 <= days <= MAX_UPCOMING_DAYS:
        raise Invalid(f"days must be between 1 and {MAX_UPCOMING_DAYS}")
    first = on or today()
    last = first + dt.timedelta(days=days)
    async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
        rows = await uow.recurring.list()
        posted = await uow.recurring.posted_dates([int(r["id"]) for r in rows])
    items: list[DueItem] = []
    for row in rows:
        done = posted[int(row["id"])]
        for day in schedule_of(row).dates(last, since=max(done, default=None)):
            if day not in done:
                items.append(_due(row, day, overdue=day < first))
    items.sort(key=lambda i: (i.due_date, i.recurring_id))
    shown = items[:MAX_UPCOMING_ITEMS]
    return Upcoming(
        start_date=first,
        end_date=last,
        items=shown,
        total_amount=sum((i.amount for i in shown), ZERO),
        truncated=len(items) > len(shown),
    )


def _due(row: Mapping[str, Any], day: dt.date, *, overdue: bool) -> DueItem:
    return DueItem(
        recurring_id=row["id"],
        due_date=day,
        account_id=row["account_id"],
        amount=row["amount"],
        category=row["category"],
        merchant=row["merchant"],
        overdue=overdue,
    )


async def post_due_recurring(db: Database, principal: Principal, as_of: dt.date | None = None) -> Posted:
    """Record a transaction for every due date up to `as_of` (default today) not posted yet, each once."""
    principal.require(Permission.WRITE)
    day = as_of or today()
    async with UnitsOfWork(db).snapshot(principal.household_id) as uow:
        due, more = await _due_dates(uow, day)
    planned = await with_rules(db, principal, [_transaction_of(row, when) for row, when in due])
    now = dt.datetime.now(dt.UTC)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        claimed: list[tuple[int, dict[str, Any]]] = []
        for (row, when), values in zip(due, planned, strict=True):
            posting_id = await uow.recurring.claim(int(row["id"]), when, now)
            if posting_id is not None:
                claimed.append((posting_id, values))
        result = await _record_postings(uow, principal, claimed, now)
        await uow.commit()
    return Posted(as_of=day, posted=len(result[0]), transactions=result[0], account_balances=result[1], more_due=more)


async def _due_dates(uow: UnitOfWork, day: dt.date) -> tuple[list[tuple[dict[str, Any], dt.date]], bool]:
    rows = await uow.recurring.list()
    posted = await uow.recurring.posted_dates([int(r["id"]) for r in rows])
    due: list[tuple[dict[str, Any], dt.date]] = []
    for row in rows:
        done = posted[int(row["id"])]
        due += [(row, when) for when in schedule_of(row).dates(day) if when not in done]
    due.sort(key=lambda pair: (int(pair[0]["id"]), pair[1]))  # one order for every caller: no deadlock
    return due[:MAX_POST], len(due) > MAX_POST


def _transaction_of(row: Mapping[str, Any], day: dt.date) -> dict[str, Any]:
    return {
        "account_id": int(row["account_id"]),
        "amount": row["amount"],
        "date": day,
        "category": row["category"],
        "description": row["description"],
        "merchant": row["merchant"],
        "location": None,
        "tags": [],
        "der_category": None,
        "der_merchant": None,
    }


async def _record_postings(
    uow: UnitOfWork, principal: Principal, claimed: list[tuple[int, dict[str, Any]]], now: dt.datetime
) -> tuple[list[Any], dict[str, Decimal]]:
    if not claimed:
        return [], {}
    values = [v for _, v in claimed]
    size = sum(row_bytes(v) for v in values)
    if principal.quotas.on_rows:
        await uow.usage.lock()
        held_rows, held_bytes = await uow.usage.totals()
        principal.quotas.check_rows(held_rows=held_rows, held_bytes=held_bytes, rows=len(values), added_bytes=size)
    moves: dict[int, tuple[Decimal, int, int]] = {}
    for v in values:
        delta, rows, nbytes = moves.get(v["account_id"], (ZERO, 0, 0))
        moves[v["account_id"]] = (delta + v["amount"], rows + 1, nbytes + row_bytes(v))
    balances: dict[str, Decimal] = {}
    for account_id in sorted(moves):
        delta, rows, nbytes = moves[account_id]
        balance = await uow.accounts.adjust_balance(account_id, delta, rows=rows, size=nbytes, now=now)
        if balance is None:
            raise account_not_found(account_id)
        balances[str(account_id)] = check_balance(balance, account_id=account_id)
    stored = await uow.transactions.add_many(values, created_by=principal.user_id, now=now)
    summary = f"Posted {len(stored)} due recurring transactions"
    uow.log.describe(by=principal, tool="post_due_recurring", summary=summary, entity_type="recurring")
    for row in stored:
        uow.log.row("transactions", int(row["id"]), None, image(row, created_by=principal.user_id))
    for (posting_id, _), row in zip(claimed, stored, strict=True):
        posting = await uow.recurring.link(posting_id, int(row["id"]))
        uow.log.row("recurring_postings", posting_id, None, image(posting))
    for account_id in sorted(moves):
        delta, rows, nbytes = moves[account_id]
        uow.log.totals(account_id, delta, rows=rows, size=nbytes, now=now)
    return [to_transaction(row) for row in stored], balances


async def detect_recurring(
    db: Database, principal: Principal, months: int = 12, *, on: dt.date | None = None
) -> DetectedRecurring:
    """Series in the last `months` of history: same merchant, similar amount, regular cadence."""
    principal.require(Permission.READ)
    if not 1 <= months <= MAX_DETECT_MONTHS:
        raise Invalid(f"months must be between 1 and {MAX_DETECT_MONTHS}")
    end = on or today()
    start = end - dt.timedelta(days=round(months * 30.4375) + 7)  # a week's slack: a yearly bill's 2nd payment
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        rows = await uow.recurring.history(since=start, until=end, max_per_merchant=MAX_PAYMENTS_PER_MERCHANT)
        tracked = {str(r["merchant"]).lower() for r in await uow.recurring.list() if r["merchant"]}
    payments = [
        Payment(r["merchant"].lower(), r["merchant"], r["date"], r["amount"], int(r["account_id"]), r["category"])
        for r in rows
    ]
    found = detect(payments, today=end)
    series = [
        DetectedSeries(
            merchant=s.merchant,
            typical_amount=s.typical_amount,
            frequency=s.cadence.frequency,
            interval=s.cadence.interval,
            cadence=s.cadence.label,
            payments=s.payments,
            first_date=s.first_date,
            last_date=s.last_date,
            next_date=s.next_date,
            monthly_amount=s.monthly_amount,
            confidence=s.confidence,
            account_id=s.account_id,
            category=s.category,
            tracked=s.key in tracked,
        )
        for s in found
    ]
    return DetectedRecurring(
        start_date=start,
        end_date=end,
        series=series,
        expenses_per_month=-sum((s.monthly_amount for s in series if s.monthly_amount < 0), ZERO),
        income_per_month=sum((s.monthly_amount for s in series if s.monthly_amount > 0), ZERO),
    )
