"""list_transactions: every filter, ordering and cursor pagination, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound
from finance_mcp.domain.principals import Principal
from finance_mcp.schemas.transactions import TransactionFilter, TransactionRead, TransactionUpdate
from finance_mcp.services import transactions
from tests.services.helpers import (
    MakePrincipal,
    all_transactions,
    assert_balances_add_up,
    item,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio


async def ids(db: Database, principal: Principal, **filters: Any) -> set[int]:
    return {t.id for t in await all_transactions(db, principal, **filters)}


async def one_each(db: Database, principal: Principal, field: str, *values: str) -> dict[str, int]:
    """Record one transaction per value of `field`; return their ids by value."""
    account = await open_account(db, principal)
    return {value: (await record(db, principal, account.id, "-1", **{field: value})).id for value in values}


# ---- ordering and paging -----------------------------------------------------------------------


async def test_transactions_are_listed_newest_first_then_by_id(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    made = [await record(db, me, account.id, "-1", date=day) for day in ("2026-01-02", "2026-01-03", "2026-01-02")]
    mid, newest, last_made = made

    listed = await all_transactions(db, me)

    assert [t.id for t in listed] == [newest.id, last_made.id, mid.id]


async def test_pages_follow_each_other_without_overlap_or_gap(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    # Several rows share a date so the cursor has to break ties by id.
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n // 3) for n in range(23)]
    await transactions.record_batch(db, me, account.id, [item("-1", date=day) for day in days])
    expected = await all_transactions(db, me)

    pages: list[list[TransactionRead]] = []
    cursor: str | None = None
    while True:
        page = await transactions.list_transactions(db, me, TransactionFilter(), limit=5, cursor=cursor)
        assert page.total == 23
        pages.append(page.transactions)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [t.id for p in pages for t in p] == [t.id for t in expected]
    assert len({t.id for p in pages for t in p}) == 23


async def test_a_page_that_ends_exactly_at_the_last_row_has_no_next_cursor(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await transactions.record_batch(db, me, account.id, [item("1")] * 4)

    first = await transactions.list_transactions(db, me, TransactionFilter(), limit=2)
    second = await transactions.list_transactions(db, me, TransactionFilter(), limit=2, cursor=first.next_cursor)

    assert first.next_cursor is not None
    assert len(second.transactions) == 2
    assert second.next_cursor is None


async def test_the_cursor_keeps_the_filters_of_the_listing(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await transactions.record_batch(
        db, me, account.id, [item("-1", category="Food" if n % 2 else "Rent") for n in range(10)]
    )
    food = TransactionFilter(category="food")

    first = await transactions.list_transactions(db, me, food, limit=3)
    rest = await transactions.list_transactions(db, me, food, limit=3, cursor=first.next_cursor)

    assert first.total == rest.total == 5
    assert [t.category for t in first.transactions + rest.transactions] == ["Food"] * 5
    assert rest.next_cursor is None


async def test_total_counts_every_match_not_just_the_page(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await transactions.record_batch(db, me, account.id, [item("1")] * 7)

    page = await transactions.list_transactions(db, me, TransactionFilter(), limit=1)

    assert len(page.transactions) == 1
    assert page.total == 7


async def test_an_accounts_total_follows_creates_batches_moves_and_deletes_on_every_page(
    db: Database, make_principal: MakePrincipal
) -> None:
    """An account's own listing reads its total from the counter kept beside the balance: it must match."""
    me = await make_principal()
    here, there = await open_account(db, me, name="Here"), await open_account(db, me, name="There")
    await transactions.record_batch(db, me, here.id, [item("-1", date=f"2026-01-{n + 1:02d}") for n in range(9)])
    single = await record(db, me, here.id, "-2", tags=["Trip"])
    moved = await record(db, me, here.id, "-3")
    await transactions.update_transaction(db, me, moved.id, TransactionUpdate(account_id=there.id))
    await transactions.delete_transaction(db, me, single.id)

    async def totals(account_id: int) -> list[int]:
        seen, cursor = [], None
        while True:
            page = await transactions.list_transactions(
                db, me, TransactionFilter(account_id=account_id), limit=4, cursor=cursor
            )
            seen.append(page.total)
            if (cursor := page.next_cursor) is None:
                return seen

    assert await totals(here.id) == [9, 9, 9]
    assert await totals(there.id) == [1]
    tagged = await transactions.list_transactions(db, me, TransactionFilter(account_id=here.id, tags=["trip"]))
    assert tagged.total == 0  # a further filter counts the matching rows, not the account's
    await assert_balances_add_up(db, me)


