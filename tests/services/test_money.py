"""Money is exact: parsing and bounds, and every cent kept near the limit on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.money import LIMIT, check_balance, format_amount, to_amount
from finance_mcp.schemas.common import MONEY_PATTERN
from finance_mcp.schemas.transactions import TransactionFields, TransactionUpdate
from finance_mcp.services import transactions
from tests.services.helpers import (
    MakePrincipal,
    all_transactions,
    balance_of,
    household_state,
    item,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio

LARGEST = "9999999999999.99"


# ---- money.to_amount, format_amount, check_balance ---------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("-12.5", "-12.50"),
        (" 12.50 ", "12.50"),
        (7, "7.00"),
        (Decimal("0.1"), "0.10"),
        ("1.000", "1.00"),
        ("1e2", "100.00"),
        (LARGEST, LARGEST),
        ("-" + LARGEST, "-" + LARGEST),
    ],
)
def test_to_amount_returns_an_exact_two_place_decimal(given: Decimal | int | str, expected: str) -> None:
    amount = to_amount(given)

    assert amount == Decimal(expected)
    assert format_amount(amount) == expected
    assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        (Decimal("sNaN"), "finite"),
        ("1.005", "more than 2 decimal places"),
        ("0.001", "more than 2 decimal places"),
        ("10000000000000", "too large"),
        ("-10000000000000", "too large"),
        ("1e13", "too large"),
        ("twelve", "is not a number"),
        ("", "is not a number"),
        ("1,000.00", "is not a number"),
    ],
)
def test_to_amount_refuses_what_is_not_an_exact_amount(given: Decimal | str, problem: str) -> None:
    with pytest.raises(Invalid, match=rf"^opening_balance .*{problem}"):
        to_amount(given, field="opening_balance")


def test_to_amount_refuses_a_binary_float() -> None:
    with pytest.raises(Invalid, match=r"amount must be a decimal string.*not a binary float"):
        to_amount(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(Decimal("-50"), "-50.00"), (Decimal("1E+3"), "1000.00"), (Decimal("0.5"), "0.50"), (Decimal(LARGEST), LARGEST)],
)
def test_format_amount_writes_two_decimals_without_exponent(amount: Decimal, text: str) -> None:
    assert format_amount(amount) == text


def test_check_balance_refuses_a_balance_at_the_limit() -> None:
    assert check_balance(LIMIT - Decimal("0.01"), account_id=3) == Decimal(LARGEST)
    with pytest.raises(Invalid, match=r"account 3's balance to -10000000000000.00.*nothing was changed"):
        check_balance(-LIMIT, account_id=3)


@settings(database=None)
@given(cents=st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_every_amount_in_range_round_trips_through_its_text(cents: int) -> None:
    amount = Decimal(cents) / 100

    text = format_amount(to_amount(amount))

    assert to_amount(text) == amount
    assert re.fullmatch(MONEY_PATTERN, text)


# ---- JSON numbers and strings as inputs ----------------------------------------------------------


@pytest.mark.parametrize("given", [-12.5, "-12.5", "-12.50", Decimal("-12.50"), " -12.50 "])
def test_an_amount_may_be_a_json_number_or_a_string(given: object) -> None:
    fields = TransactionFields.model_validate({"amount": given, "date": "2026-01-01", "category": "x"})

    assert fields.amount == Decimal("-12.50")


# ---- near the limit, on both databases ---------------------------------------------------------


async def test_the_largest_balance_keeps_every_cent(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "9999999999999.98")

    created = await transactions.record_transaction(db, me, account.id, item("0.01"))

    assert created.account_balance == Decimal(LARGEST)
    assert await balance_of(db, me, account.id) == Decimal(LARGEST)
    assert (await transactions.get_transaction(db, me, created.transaction.id)).amount == Decimal("0.01")


async def test_hundred_billion_balances_keep_every_cent(db: Database, make_principal: MakePrincipal) -> None:
    # A binary float loses cents here; both the opening balance and the sum must stay exact.
    me = await make_principal()
    account = await open_account(db, me, "99999999999.99")

    await record(db, me, account.id, "0.01")
    await record(db, me, account.id, "-0.03")
    await record(db, me, account.id, "12345678901.23")

    assert await balance_of(db, me, account.id) == Decimal("112345678901.20")


async def test_the_largest_amounts_are_stored_exactly(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "0")

    await transactions.record_batch(db, me, account.id, [item(LARGEST), item("-" + LARGEST), item("-9999999999999.98")])

    amounts = sorted(t.amount for t in await all_transactions(db, me))
    assert [format_amount(a) for a in amounts] == ["-" + LARGEST, "-9999999999999.98", LARGEST]
    assert await balance_of(db, me, account.id) == Decimal("-9999999999999.98")


@pytest.mark.parametrize(
    ("opening", "amount"), [(LARGEST, "0.01"), ("-" + LARGEST, "-0.01"), ("5000000000000", "5000000000000")]
)
async def test_a_balance_beyond_the_limit_is_refused_and_changes_nothing(
    db: Database, make_principal: MakePrincipal, opening: str, amount: str
) -> None:
    me = await make_principal()
    account = await open_account(db, me, opening)
    before = await household_state(db, me)

    with pytest.raises(
        Invalid, match=rf"account {account.id}'s balance.*beyond the supported size.*nothing was changed"
    ):
        await transactions.record_transaction(db, me, account.id, item(amount))

    assert await household_state(db, me) == before


async def test_moving_a_transaction_into_a_full_account_is_refused_and_changes_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    full = await open_account(db, me, LARGEST, name="Full")
    other = await open_account(db, me, "0", name="Other")
    income = await record(db, me, other.id, "1")
    before = await household_state(db, me)

    with pytest.raises(Invalid, match=f"account {full.id}'s balance"):
        await transactions.update_transaction(db, me, income.id, TransactionUpdate(account_id=full.id))

    assert await household_state(db, me) == before


async def test_deleting_an_expense_from_a_full_account_is_refused_and_changes_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, LARGEST)
    expense = await record(db, me, account.id, "-5")
    await record(db, me, account.id, "5")
    before = await household_state(db, me)

    with pytest.raises(Invalid, match="beyond the supported size"):
        await transactions.delete_transaction(db, me, expense.id)

    assert await household_state(db, me) == before
    assert await balance_of(db, me, account.id) == Decimal(LARGEST)
