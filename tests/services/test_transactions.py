"""Transactions through the service layer and the balance invariant, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy.exc
from pydantic import ValidationError

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound
from finance_mcp.schemas.transactions import TransactionFields, TransactionFilter, TransactionUpdate
from finance_mcp.services import accounts, transactions
from tests.services.helpers import (
    DAY,
    MakePrincipal,
    all_transactions,
    assert_balances_add_up,
    balance_of,
    household_state,
    item,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio


# ---- the upstream balance scenarios -----------------------------------------------------------


async def test_an_expense_lowers_the_balance(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")

    created = await transactions.record_transaction(db, me, account.id, item("-50"))

    assert created.account_balance == Decimal("950.00")
    assert created.model_dump(mode="json")["account_balance"] == "950.00"
    assert await balance_of(db, me, account.id) == Decimal("950.00")


async def test_income_and_expenses_add_up_in_sequence(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")

    balances = [
        (await transactions.record_transaction(db, me, account.id, item(amount))).account_balance
        for amount in ("500", "-100", "-50", "200")
    ]

    assert balances == [Decimal("1500.00"), Decimal("1400.00"), Decimal("1350.00"), Decimal("1550.00")]
    assert await balance_of(db, me, account.id) == Decimal("1550.00")


async def test_a_batch_moves_the_balance_by_its_sum(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")

    batch = await transactions.record_batch(db, me, account.id, [item("-50"), item("-30"), item("100")])

    assert batch.account_balance == Decimal("1020.00")
    assert batch.total_amount == Decimal("20.00")
    assert batch.count == 3
    assert await balance_of(db, me, account.id) == Decimal("1020.00")


async def test_changing_an_amount_moves_the_balance_by_the_difference(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    expense = await record(db, me, account.id, "-50")

    updated = await transactions.update_transaction(db, me, expense.id, TransactionUpdate(amount=Decimal("-100")))

    assert updated.account_balances == {str(account.id): Decimal("900.00")}
    assert updated.transaction.amount == Decimal("-100.00")
    assert await balance_of(db, me, account.id) == Decimal("900.00")


async def test_deleting_a_transaction_restores_the_balance(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    expense = await record(db, me, account.id, "-50")

    deleted = await transactions.delete_transaction(db, me, expense.id)

    assert deleted.model_dump() == {
        "deleted": True,
        "transaction_id": expense.id,
        "account_balance": "1000.00",
        "account_balances": {str(account.id): "1000.00"},
        "deleted_transaction_ids": [expense.id],
    }
    assert await balance_of(db, me, account.id) == Decimal("1000.00")


async def test_a_month_of_checking_activity_adds_up(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    checking = await open_account(db, me, "5000")

    for amount, category in (("-1500", "Rent"), ("-250", "Groceries"), ("3000", "Salary"), ("-500", "Utilities")):
        await record(db, me, checking.id, amount, category=category)

    assert await balance_of(db, me, checking.id) == Decimal("5750.00")
    await assert_balances_add_up(db, me)


# ---- create --------------------------------------------------------------------------------------


async def test_a_recorded_transaction_keeps_every_field(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)

    created = await record(
        db,
        me,
        account.id,
        "-12.5",
        date="2026-03-04",
        category="  Coffee ",
        description=" Flat white ",
        merchant="Blue Bottle",
        location="Oakland",
        tags=["Morning", " treat ", "morning"],
        der_category="Food & Drink",
        der_merchant="BLUE BOTTLE COFFEE",
    )

    assert created.model_dump(mode="json", exclude={"id", "created_at", "updated_at"}) == {
        "account_id": account.id,
        "amount": "-12.50",
        "date": "2026-03-04",
        "category": "Coffee",
        "description": "Flat white",
        "merchant": "Blue Bottle",
        "location": "Oakland",
        "tags": ["Morning", "treat"],
        "der_category": "Food & Drink",
        "der_merchant": "BLUE BOTTLE COFFEE",
        "transfer_id": None,
        "splits": [],
    }
    assert created.created_at.tzinfo == dt.UTC
    assert await transactions.get_transaction(db, me, created.id) == created


async def test_optional_fields_left_out_or_blank_are_empty(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)

    created = await record(db, me, account.id, "1", description="   ", merchant="")

    assert (created.description, created.merchant, created.location) == (None, None, None)
    assert (created.der_category, created.der_merchant, created.tags) == (None, None, [])


async def test_get_transaction_of_a_missing_id_is_not_found(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    with pytest.raises(NotFound, match=r"Transaction 987654321 was not found.*list_transactions"):
        await transactions.get_transaction(db, me, 987_654_321)
    with pytest.raises(NotFound):
        await transactions.get_transaction(db, me, 2**63)


# ---- batches -------------------------------------------------------------------------------------


async def test_a_batch_stores_every_item_in_input_order(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "0")
    items = [item(f"-{n}.01", date=DAY + dt.timedelta(days=n % 3), merchant=f"shop {n}") for n in range(1, 8)]

    batch = await transactions.record_batch(db, me, account.id, items)

    assert [t.merchant for t in batch.transactions] == [f"shop {n}" for n in range(1, 8)]
    assert [t.amount for t in batch.transactions] == [Decimal(f"-{n}.01") for n in range(1, 8)]
    assert all(t.account_id == account.id for t in batch.transactions)
    assert batch.model_dump(mode="json")["total_amount"] == "-28.07"
    assert batch.account_balance == Decimal("-28.07")
    assert sorted(t.id for t in await all_transactions(db, me)) == sorted(t.id for t in batch.transactions)


async def test_a_batch_of_a_thousand_is_accepted(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "0")

    batch = await transactions.record_batch(db, me, account.id, [item("0.01", tags=["bulk"])] * 1000)

    assert batch.count == 1000
    assert batch.account_balance == Decimal("10.00")
    page = await transactions.list_transactions(db, me, TransactionFilter(tags=["BULK"]), limit=1)
    assert page.total == 1000


@pytest.mark.parametrize("size", [0, 1001])
async def test_a_batch_must_hold_one_to_a_thousand_items(
    db: Database, make_principal: MakePrincipal, size: int
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "10")
    before = await household_state(db, me)

    with pytest.raises(Invalid, match=f"1 to 1000 transactions, got {size}"):
        await transactions.record_batch(db, me, account.id, [item("1")] * size)

    assert await household_state(db, me) == before


async def test_a_batch_whose_insert_fails_changes_nothing(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1000")
    await record(db, me, account.id, "-1", tags=["before"])
    before = await household_state(db, me)
    # Two tags that are one tag case-insensitively: validation would merge them, so bypass it to make
    # the database refuse the last item's tag rows after the balance and the rows are already written.
    broken = TransactionFields.model_construct(**{**item("-3").model_dump(), "tags": ["Dup", "dup"]})

    with pytest.raises(sqlalchemy.exc.IntegrityError):
        await transactions.record_batch(db, me, account.id, [item("-1"), item("-2"), broken])

    assert await household_state(db, me) == before
    assert await balance_of(db, me, account.id) == Decimal("999.00")


async def test_a_batch_that_would_overflow_the_balance_changes_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "9999999999000")
    before = await household_state(db, me)

    with pytest.raises(Invalid, match=rf"account {account.id}'s balance.*nothing was changed"):
        await transactions.record_batch(db, me, account.id, [item("500"), item("-100"), item("600")])

    assert await household_state(db, me) == before


async def test_a_batch_in_which_every_item_is_huge_changes_nothing(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    before = await household_state(db, me)

    with pytest.raises(Invalid, match="beyond the supported size"):
        await transactions.record_batch(db, me, account.id, [item("9999999999999.99")] * 1000)

    assert await household_state(db, me) == before


async def test_a_batch_whose_sum_is_beyond_a_balance_but_whose_result_is_not_is_recorded(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "-9000000000000")

    made = await transactions.record_batch(db, me, account.id, [item("9000000000000"), item("9000000000000")])

    assert made.total_amount == Decimal("18000000000000.00")  # more than a balance can hold
    assert made.account_balance == Decimal("9000000000000.00")  # the balance it leaves can
    await assert_balances_add_up(db, me)


# ---- update --------------------------------------------------------------------------------------


async def test_moving_a_transaction_changes_both_balances(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    checking = await open_account(db, me, "1000", name="Checking")
    savings = await open_account(db, me, "200", name="Savings", account_type="savings")
    expense = await record(db, me, checking.id, "-100")

    moved = await transactions.update_transaction(db, me, expense.id, TransactionUpdate(account_id=savings.id))

    assert moved.account_balances == {str(checking.id): Decimal("1000.00"), str(savings.id): Decimal("100.00")}
    assert moved.transaction.account_id == savings.id
    assert await all_transactions(db, me, account_id=checking.id) == []
    assert [t.id for t in await all_transactions(db, me, account_id=savings.id)] == [expense.id]
    await assert_balances_add_up(db, me)


async def test_moving_and_changing_the_amount_at_once_keeps_both_balances_right(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    first = await open_account(db, me, "1000", name="First")
    second = await open_account(db, me, "0", name="Second")
    expense = await record(db, me, second.id, "-40")

    moved = await transactions.update_transaction(
        db, me, expense.id, TransactionUpdate(account_id=first.id, amount=Decimal("-75.25"))
    )

    assert moved.account_balances == {str(first.id): Decimal("924.75"), str(second.id): Decimal("0.00")}
    await assert_balances_add_up(db, me)


async def test_changing_the_date_moves_the_transaction_in_the_listing(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    older = await record(db, me, account.id, "-1", date="2026-01-01")
    newer = await record(db, me, account.id, "-2", date="2026-01-10")

    updated = await transactions.update_transaction(db, me, older.id, TransactionUpdate(date=dt.date(2026, 2, 1)))

    assert updated.transaction.date == dt.date(2026, 2, 1)
    assert updated.account_balances == {str(account.id): Decimal("-3.00")}
    assert [t.id for t in await all_transactions(db, me)] == [older.id, newer.id]
    assert [t.id for t in await all_transactions(db, me, start_date=dt.date(2026, 2, 1))] == [older.id]


async def test_null_fields_leave_a_transaction_unchanged(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "10")
    original = await record(
        db, me, account.id, "-5", description="d", merchant="m", location="l", tags=["t"], der_category="dc"
    )

    updated = await transactions.update_transaction(
        db,
        me,
        original.id,
        TransactionUpdate(category="Dining", description=None, merchant=None, tags=None, amount=None, date=None),
    )

    assert updated.transaction.model_dump(exclude={"category", "updated_at"}) == original.model_dump(
        exclude={"category", "updated_at"}
    )
    assert updated.transaction.category == "Dining"
    assert updated.account_balances == {str(account.id): Decimal("5.00")}


async def test_clear_fields_empties_the_optional_fields(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    original = await record(
        db,
        me,
        account.id,
        "-5",
        description="d",
        merchant="m",
        location="l",
        tags=["cleared"],
        der_category="dc",
        der_merchant="dm",
    )

    updated = await transactions.update_transaction(
        db,
        me,
        original.id,
        TransactionUpdate(clear_fields=["description", "merchant", "location", "tags", "der_category", "der_merchant"]),
    )

    cleared = updated.transaction
    assert (cleared.description, cleared.merchant, cleared.location) == (None, None, None)
    assert (cleared.tags, cleared.der_category, cleared.der_merchant) == ([], None, None)
    assert (cleared.amount, cleared.category, cleared.date) == (original.amount, original.category, original.date)
    assert await transactions.get_transaction(db, me, original.id) == cleared
    assert await all_transactions(db, me, tags=["cleared"]) == []


async def test_new_tags_replace_the_old_ones_in_filters(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    tagged = await record(db, me, account.id, "-5", tags=["old", "kept"])

    await transactions.update_transaction(db, me, tagged.id, TransactionUpdate(tags=["New", "kept"]))

    assert await all_transactions(db, me, tags=["old"]) == []
    assert [t.tags for t in await all_transactions(db, me, tags=["new"])] == [["New", "kept"]]
    assert [t.id for t in await all_transactions(db, me, tags=["KEPT"])] == [tagged.id]


async def test_an_update_that_changes_nothing_is_invalid(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    existing = await record(db, me, account.id, "-5")
    before = await household_state(db, me)

    with pytest.raises(Invalid, match=r"Nothing to change.*clear_fields"):
        await transactions.update_transaction(db, me, existing.id, TransactionUpdate())

    assert await household_state(db, me) == before


def test_a_field_cannot_be_both_set_and_cleared() -> None:
    with pytest.raises(ValidationError, match="merchant is both given a value and listed in clear_fields"):
        TransactionUpdate(merchant="Shop", clear_fields=["merchant"])


def test_only_optional_fields_can_be_cleared() -> None:
    with pytest.raises(ValidationError) as error:
        TransactionUpdate.model_validate({"clear_fields": ["category"]})

    assert error.value.errors()[0]["loc"] == ("clear_fields", 0)


async def test_an_update_that_would_overflow_the_balance_changes_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "9999999999000")
    small = await record(db, me, account.id, "1")
    before = await household_state(db, me)

    with pytest.raises(Invalid, match="beyond the supported size"):
        await transactions.update_transaction(db, me, small.id, TransactionUpdate(amount=Decimal("1000")))

    assert await household_state(db, me) == before


async def test_moving_a_transaction_to_a_missing_account_changes_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "50")
    expense = await record(db, me, account.id, "-5")
    before = await household_state(db, me)

    with pytest.raises(NotFound, match="Account 999999999 was not found"):
        await transactions.update_transaction(db, me, expense.id, TransactionUpdate(account_id=999_999_999))

    assert await household_state(db, me) == before


async def test_updating_a_missing_transaction_is_not_found(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    with pytest.raises(NotFound, match="Transaction 987654321 was not found"):
        await transactions.update_transaction(db, me, 987_654_321, TransactionUpdate(category="x"))


# ---- delete --------------------------------------------------------------------------------------


async def test_a_deleted_transaction_is_gone(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "10")
    kept = await record(db, me, account.id, "-1", tags=["x"])
    gone = await record(db, me, account.id, "-2", tags=["x"])

    await transactions.delete_transaction(db, me, gone.id)

    with pytest.raises(NotFound):
        await transactions.get_transaction(db, me, gone.id)
    with pytest.raises(NotFound, match=f"Transaction {gone.id} was not found"):
        await transactions.delete_transaction(db, me, gone.id)
    assert await all_transactions(db, me, tags=["x"]) == [kept]
    assert await balance_of(db, me, account.id) == Decimal("9.00")


async def test_every_change_keeps_balance_equal_to_opening_plus_transactions(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    a = await open_account(db, me, "100.10", name="A")
    b = await open_account(db, me, "-20.20", name="B", account_type="credit_card")
    first = await record(db, me, a.id, "-1.11")
    second = await record(db, me, b.id, "2.22")
    await transactions.record_batch(db, me, a.id, [item("3.33"), item("-4.44")])
    await transactions.update_transaction(db, me, first.id, TransactionUpdate(account_id=b.id, amount=Decimal("5")))
    await transactions.update_transaction(db, me, second.id, TransactionUpdate(account_id=a.id))
    await transactions.delete_transaction(db, me, first.id)

    await assert_balances_add_up(db, me)
    assert await balance_of(db, me, a.id) == Decimal("101.21")
    assert await balance_of(db, me, b.id) == Decimal("-20.20")
    assert (await accounts.get_account(db, me, b.id)).opening_balance == Decimal("-20.20")