async def test_an_empty_page_after_a_cursor_still_reports_the_accounts_total(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await transactions.record_batch(db, me, account.id, [item("1", date=f"2026-01-0{n + 1}") for n in range(3)])
    mine = TransactionFilter(account_id=account.id)
    first = await transactions.list_transactions(db, me, mine, limit=2)
    oldest = (await all_transactions(db, me, account_id=account.id))[-1]
    await transactions.delete_transaction(db, me, oldest.id)  # the only row after the cursor

    after = await transactions.list_transactions(db, me, mine, limit=2, cursor=first.next_cursor)

    assert (after.transactions, after.total, after.next_cursor) == ([], 2, None)


async def test_an_empty_household_lists_nothing(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    page = await transactions.list_transactions(db, me, TransactionFilter())

    assert page.model_dump() == {"transactions": [], "total": 0, "next_cursor": None}


@pytest.mark.parametrize("limit", [501, -1])
async def test_the_page_size_must_be_between_1_and_500(db: Database, make_principal: MakePrincipal, limit: int) -> None:
    me = await make_principal()

    with pytest.raises(Invalid, match=rf"limit must be between 1 and 500 \(or 0 for the count alone\), got {limit}"):
        await transactions.list_transactions(db, me, TransactionFilter(), limit=limit)


async def test_the_largest_page_is_500(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await transactions.record_batch(db, me, account.id, [item("1")] * 501)

    page = await transactions.list_transactions(db, me, TransactionFilter(), limit=500)

    assert len(page.transactions) == 500
    assert page.next_cursor is not None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%",
        _b64("2026-13-01|5"),
        _b64("2026-01-01|five"),
        _b64("2026-01-01"),
        _b64(f"2026-01-01|{2**63}"),
        _b64(f"2026-01-01|{10**40}"),
        base64.urlsafe_b64encode(b"\xff\xfe|1").decode(),
    ],
)
async def test_a_bad_cursor_is_invalid(db: Database, make_principal: MakePrincipal, cursor: str) -> None:
    me = await make_principal()

    with pytest.raises(Invalid, match=r"cursor is not valid.*next_cursor"):
        await transactions.list_transactions(db, me, TransactionFilter(), cursor=cursor)


# ---- filters -------------------------------------------------------------------------------------


async def test_account_filter_lists_only_that_account(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    first = await open_account(db, me, name="First")
    second = await open_account(db, me, name="Second")
    mine = await record(db, me, first.id, "-1")
    await record(db, me, second.id, "-2")

    assert await ids(db, me, account_id=first.id) == {mine.id}


async def test_an_account_without_transactions_lists_empty(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    empty = await open_account(db, me, name="Empty")
    other = await open_account(db, me, name="Other")
    await record(db, me, other.id, "-1")

    page = await transactions.list_transactions(db, me, TransactionFilter(account_id=empty.id))

    assert (page.transactions, page.total) == ([], 0)


async def test_a_filter_on_a_missing_account_is_not_found(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    with pytest.raises(NotFound, match="Account 999999999 was not found"):
        await transactions.list_transactions(db, me, TransactionFilter(account_id=999_999_999))


async def test_date_filters_include_both_ends(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    by_day = await one_each(db, me, "date", "2026-01-31", "2026-02-01", "2026-02-15", "2026-02-28", "2026-03-01")

    assert await ids(db, me, start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 2, 28)) == {
        by_day["2026-02-01"],
        by_day["2026-02-15"],
        by_day["2026-02-28"],
    }
    assert await ids(db, me, start_date=dt.date(2026, 2, 28)) == {by_day["2026-02-28"], by_day["2026-03-01"]}
    assert await ids(db, me, end_date=dt.date(2026, 1, 31)) == {by_day["2026-01-31"]}
    assert await ids(db, me, start_date=dt.date(2026, 2, 15), end_date=dt.date(2026, 2, 15)) == {by_day["2026-02-15"]}


async def test_an_end_date_before_the_start_date_is_invalid(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    with pytest.raises(Invalid, match="start_date 2026-02-01 is after end_date 2026-01-31"):
        await transactions.list_transactions(
            db, me, TransactionFilter(start_date=dt.date(2026, 2, 1), end_date=dt.date(2026, 1, 31))
        )


async def test_category_matches_exactly_in_any_case(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    by_category = await one_each(db, me, "category", "Food", "Foods", "Fast Food", "food")

    assert await ids(db, me, category="FOOD") == {by_category["Food"], by_category["food"]}
    assert await ids(db, me, category="foo") == set()


@pytest.mark.parametrize("field", ["category", "der_category"])
@pytest.mark.parametrize(("stored", "asked"), [("Café", "CAFÉ"), ("CAFÉ", "café"), ("Ærø Straße", "ærø STRASSE")])
async def test_category_filters_fold_non_ascii_case(
    db: Database, make_principal: MakePrincipal, field: str, stored: str, asked: str
) -> None:
    me = await make_principal()
    by_value = await one_each(db, me, field, stored, "Cafe")
    expected = {by_value[stored]} if stored.lower() == asked.lower() else set()

    assert await ids(db, me, **{field: asked}) == expected
    assert await ids(db, me, **{field: asked.lower()}) == expected


async def test_category_filter_does_not_fold_accents(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    await one_each(db, me, "category", "Café")

    assert await ids(db, me, category="CAFE") == set()


async def test_der_category_matches_exactly_in_any_case(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    by_value = await one_each(db, me, "der_category", "Groceries", "Groceries & More")

    assert await ids(db, me, der_category="groceries") == {by_value["Groceries"]}


@pytest.mark.parametrize("field", ["merchant", "der_merchant"])
async def test_merchant_filters_match_a_substring_in_any_case(
    db: Database, make_principal: MakePrincipal, field: str
) -> None:
    me = await make_principal()
    by_value = await one_each(db, me, field, "Whole Foods Market", "WHOLEFOODS", "Trader Joe's", "CAFÉ NOIR")

    assert await ids(db, me, **{field: "foods"}) == {by_value["Whole Foods Market"], by_value["WHOLEFOODS"]}
    assert await ids(db, me, **{field: "JOE'S"}) == {by_value["Trader Joe's"]}
    assert await ids(db, me, **{field: "café"}) == {by_value["CAFÉ NOIR"]}
    assert await ids(db, me, **{field: "market place"}) == set()


@pytest.mark.parametrize("field", ["merchant", "der_merchant", "search"])
async def test_percent_underscore_and_backslash_are_literal_in_text_filters(
    db: Database, make_principal: MakePrincipal, field: str
) -> None:
    me = await make_principal()
    stored_in = "description" if field == "search" else field
    by_value = await one_each(db, me, stored_in, "100% Pure", "1000 Pure", "A_B", "AxB", "C\\D", "C\\\\D", "CD")

    assert await ids(db, me, **{field: "%"}) == {by_value["100% Pure"]}
    assert await ids(db, me, **{field: "0%"}) == {by_value["100% Pure"]}
    assert await ids(db, me, **{field: "a_b"}) == {by_value["A_B"]}
    assert await ids(db, me, **{field: "_"}) == {by_value["A_B"]}
    assert await ids(db, me, **{field: "c\\d"}) == {by_value["C\\D"]}
    assert await ids(db, me, **{field: "\\"}) == {by_value["C\\D"], by_value["C\\\\D"]}


@pytest.mark.parametrize("field", ["description", "merchant", "category", "location", "der_category", "der_merchant"])
async def test_search_looks_in_every_text_field(db: Database, make_principal: MakePrincipal, field: str) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    hit = await record(db, me, account.id, "-1", **{field: "The Needle Shop"})
    await record(db, me, account.id, "-1", description="haystack", merchant="hay", location="barn")

    assert await ids(db, me, search="nEEDLE") == {hit.id}


async def test_search_does_not_look_in_tags(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await record(db, me, account.id, "-1", tags=["needle"])

    assert await ids(db, me, search="needle") == set()


async def test_tags_match_any_of_the_given_tags_in_any_case(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    trip = await record(db, me, account.id, "-1", tags=["Trip", "Food"])
    food = await record(db, me, account.id, "-1", tags=["food"])
    work = await record(db, me, account.id, "-1", tags=["work"])
    await record(db, me, account.id, "-1")

    assert await ids(db, me, tags=["FOOD"]) == {trip.id, food.id}
    assert await ids(db, me, tags=["trip", "WORK"]) == {trip.id, work.id}
    assert await ids(db, me, tags=["food", "trip"]) == {trip.id, food.id}
    page = await transactions.list_transactions(db, me, TransactionFilter(tags=["food", "trip"]))
    assert page.total == 2


async def test_tags_never_match_a_part_of_a_tag(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await record(db, me, account.id, "-1", tags=["food", "seafood", "foo bar"])

    for part in ("foo", "Fo", "ood", "%", "_ood", "f%", "seafoo", "bar"):
        assert await ids(db, me, tags=[part]) == set(), part


async def test_tags_fold_non_ascii_case(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    summer = await record(db, me, account.id, "-1", tags=["Été"])
    await record(db, me, account.id, "-1", tags=["Ete"])

    assert await ids(db, me, tags=["ÉTÉ"]) == {summer.id}
    assert await ids(db, me, tags=[" été "]) == {summer.id}


async def test_an_empty_tag_list_does_not_filter(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    plain = await record(db, me, account.id, "-1")

    assert await ids(db, me, tags=[]) == {plain.id}


async def test_amount_filters_are_inclusive_and_signed(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    by_amount = {a: (await record(db, me, account.id, a)).id for a in ("-100.00", "-50.01", "-50.00", "0.00", "20.5")}

    assert await ids(db, me, max_amount=Decimal("-50")) == {
        by_amount["-100.00"],
        by_amount["-50.01"],
        by_amount["-50.00"],
    }
    assert await ids(db, me, min_amount=Decimal("-50.00")) == {
        by_amount["-50.00"],
        by_amount["0.00"],
        by_amount["20.5"],
    }
    assert await ids(db, me, min_amount=Decimal("-50.01"), max_amount=Decimal("-50.01")) == {by_amount["-50.01"]}
    assert await ids(db, me, min_amount=Decimal("20.51")) == set()


async def test_a_minimum_above_the_maximum_is_invalid(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    with pytest.raises(Invalid, match="min_amount 10 is greater than max_amount 5"):
        await transactions.list_transactions(
            db, me, TransactionFilter(min_amount=Decimal("10"), max_amount=Decimal("5"))
        )


async def test_filters_combine_with_and(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    checking = await open_account(db, me, name="Checking")
    card = await open_account(db, me, name="Card")
    wanted = await record(db, me, card.id, "-30", category="Food", merchant="Deli", tags=["lunch"], date="2026-05-05")
    await record(db, me, checking.id, "-30", category="Food", merchant="Deli", tags=["lunch"], date="2026-05-05")
    await record(db, me, card.id, "-30", category="Rent", merchant="Deli", tags=["lunch"], date="2026-05-05")
    await record(db, me, card.id, "-30", category="Food", merchant="Cafe", tags=["lunch"], date="2026-05-05")
    await record(db, me, card.id, "-30", category="Food", merchant="Deli", tags=["dinner"], date="2026-05-05")
    await record(db, me, card.id, "-300", category="Food", merchant="Deli", tags=["lunch"], date="2026-05-05")
    await record(db, me, card.id, "-30", category="Food", merchant="Deli", tags=["lunch"], date="2026-06-05")

    found = await ids(
        db,
        me,
        account_id=card.id,
        category="food",
        merchant="del",
        tags=["LUNCH"],
        min_amount=Decimal("-100"),
        end_date=dt.date(2026, 5, 31),
        search="deli",
    )

    assert found == {wanted.id}


@pytest.mark.parametrize("by_account", [True, False])
async def test_limit_0_answers_the_count_alone(db: Database, make_principal: MakePrincipal, by_account: bool) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await transactions.record_batch(db, me, account.id, [item("1")] * 7)
    filters = TransactionFilter(account_id=account.id) if by_account else TransactionFilter(min_amount=Decimal("0.5"))

    counted = await transactions.list_transactions(db, me, filters, limit=0)

    assert counted.model_dump() == {"transactions": [], "total": 7, "next_cursor": None}
