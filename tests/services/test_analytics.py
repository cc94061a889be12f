"""Analytics on SQLite and PostgreSQL: every number equals a plain Python computation over the same rows.

Property tests generate small households (negative opening balances, leap days, month and year ends,
transfers in any case, amounts beyond a float's exact range) next to a noise household holding the same
rows, and compare each answer with `analytics_reference`; example tests pin the edges and the refusals.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from finance_mcp.db.database import Database, SqliteDatabase
from finance_mcp.domain.errors import Invalid, NotFound, PermissionDenied
from finance_mcp.domain.principals import Principal, Role
from finance_mcp.schemas.accounts import AccountCreate
from finance_mcp.schemas.splits import SplitPart
from finance_mcp.schemas.transactions import TransactionFilter
from finance_mcp.schemas.transfers import TransferCreate
from finance_mcp.services import accounts, analytics, net_worth, reports, splits, transactions, transfers
from tests.services import analytics_reference as ref
from tests.services.helpers import MakePrincipal, item, open_account, record

pytestmark = pytest.mark.anyio

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

FIRST_DAY, LAST_DAY = dt.date(2023, 12, 20), dt.date(2024, 3, 10)  # a year end, a leap day, month ends
CATEGORIES = ["Food", "food", "FOOD", "Rent", "Salary", "Fun", "transfer", "Transfer", "TRANSFER"]
MERCHANTS = [None, "Shop", "shop", "SHOP", "Cafe", "Landlord"]
DER_CATEGORIES = [None, "Groceries", "groceries", "Bills"]
TAGS = ["Food", "trip", "KIDS"]
GROUPS = ["category", "der_category", "merchant", "account", "tag", "month"]

cents = st.one_of(st.integers(-50_000, 50_000), st.integers(-(10**11), 10**11), st.just(0))
transaction = st.tuples(
    st.integers(0, 2),
    cents,
    st.dates(FIRST_DAY, LAST_DAY),
    st.sampled_from(CATEGORIES),
    st.sampled_from(MERCHANTS),
    st.sampled_from(DER_CATEGORIES),
    st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
    # Split into parts (category, derived category, own tags or the row's, cents; the last part takes the rest).
    st.none()
    | st.lists(
        st.tuples(
            st.sampled_from(CATEGORIES),
            st.sampled_from(DER_CATEGORIES),
            st.none() | st.lists(st.sampled_from(TAGS), unique=True, max_size=2),
            st.integers(-50_000, 50_000),
        ),
        min_size=2,
        max_size=3,
    ),
)
# Transfers between the household's accounts (from, to, cents, day): two linked legs analytics never count.
transfer = st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(1, 10**7), st.dates(FIRST_DAY, LAST_DAY))
household_data = st.fixed_dictionaries(
    {
        "openings": st.lists(st.integers(-(10**8), 10**8), min_size=1, max_size=3),
        "rows": st.lists(transaction, max_size=30),
        "transfers": st.lists(transfer, max_size=3),
    }
)
query_days = st.dates(dt.date(2023, 12, 1), dt.date(2024, 3, 31))
spans = st.one_of(st.tuples(query_days, query_days).map(sorted), query_days.map(lambda day: [day, day]))


def money(value: int | str) -> Decimal:
    return (Decimal(value) / 100).quantize(Decimal("0.01")) if isinstance(value, int) else Decimal(value)


@dataclass
class Household:
    principal: Principal
    accounts: dict[int, ref.Account]
    rows: list[ref.Row]

    def account_ids(self, picks: list[int] | None) -> list[int] | None:
        ids = list(self.accounts)
        return None if picks is None else sorted({ids[pick % len(ids)] for pick in picks})


async def load(db: Database, make_principal: MakePrincipal, data: dict[str, Any]) -> Household:
    """The generated household, and a noise household holding the same rows (which must never count)."""
    me, noise = await make_principal(), await make_principal()
    accounts: dict[int, ref.Account] = {}
    for index, opening in enumerate(data["openings"]):
        # Two accounts may share a name: grouping by account must still keep them apart.
        made = await open_account(db, me, str(money(opening)), name=f"Account {index % 2}")
        accounts[made.id] = ref.Account(made.id, made.name, made.opening_balance)
    ids = list(accounts)
    rows = [
        ref.Row(ids[i % len(ids)], money(c), day, category, merchant, der, tuple(tags), _parts(money(c), tags, parts))
        for i, c, day, category, merchant, der, tags, parts in data["rows"]
    ]
    await store(db, me, rows)
    for source, target, c, day in data["transfers"]:
        if ids[source % len(ids)] != ids[target % len(ids)]:
            made = await transfers.create_transfer(
                db,
                me,
                TransferCreate(
                    from_account_id=ids[source % len(ids)],
                    to_account_id=ids[target % len(ids)],
                    amount=money(c),
                    date=day,
                ),
            )
            for leg in (made.from_transaction, made.to_transaction):
                rows.append(ref.Row(leg.account_id, leg.amount, leg.date, leg.category))
    noise_account = await open_account(db, noise, "777.77")
    if rows:
        await transactions.record_batch(db, noise, noise_account.id, [_fields(row) for row in rows])
    return Household(me, accounts, rows)


def _parts(amount: Decimal, tags: list[str], specs: list[Any] | None) -> tuple[ref.Part, ...]:
    """A split's parts: the last takes whatever makes them add up to the amount exactly."""
    if specs is None:
        return ()
    amounts = [money(c) for *_, c in specs[:-1]]
    amounts.append(amount - sum(amounts, Decimal("0.00")))
    return tuple(
        ref.Part(part_amount, category, der, tuple(tags if own is None else own))
        for part_amount, (category, der, own, _) in zip(amounts, specs, strict=True)
    )


