"""Recurring series through the service layer, on SQLite and PostgreSQL: due dates at month edges and in
leap years, posting each date once (also when two calls race), upcoming, undo, and detection in generated
histories with noise."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound, PermissionDenied
from finance_mcp.domain.principals import Principal, Role
from finance_mcp.domain.schedule import Schedule
from finance_mcp.schemas.rules import RuleActions, RuleCondition
from finance_mcp.services import accounts, changes, recurring, rules
from finance_mcp.services.transactions import record_batch
from tests.changelog_dumps import data_dump
from tests.services.helpers import (
    MakePrincipal,
    all_transactions,
    assert_balances_add_up,
    balance_of,
    count_rows,
    item,
    open_account,
)
from tests.services.recurring_histories import TODAY, TRUTH, history

pytestmark = pytest.mark.anyio

D = Decimal
day = dt.date


async def series(db: Database, me: Principal, account_id: int, **fields: Any) -> recurring.RecurringRead:
    values: dict[str, Any] = {"amount": D("-10"), "category": "Bills", "frequency": "monthly"} | fields
    return await recurring.create_recurring(db, me, account_id=account_id, **values)


async def posted_dates(db: Database, me: Principal) -> list[dt.date]:
    return sorted(t.date for t in await all_transactions(db, me))


@pytest.mark.parametrize(
    ("start", "frequency", "interval", "last_day", "expected"),
    [
        (
            day(2027, 1, 31),
            "monthly",
            1,
            False,
            [day(2027, 1, 31), day(2027, 2, 28), day(2027, 3, 31), day(2027, 4, 30)],
        ),
        (
            day(2028, 1, 31),
            "monthly",
            1,
            False,
            [day(2028, 1, 31), day(2028, 2, 29), day(2028, 3, 31), day(2028, 4, 30)],
        ),
        (
            day(2027, 2, 28),
            "monthly",
            1,
            True,
            [day(2027, 2, 28), day(2027, 3, 31), day(2027, 4, 30), day(2027, 5, 31)],
        ),
        (
            day(2027, 2, 28),
            "monthly",
            1,
            False,
            [day(2027, 2, 28), day(2027, 3, 28), day(2027, 4, 28), day(2027, 5, 28)],
        ),
        (
            day(2027, 11, 30),
            "monthly",
            2,
            False,
            [day(2027, 11, 30), day(2028, 1, 30), day(2028, 3, 30), day(2028, 5, 30)],
        ),
        (
            day(2028, 2, 29),
            "yearly",
            1,
            False,
            [day(2028, 2, 29), day(2029, 2, 28), day(2030, 2, 28), day(2031, 2, 28)],
        ),
        (
            day(2027, 12, 27),
            "weekly",
            2,
            False,
            [day(2027, 12, 27), day(2028, 1, 10), day(2028, 1, 24), day(2028, 2, 7)],
        ),
    ],
)
async def test_due_dates_keep_their_day_through_short_months_and_leap_years(
    db: Database,
    make_principal: MakePrincipal,
    start: dt.date,
    frequency: str,
    interval: int,
    last_day: bool,
    expected: list[dt.date],
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    await series(db, me, account.id, start_date=start, frequency=frequency, interval=interval, last_day=last_day)

    posted = await recurring.post_due_recurring(db, me, as_of=expected[-1])

    assert [t.date for t in posted.transactions] == expected
    assert await posted_dates(db, me) == expected
    assert Schedule(frequency, interval, start, last_day=last_day).occurrence(4) > expected[-1]  # type: ignore[arg-type]


async def test_a_leap_day_yearly_series_is_back_on_the_29th_in_the_next_leap_year(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    await series(db, me, account.id, start_date=day(2028, 2, 29), frequency="yearly")

    await recurring.post_due_recurring(db, me, as_of=day(2032, 3, 1))

    assert await posted_dates(db, me) == [
        day(2028, 2, 29),
        day(2029, 2, 28),
        day(2030, 2, 28),
        day(2031, 2, 28),
        day(2032, 2, 29),
    ]


async def test_posting_again_posts_nothing_and_the_end_date_stops_a_series(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    await series(db, me, account.id, start_date=day(2026, 1, 15), end_date=day(2026, 3, 15), amount=D("-25.50"))

    first = await recurring.post_due_recurring(db, me, as_of=day(2026, 12, 31))
    again = await recurring.post_due_recurring(db, me, as_of=day(2026, 12, 31))

    assert (first.posted, again.posted) == (3, 0)
    assert first.account_balances == {str(account.id): D("23.50")}
    assert await balance_of(db, me, account.id) == D("23.50")
    await assert_balances_add_up(db, me)
    (listed,) = (await recurring.list_recurring(db, me)).recurring
    assert listed.next_due is None


async def test_two_simultaneous_posts_post_each_due_date_once(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    await series(db, me, account.id, start_date=day(2026, 1, 1), frequency="weekly", amount=D("-1"))  # 13 Thursdays
    await series(db, me, account.id, start_date=day(2026, 1, 31), amount=D("-2"))  # Jan 31, Feb 28, Mar 31

    results = await asyncio.gather(*(recurring.post_due_recurring(db, me, as_of=day(2026, 3, 31)) for _ in range(3)))

    assert sum(r.posted for r in results) == 16
    rows = await all_transactions(db, me)
    assert len(rows) == len({(t.amount, t.date) for t in rows}) == 16
    postings = await count_rows(
        db, "SELECT count(*) FROM recurring_postings WHERE household_id = :h", h=me.household_id
    )
    assert postings == 16
    assert await balance_of(db, me, account.id) == D("1000") - 13 - 6
    await assert_balances_add_up(db, me)


async def test_a_post_whose_due_list_went_stale_meanwhile_posts_nothing_twice(
    db: Database, make_principal: MakePrincipal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving a race can produce, made certain: between reading what is due and writing it, another
    call posts the same dates. The unique key, not the (stale) check, makes the first call post none again."""
    me = await make_principal()
    account = await open_account(db, me, "1000")
    await series(db, me, account.id, start_date=day(2026, 1, 1), frequency="weekly", amount=D("-1"))
    original = recurring.with_rules
    inner: list[recurring.Posted] = []
    started: list[bool] = []

    async def another_call_first(db_: Database, who: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not started:
            started.append(True)
            inner.append(await recurring.post_due_recurring(db, me, as_of=day(2026, 3, 31)))
        return await original(db_, who, rows)

    monkeypatch.setattr(recurring, "with_rules", another_call_first)
    outer = await recurring.post_due_recurring(db, me, as_of=day(2026, 3, 31))

    assert (inner[0].posted, outer.posted) == (13, 0)
    assert len(await all_transactions(db, me)) == 13
    assert await balance_of(db, me, account.id) == D("987.00")


async def test_upcoming_lists_what_falls_due_and_what_is_overdue(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    rent = await series(db, me, account.id, start_date=day(2026, 1, 1), amount=D("-900"), merchant="Landlord")
    await series(db, me, account.id, start_date=day(2026, 3, 20), frequency="weekly", amount=D("-5"))
    await recurring.post_due_recurring(db, me, as_of=day(2026, 2, 1))

    due = await recurring.upcoming(db, me, 14, on=day(2026, 3, 10))

    assert [(i.due_date, i.overdue, i.amount) for i in due.items] == [
        (day(2026, 3, 1), True, D("-900.00")),
        (day(2026, 3, 20), False, D("-5.00")),
    ]
    assert due.items[0].recurring_id == rent.id
    assert due.total_amount == D("-905.00")


async def test_posted_transactions_go_through_the_rules(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    await rules.create_rule(
        db,
        me,
        name="streaming",
        conditions=[RuleCondition(field="merchant", op="contains", value="netflix")],
        actions=RuleActions(der_category="Streaming", add_tags=["subscription"]),
    )
    await series(db, me, account.id, start_date=day(2026, 1, 5), merchant="Netflix", amount=D("-15.99"))

    (posted,) = (await recurring.post_due_recurring(db, me, as_of=day(2026, 1, 5))).transactions

    assert (posted.der_category, posted.tags, posted.merchant) == ("Streaming", ["subscription"], "Netflix")


async def test_undoing_a_post_removes_its_rows_and_the_dates_fall_due_again(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    await series(db, me, account.id, start_date=day(2026, 1, 10))
    before = await data_dump(database_url)

    await recurring.post_due_recurring(db, me, as_of=day(2026, 2, 10))
    change = (await changes.list_changes(db, me, limit=1)).changes[0]
    await changes.undo_change(db, me, change.id)

    assert change.tool == "post_due_recurring"
    assert await data_dump(database_url) == before
    assert (await recurring.post_due_recurring(db, me, as_of=day(2026, 2, 10))).posted == 2


async def test_deleting_a_series_is_undone_with_its_posted_dates(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    made = await series(db, me, account.id, start_date=day(2026, 1, 10))
    await recurring.post_due_recurring(db, me, as_of=day(2026, 2, 10))
    before = await data_dump(database_url)

    deleted = await recurring.delete_recurring(db, me, made.id)
    change = (await changes.list_changes(db, me, limit=1)).changes[0]
    await changes.undo_change(db, me, change.id)

    assert deleted.postings_deleted == 2
    assert await data_dump(database_url) == before
    assert (await recurring.post_due_recurring(db, me, as_of=day(2026, 2, 10))).posted == 0


async def test_creating_and_changing_a_series_are_undone_exactly(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    before = await data_dump(database_url)
    made = await series(db, me, account.id, start_date=day(2026, 1, 10), end_date=day(2026, 6, 1))
    created = await data_dump(database_url)
    changed = await recurring.update_recurring(
        db, me, made.id, {"amount": D("-12"), "interval": 2}, clear_fields=["end_date"]
    )

    assert (changed.amount, changed.interval, changed.end_date) == (D("-12.00"), 2, None)
    for expected in (created, before):
        page = await changes.list_changes(db, me, limit=50)
        newest = next(c.id for c in page.changes if c.tool != "undo_change" and c.undone_by_change_id is None)
        await changes.undo_change(db, me, newest)
        assert await data_dump(database_url) == expected


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"amount": D("0")}, "not be zero"),
        ({"interval": 0}, "interval"),
        ({"end_date": day(2025, 1, 1)}, "before start_date"),
        ({"frequency": "weekly", "last_day": True}, "last_day"),
    ],
)
async def test_bad_series_are_refused_and_nothing_is_stored(
    db: Database, make_principal: MakePrincipal, fields: dict[str, Any], says: str
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    with pytest.raises(Invalid, match=says):
        await series(db, me, account.id, start_date=day(2026, 1, 1), **fields)
    assert (await recurring.list_recurring(db, me)).total == 0


async def test_another_households_series_and_accounts_are_not_found(
    db: Database, make_principal: MakePrincipal
) -> None:
    me, stranger = await make_principal(), await make_principal()
    viewer = await make_principal(Role.VIEWER)
    account = await open_account(db, me, "100")
    mine = await series(db, me, account.id, start_date=day(2026, 1, 1))

    with pytest.raises(NotFound, match="list_accounts"):
        await series(db, stranger, account.id, start_date=day(2026, 1, 1))
    with pytest.raises(NotFound, match="list_recurring"):
        await recurring.delete_recurring(db, stranger, mine.id)
    with pytest.raises(PermissionDenied):
        await recurring.post_due_recurring(db, viewer)
    assert (await recurring.post_due_recurring(db, stranger, as_of=day(2026, 6, 1))).posted == 0
    assert (await recurring.list_recurring(db, me)).recurring[0].next_due == day(2026, 1, 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_detection_finds_the_series_of_a_noisy_history_and_nothing_else(
    db: Database, make_principal: MakePrincipal, seed: int
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100000")
    rows = history(seed)
    items = [item(str(r.amount), date=r.date, merchant=r.merchant, category=r.category) for r in rows]
    for start in range(0, len(items), 1000):
        await record_batch(db, me, account.id, items[start : start + 1000])
    await series(db, me, account.id, start_date=day(2026, 1, 7), merchant="netflix", amount=D("-15.99"))

    found = await recurring.detect_recurring(db, me, 12, on=TODAY)

    assert {(s.merchant, s.frequency, s.interval) for s in found.series} == {(m, *c) for m, c in TRUTH.items()}
    by_name = {s.merchant: s for s in found.series}
    assert by_name["Netflix"].typical_amount == D("-15.99")
    assert by_name["Netflix"].tracked
    assert not by_name["Spotify"].tracked
    assert by_name["Spotify"].next_date == day(2026, 11, 30)
    assert by_name["ACME Payroll"].monthly_amount > 0
    assert found.income_per_month == by_name["ACME Payroll"].monthly_amount
    assert found.expenses_per_month == -sum((s.monthly_amount for s in found.series if s.monthly_amount < 0), D(0))
    assert all(0.6 <= s.confidence <= 1 for s in found.series)


async def test_deleting_an_account_takes_its_series_and_the_undo_brings_them_back(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    kept = await open_account(db, me, "5", name="Other")
    await series(db, me, account.id, start_date=day(2026, 1, 10))
    await series(db, me, kept.id, start_date=day(2026, 1, 10))
    await recurring.post_due_recurring(db, me, as_of=day(2026, 2, 10))
    before = await data_dump(database_url)

    await accounts.delete_account(db, me, account.id)
    assert [s.account_id for s in (await recurring.list_recurring(db, me)).recurring] == [kept.id]
    await changes.undo_change(db, me, (await changes.list_changes(db, me, limit=1)).changes[0].id)

    assert await data_dump(database_url) == before
    assert (await recurring.post_due_recurring(db, me, as_of=day(2026, 2, 10))).posted == 0