def _fields(row: ref.Row) -> Any:
    return item(
        str(row.amount), date=row.date, category=row.category, merchant=row.merchant,
        der_category=row.der_category, tags=list(row.tags) or None,
    )  # fmt: skip


async def store(db: Database, principal: Principal, rows: list[ref.Row]) -> None:
    by_account: dict[int, list[ref.Row]] = {}
    for row in rows:
        by_account.setdefault(row.account_id, []).append(row)
    for account_id, own in by_account.items():
        stored = await transactions.record_batch(db, principal, account_id, [_fields(row) for row in own])
        for row, made in zip(own, stored.transactions, strict=True):
            if row.parts:
                parts = [
                    SplitPart(
                        amount=p.amount,
                        category=p.category,
                        der_category=p.der_category,
                        tags=list(p.tags) if p.tags != row.tags else None,
                    )
                    for p in row.parts
                ]
                await splits.split_transaction(db, principal, made.id, parts)


def dumped(model: Any) -> Any:
    """A result (or a list of them) as it goes on the wire, to compare with `ref.wire(...)`."""
    if isinstance(model, list):
        return [dumped(item) for item in model]
    return None if model is None else model.model_dump(mode="json")


# ---- properties: every tool against the plain computation ------------------------------------------


@PROPERTY
@given(
    data=household_data,
    span=spans,
    group_by=st.sampled_from(GROUPS),
    include_income=st.booleans(),
    limit=st.none() | st.integers(1, 4),
    picks=st.none() | st.lists(st.integers(0, 2), min_size=1, max_size=3),
)
async def test_spending_summary_equals_the_plain_python_totals(
    db: Database, make_principal: MakePrincipal, data, span, group_by, include_income, limit, picks
) -> None:
    house = await load(db, make_principal, data)
    start, end = span
    account_ids = house.account_ids(picks)

    result = await analytics.spending_summary(
        db, house.principal, start=start, end=end, group_by=group_by,
        account_ids=account_ids, include_income=include_income, limit=limit,
    )  # fmt: skip

    expected = ref.spending_summary(
        house.rows, house.accounts, start=start, end=end, group_by=group_by,
        account_ids=None if account_ids is None else set(account_ids), include_income=include_income, limit=limit,
    )  # fmt: skip
    assert dumped(result.totals) == ref.wire(expected["totals"])
    assert dumped(result.groups) == ref.wire(expected["groups"])
    assert (result.group_count, dumped(result.other)) == (expected["group_count"], ref.wire(expected["other"]))
    assert (result.period.start_date, result.period.end_date, result.period.days) == (
        start,
        end,
        (end - start).days + 1,
    )
    assert result.filters.include_income is include_income
    assert result.filters.account_ids == account_ids


@PROPERTY
@given(data=household_data, span=spans, interval=st.sampled_from(["month", "week", "day"]))
async def test_cash_flow_lists_every_period_with_the_plain_python_sums(
    db: Database, make_principal: MakePrincipal, data, span, interval
) -> None:
    house = await load(db, make_principal, data)
    start, end = span

    result = await analytics.cash_flow(db, house.principal, start=start, end=end, interval=interval)

    assert dumped(result.periods) == ref.wire(ref.cash_flow(house.rows, start=start, end=end, interval=interval))
    assert dumped(result.totals) == ref.wire(ref.sums(ref.counted(house.rows, start, end)))


@PROPERTY
@given(
    data=household_data,
    as_of=st.dates(dt.date(2023, 11, 25), dt.date(2024, 4, 5)),
    interval=st.none() | st.sampled_from(["month", "week", "day"]),
    periods=st.none() | st.integers(1, 8),
)
async def test_net_worth_is_opening_plus_every_amount_up_to_each_day(
    db: Database, make_principal: MakePrincipal, data, as_of, interval, periods
) -> None:
    house = await load(db, make_principal, data)

    result = await net_worth.net_worth(db, house.principal, as_of=as_of, interval=interval, history=periods)

    expected = {a.id: ref.balance(a, house.rows, as_of) for a in house.accounts.values()}
    assert {a.account_id: a.balance for a in result.accounts} == expected
    assert result.total == sum(expected.values(), Decimal(0))
    if interval is None and periods is None:
        assert result.history == []
        assert result.interval is None
        return
    ends = ref.history_ends(as_of, interval or "month", periods or 12)
    assert [point.end_date for point in result.history] == ends
    for point in result.history:
        balances = {str(a.id): ref.balance(a, house.rows, point.end_date) for a in house.accounts.values()}
        assert point.balances == balances
        assert point.total == sum(balances.values(), Decimal(0))


@PROPERTY
@given(data=household_data, span=spans, limit=st.integers(1, 4))
async def test_top_merchants_equal_the_plain_python_ranking(
    db: Database, make_principal: MakePrincipal, data, span, limit
) -> None:
    house = await load(db, make_principal, data)
    start, end = span

    result = await analytics.top_merchants(db, house.principal, start=start, end=end, limit=limit)

    expected = ref.top_merchants(house.rows, start=start, end=end, limit=limit)
    assert dumped(result.merchants) == ref.wire(expected["merchants"])
    assert result.merchant_count == expected["merchant_count"]
    assert (result.total_spending, result.unattributed_spending) == (
        expected["total_spending"],
        expected["unattributed_spending"],
    )


@PROPERTY
@given(
    data=household_data,
    end_month=st.sampled_from([dt.date(2023, 12, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]),
    months=st.integers(1, 4),
    categories=st.none() | st.lists(st.sampled_from([*CATEGORIES, "Nothing"]), min_size=1, max_size=4),
)
async def test_category_trends_equal_the_plain_python_month_by_month_totals(
    db: Database, make_principal: MakePrincipal, data, end_month, months, categories
) -> None:
    house = await load(db, make_principal, data)

    result = await analytics.category_trends(
        db, house.principal, categories=categories, months=months, end_month=end_month.strftime("%Y-%m")
    )

    expected = ref.category_trends(house.rows, categories=categories, months=months, end_month=end_month)
    got = [{"category": c.category, "months": dumped(c.months)} for c in result.categories]
    assert got == ref.wire(expected)
    assert len(result.months) == months
    assert result.months[-1] == end_month.strftime("%Y-%m")


# ---- edges and rules, by example -------------------------------------------------------------------


async def test_a_transfer_in_any_case_is_neither_spending_nor_income_but_moves_balances(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    checking = await open_account(db, me, "100")
    savings = await open_account(db, me, "0", name="Savings", account_type="savings")
    await record(db, me, checking.id, "-40", category="TRANSFER", date="2026-01-10")
    await record(db, me, savings.id, "40", category="transfer", date="2026-01-10")
    await record(db, me, checking.id, "-5", category="Transfers", date="2026-01-11")  # not the transfer category

    summary = await analytics.spending_summary(
        db, me, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), group_by="category", include_income=True
    )
    worth = await net_worth.net_worth(db, me, as_of=dt.date(2026, 1, 31))

    assert [(g.name, g.spending, g.income) for g in summary.groups] == [("Transfers", Decimal(5), Decimal(0))]
    assert summary.filters.transfers_excluded is True
    assert {a.name: a.balance for a in worth.accounts} == {"Checking": Decimal(55), "Savings": Decimal(40)}
    assert worth.total == Decimal(95)


async def test_an_empty_range_has_zero_totals_and_every_period_present(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "-250.00")
    await record(db, me, account.id, "-10", date="2023-06-01")

    flow = await analytics.cash_flow(db, me, start=dt.date(2024, 1, 30), end=dt.date(2024, 3, 2), interval="month")
    summary = await analytics.spending_summary(
        db, me, start=dt.date(2024, 1, 30), end=dt.date(2024, 3, 2), group_by="merchant"
    )

    assert [(p.label, p.start_date, p.end_date, p.count) for p in flow.periods] == [
        ("2024-01", dt.date(2024, 1, 30), dt.date(2024, 1, 31), 0),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), 0),
        ("2024-03", dt.date(2024, 3, 1), dt.date(2024, 3, 2), 0),
    ]
    assert flow.totals.model_dump(mode="json") == {"spending": "0.00", "income": "0.00", "net": "0.00", "count": 0}
    assert (summary.groups, summary.group_count, summary.other) == ([], 0, None)


async def test_a_single_leap_day_counts_only_that_day(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    for day, amount in (("2024-02-28", "-1"), ("2024-02-29", "-2.50"), ("2024-03-01", "-4")):
        await record(db, me, account.id, amount, date=day)

    flow = await analytics.cash_flow(db, me, start=dt.date(2024, 2, 29), end=dt.date(2024, 2, 29), interval="week")

    (period,) = flow.periods
    assert (period.label, period.start_date, period.end_date) == (
        "2024-W09",
        dt.date(2024, 2, 29),
        dt.date(2024, 2, 29),
    )
    assert (period.expenses, period.count, flow.period.days) == (Decimal("2.50"), 1, 1)


async def test_weeks_are_iso_weeks_across_a_year_end(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await record(db, me, account.id, "7", date="2024-12-30")  # Monday of 2025-W01
    await record(db, me, account.id, "3", date="2024-12-29")  # Sunday of 2024-W52

    flow = await analytics.cash_flow(db, me, start=dt.date(2024, 12, 25), end=dt.date(2025, 1, 6), interval="week")

    assert [(p.label, p.start_date, p.income) for p in flow.periods] == [
        ("2024-W52", dt.date(2024, 12, 25), Decimal(3)),
        ("2025-W01", dt.date(2024, 12, 30), Decimal(7)),
        ("2025-W02", dt.date(2025, 1, 6), Decimal(0)),
    ]


async def test_net_worth_history_ends_on_month_ends_and_keeps_a_negative_opening_balance(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    loan = await open_account(db, me, "-1000.00", name="Loan", account_type="loan")
    await record(db, me, loan.id, "100", date="2024-01-31")
    await record(db, me, loan.id, "100", date="2024-02-29")
    await record(db, me, loan.id, "100", date="2024-03-10")
    await record(db, me, loan.id, "100", date="2024-03-20")  # after as_of

    worth = await net_worth.net_worth(db, me, as_of=dt.date(2024, 3, 15), interval="month", history=4)

    assert [(p.start_date, p.end_date, p.total) for p in worth.history] == [
        (dt.date(2023, 12, 1), dt.date(2023, 12, 31), Decimal(-1000)),
        (dt.date(2024, 1, 1), dt.date(2024, 1, 31), Decimal(-900)),
        (dt.date(2024, 2, 1), dt.date(2024, 2, 29), Decimal(-800)),
        (dt.date(2024, 3, 1), dt.date(2024, 3, 15), Decimal(-700)),
    ]
    assert worth.total == Decimal(-700)
    assert worth.interval == "month"


async def test_net_worth_gives_no_single_total_across_currencies(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    await open_account(db, me, "10", name="Dollars")
    euros = await analytics_account(db, me, "EUR", "20")

    worth = await net_worth.net_worth(db, me)

    assert worth.total is None
    assert [(c.currency, c.balance) for c in worth.by_currency] == [("EUR", Decimal(20)), ("USD", Decimal(10))]
    assert euros in {a.account_id for a in worth.accounts}


async def analytics_account(db: Database, principal: Principal, currency: str, opening: str) -> int:
    data = AccountCreate.model_validate(
        {"name": currency, "account_type": "savings", "currency": currency, "opening_balance": opening}
    )
    return (await accounts.create_account(db, principal, data)).id


async def test_a_limit_keeps_the_largest_groups_and_adds_up_the_rest(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    for category, amount in (("Rent", "-500"), ("Food", "-300"), ("Fun", "-150"), ("Bus", "-50")):
        await record(db, me, account.id, amount, category=category)

    summary = await analytics.spending_summary(
        db, me, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), group_by="category", limit=2
    )

    assert [(g.name, str(g.share_percent)) for g in summary.groups] == [("Rent", "50.00"), ("Food", "30.00")]
    assert summary.other is not None
    assert (summary.other.spending, summary.other.count) == (Decimal(200), 2)
    assert summary.totals.spending == Decimal(1000)
    assert summary.group_count == 4


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        (dt.date(2026, 2, 1), dt.date(2026, 1, 31), "before start_date"),
        (dt.date(2016, 1, 1), dt.date(2026, 1, 8), "at most 3660"),
        (dt.date(2026, 1, 1), dt.date(9999, 1, 1), "on or before"),
    ],
)
async def test_a_backwards_or_too_long_range_is_refused_with_what_to_do(
    db: Database, make_principal: MakePrincipal, start: dt.date, end: dt.date, problem: str
) -> None:
    me = await make_principal()

    for call in (
        analytics.spending_summary(db, me, start=start, end=end, group_by="category"),
        analytics.cash_flow(db, me, start=start, end=end, interval="day"),
        analytics.top_merchants(db, me, start=start, end=end),
    ):
        with pytest.raises(Invalid, match=problem):
            await call


async def test_ten_years_of_days_is_the_longest_range_and_still_answers(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    start = dt.date(2016, 1, 1)

    flow = await analytics.cash_flow(db, me, start=start, end=start + dt.timedelta(days=3659), interval="day")

    assert len(flow.periods) == 3660


async def test_another_households_account_reads_like_a_missing_one(db: Database, make_principal: MakePrincipal) -> None:
    me, them = await make_principal(), await make_principal()
    theirs = await open_account(db, them, "5000")
    await record(db, them, theirs.id, "-999")
    missing = theirs.id + 1_000_000

    messages = []
    for account_id in (theirs.id, missing):
        with pytest.raises(NotFound) as refused:
            await analytics.spending_summary(
                db, me, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), group_by="account",
                account_ids=[account_id],
            )  # fmt: skip
        messages.append(str(refused.value).replace(str(account_id), "<id>"))

    assert messages[0] == messages[1]
    assert (await net_worth.net_worth(db, me)).accounts == []


async def test_a_viewer_may_read_analytics_but_a_token_without_the_read_scope_may_not(
    db: Database, make_principal: MakePrincipal
) -> None:
    tenant = uuid.uuid4().hex
    owner = await make_principal(tenant=tenant)
    account = await open_account(db, owner, "10")
    await record(db, owner, account.id, "-3")
    viewer = await make_principal(role=Role.VIEWER, tenant=tenant)
    writer_only = await make_principal(role=Role.MEMBER, tenant=tenant, scopes=frozenset({"finance:write"}))

    summary = await analytics.spending_summary(
        db, viewer, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), group_by="category"
    )
    assert summary.totals.spending == Decimal(3)
    with pytest.raises(PermissionDenied, match="finance:read"):
        await net_worth.net_worth(db, writer_only)
    with pytest.raises(PermissionDenied, match="finance:read"):
        await reports.monthly_report(db, writer_only, "2026-01")


# ---- reports and the prompts' data -------------------------------------------------------------------


async def test_a_monthly_report_gives_the_months_totals_and_largest_categories_and_merchants(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await record(db, me, account.id, "3000", category="Salary", merchant="Employer", date="2024-02-01")
    await record(db, me, account.id, "-1200", category="Rent", merchant="Landlord", date="2024-02-01")
    await record(db, me, account.id, "-80", category="food", merchant="Shop", date="2024-02-29")
    await record(db, me, account.id, "-20", category="Food", merchant="shop", date="2024-02-10")
    await record(db, me, account.id, "-500", category="Transfer", date="2024-02-15")
    await record(db, me, account.id, "-99", category="Food", date="2024-03-01")  # next month

    report = await reports.monthly_report(db, me, "2024-02")

    assert (report.period.start_date, report.period.end_date) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert report.totals.model_dump(mode="json") == {
        "spending": "1300.00", "income": "3000.00", "net": "1700.00", "count": 4,
    }  # fmt: skip
    assert [(c.name, c.spending, str(c.share_percent)) for c in report.top_categories] == [
        ("Rent", Decimal(1200), "92.31"),
        ("Food", Decimal(100), "7.69"),
    ]
    assert [(m.merchant, m.spending, m.count) for m in report.top_merchants] == [
        ("Landlord", Decimal(1200), 1),
        ("Shop", Decimal(100), 2),
    ]


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "26-01", "March"])
async def test_a_report_for_something_that_is_not_a_month_is_refused(
    db: Database, make_principal: MakePrincipal, month: str
) -> None:
    me = await make_principal()

    with pytest.raises(Invalid, match="YYYY-MM"):
        await reports.monthly_report(db, me, month)


async def test_uncategorized_lists_the_newest_rows_without_a_derived_category_and_the_ones_in_use(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await record(db, me, account.id, "-1", der_category="Groceries")
    await record(db, me, account.id, "-1", der_category="groceries")
    await record(db, me, account.id, "-1", der_category="Bills")
    bare = [await record(db, me, account.id, "-2", date=f"2026-01-0{day}") for day in (1, 2, 3)]

    found = await reports.uncategorized(db, me, limit=2)

    assert [t.id for t in found.transactions] == [bare[2].id, bare[1].id]
    assert found.total == 3
    assert found.more_than_total is False
    assert found.known_der_categories == ["Groceries", "Bills"]
    with pytest.raises(Invalid, match="between 1 and 100"):
        await reports.uncategorized(db, me, limit=0)


async def test_counting_uncategorized_rows_stops_at_the_cap_and_says_there_are_more(
    db: Database, make_principal: MakePrincipal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "COUNT_UP_TO", 2)
    me = await make_principal()
    account = await open_account(db, me)
    await transactions.record_batch(db, me, account.id, [item("-1") for _ in range(5)])

    found = await reports.uncategorized(db, me, limit=1)

    assert (len(found.transactions), found.total, found.more_than_total) == (1, 2, True)


async def test_a_spending_check_compares_the_month_so_far_with_the_limit_and_the_months_before(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    for day, amount in (("2024-02-03", "-150"), ("2024-02-09", "-100"), ("2024-01-20", "-80"), ("2023-11-05", "-40")):
        await record(db, me, account.id, amount, category="Dining", date=day)
    await record(db, me, account.id, "-1000", category="Rent", date="2024-02-01")

    check = await reports.spending_check(db, me, category="dining", limit_amount="200", on=dt.date(2024, 2, 10))

    assert (check.spent, check.remaining, str(check.percent_used), check.over_limit) == (
        Decimal(250), Decimal(-50), "125.00", True,
    )  # fmt: skip
    assert check.projected == Decimal("725.00")  # 250 in 10 days of a 29-day month
    assert [(m.month, m.spending) for m in check.previous_months] == [
        ("2023-11", Decimal(40)), ("2023-12", Decimal(0)), ("2024-01", Decimal(80)),
    ]  # fmt: skip
    with pytest.raises(Invalid, match="more than zero"):
        await reports.spending_check(db, me, category="Dining", limit_amount="0")


async def test_category_trends_refuse_bad_months_and_follow_the_largest_spenders_by_default(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    for index in range(12):
        await record(db, me, account.id, f"-{index + 1}", category=f"C{index:02d}", date="2024-05-05")

    trends = await analytics.category_trends(db, me, months=2, end_month="2024-05")

    assert [c.category for c in trends.categories] == [f"C{index:02d}" for index in range(11, 1, -1)]
    assert trends.omitted_categories == 2
    assert trends.months == ["2024-04", "2024-05"]
    with pytest.raises(Invalid, match="YYYY-MM"):
        await analytics.category_trends(db, me, end_month="2024-5")
    with pytest.raises(Invalid, match="between 1 and 120"):
        await analytics.category_trends(db, me, months=0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_analytics_queries_run_off_the_event_loop_thread(
    db: Database, make_principal: MakePrincipal
) -> None:
    """A long summary must not stall every other call: on SQLite its statements run on a worker thread,
    while the short calls (a listing) stay on the event loop's thread."""
    assert isinstance(db, SqliteDatabase)
    me = await make_principal()
    account = await open_account(db, me, "100")
    # Many groups: SQLite aggregates a GROUP BY partly while its rows are fetched, after the statement ran.
    spent = [item("-1", date="2026-03-02", category=f"Category {n}") for n in range(300)]
    await transactions.record_batch(db, me, account.id, spent)
    threads: dict[str, set[int]] = {"transactions": set(), "analytics": set()}
    phase = "transactions"

    def progress() -> int:
        threads[phase].add(threading.get_ident())
        return 0  # go on

    def watch(dbapi_connection: Any, *_: Any) -> None:
        # SQLite calls this every 20 virtual-machine steps, while a statement runs *and* while rows are
        # fetched: where it is called is where SQLite works (BEGIN and ROLLBACK take fewer steps).
        dbapi_connection.set_progress_handler(progress, 20)

    event.listen(db.engine, "checkout", watch)
    try:
        await transactions.list_transactions(db, me, TransactionFilter(account_id=account.id))
        phase = "analytics"
        summary = await analytics.spending_summary(
            db, me, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), group_by="category"
        )
    finally:
        event.remove(db.engine, "checkout", watch)

    assert summary.totals.spending == Decimal("300.00")
    assert threads["transactions"] == {threading.get_ident()}
    assert threads["analytics"]
    assert threading.get_ident() not in threads["analytics"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_many_analytics_calls_at_once_all_finish_beside_short_calls(
    db: Database, make_principal: MakePrincipal
) -> None:
    """More summaries at once than the connection pool holds: they queue for a worker thread instead of
    exhausting the pool (a pool that waits would block the event loop that has to finish them)."""
    me = await make_principal()
    account = await open_account(db, me, "100")
    await record(db, me, account.id, "-5", date="2026-03-02")
    summaries: list[Decimal] = []
    listed: list[int] = []

    async def summary() -> None:
        found = await analytics.spending_summary(
            db, me, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), group_by="category"
        )
        summaries.append(found.totals.spending)

    async def listing() -> None:
        listed.append((await transactions.list_transactions(db, me, TransactionFilter())).total)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            for _ in range(24):
                group.start_soon(summary)
                group.start_soon(listing)

    assert summaries == [Decimal("5.00")] * 24
    assert listed == [1] * 24
