"""Bad inputs are refused with an error that names the field, and change nothing.

Input models are pydantic: shape and bounds fail when the model is built (`ValidationError`, what the
tools turn into an error result); rules that need more than one field or the database fail in the
service (`Invalid`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid
from finance_mcp.schemas.accounts import AccountUpdate
from finance_mcp.schemas.transactions import TransactionFields, TransactionFilter, TransactionUpdate
from finance_mcp.services import accounts, transactions
from tests.services.helpers import MakePrincipal, household_state, item, open_account, record

pytestmark = pytest.mark.anyio

VALID = {"amount": "-1", "date": "2026-01-01", "category": "Food"}

BAD_FIELDS = [
    pytest.param({"amount": "NaN"}, "amount", "finite", id="nan"),
    pytest.param({"amount": float("nan")}, "amount", "finite", id="nan-number"),
    pytest.param({"amount": "Infinity"}, "amount", "finite", id="infinity"),
    pytest.param({"amount": "-inf"}, "amount", "finite", id="minus-infinity"),
    pytest.param({"amount": "1.005"}, "amount", "2 decimal places", id="three-decimals"),
    pytest.param({"amount": 0.001}, "amount", "2 decimal places", id="three-decimals-number"),
    pytest.param({"amount": "10000000000000"}, "amount", "13 digits", id="ten-to-the-13"),
    pytest.param({"amount": -(10**13)}, "amount", "13 digits", id="minus-ten-to-the-13"),
    pytest.param({"amount": "12 dollars"}, "amount", "decimal", id="not-a-number"),
    pytest.param({"amount": None}, "amount", "Decimal input", id="no-amount"),
    pytest.param({"category": ""}, "category", "at least 1 character", id="empty-category"),
    pytest.param({"category": "   "}, "category", "at least 1 character", id="blank-category"),
    pytest.param({"category": "c" * 101}, "category", "at most 100 characters", id="category-101"),
    pytest.param({"description": "d" * 1001}, "description", "at most 1000 characters", id="description-1001"),
    pytest.param({"merchant": "m" * 256}, "merchant", "at most 255 characters", id="merchant-256"),
    pytest.param({"location": "l" * 256}, "location", "at most 255 characters", id="location-256"),
    pytest.param({"der_category": "c" * 101}, "der_category", "at most 100 characters", id="der-category-101"),
    pytest.param({"der_merchant": "m" * 256}, "der_merchant", "at most 255 characters", id="der-merchant-256"),
    pytest.param({"tags": ["ok", "  "]}, "tags", "at least 1 character", id="blank-tag"),
    pytest.param({"tags": ["t" * 101]}, "tags", "at most 100 characters", id="tag-101"),
    pytest.param({"tags": ["İ" * 100]}, "tags", "longer than 100 characters once lower-cased", id="tag-lower-201"),
    pytest.param({"tags": [f"t{n}" for n in range(51)]}, "tags", "at most 50 items", id="51-tags"),
    pytest.param({"tags": "food"}, "tags", "list", id="tags-not-a-list"),
    pytest.param({"date": "2026-02-30"}, "date", "date", id="impossible-date"),
    pytest.param({"date": "01/02/2026"}, "date", "date", id="non-iso-date"),
    pytest.param({"account_id": 3}, "account_id", "Extra inputs", id="unknown-field"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_FIELDS)
def test_bad_transaction_fields_are_refused_naming_the_field(change: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        TransactionFields.model_validate({**VALID, **change})

    problems = error.value.errors()
    assert {p["loc"][0] for p in problems} == {field}
    assert any(message in p["msg"] for p in problems), problems
    assert field in str(error.value)


# In an update, a null amount means "unchanged" and account_id is a field, so those two are not errors there.
BAD_UPDATES = [p for p in BAD_FIELDS if p.id not in ("unknown-field", "no-amount")]


@pytest.mark.parametrize(("change", "field", "message"), BAD_UPDATES)
def test_bad_updates_are_refused_naming_the_field(change: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        TransactionUpdate.model_validate(change)

    problems = error.value.errors()
    assert {p["loc"][0] for p in problems} == {field}
    assert any(message in p["msg"] for p in problems), problems


@pytest.mark.parametrize("field", ["min_amount", "max_amount"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "0.001", "1e13"])
def test_bad_amount_filters_are_refused_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as error:
        TransactionFilter.model_validate({field: value})

    assert error.value.errors()[0]["loc"] == (field,)


def test_an_invalid_batch_item_is_named_by_its_position() -> None:
    raw = [VALID, VALID, {**VALID, "amount": "1.001"}]

    with pytest.raises(ValidationError) as error:
        TypeAdapter(list[TransactionFields]).validate_python(raw)

    assert [p["loc"] for p in error.value.errors()] == [(2, "amount")]


async def test_service_level_refusals_name_what_is_wrong_and_change_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "10")
    existing = await record(db, me, account.id, "-1")
    before = await household_state(db, me)
    backwards = TransactionFilter(start_date=dt.date(2026, 1, 8), end_date=dt.date(2026, 1, 1))

    refusals: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("start_date", lambda: transactions.list_transactions(db, me, backwards)),
        ("limit", lambda: transactions.list_transactions(db, me, TransactionFilter(), limit=-1)),
        ("limit", lambda: transactions.list_transactions(db, me, TransactionFilter(), limit=501)),
        ("cursor", lambda: transactions.list_transactions(db, me, TransactionFilter(), cursor="bad")),
        ("batch", lambda: transactions.record_batch(db, me, account.id, [])),
        ("batch", lambda: transactions.record_batch(db, me, account.id, [item("1")] * 1001)),
        ("clear_fields", lambda: transactions.update_transaction(db, me, existing.id, TransactionUpdate())),
        ("name or account_type", lambda: accounts.update_account(db, me, account.id, AccountUpdate())),
        (
            "min_amount",
            lambda: transactions.list_transactions(
                db, me, TransactionFilter(min_amount=Decimal(2), max_amount=Decimal(1))
            ),
        ),
    ]
    for named, refuse in refusals:
        with pytest.raises(Invalid, match=named):
            await refuse()

    assert await household_state(db, me) == before


@pytest.mark.parametrize("field", ["category", "description", "merchant"])
def test_a_nul_character_in_text_is_refused(field: str) -> None:
    with pytest.raises(ValidationError, match="NUL"):
        TransactionFields.model_validate({**VALID, field: "bad\x00text"})


def test_a_nul_character_in_a_tag_or_a_filter_is_refused() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        TransactionFields.model_validate({**VALID, "tags": ["ok", "b\x00d"]})
    with pytest.raises(ValidationError, match="NUL"):
        TransactionFilter(merchant="a\x00b")


@pytest.mark.parametrize("amount", ["1e1", "5E+12", "1_000", "٥"])
def test_an_amount_with_an_exponent_separators_or_foreign_digits_is_refused(amount: str) -> None:
    with pytest.raises(ValidationError, match="plain digits"):
        TransactionFields.model_validate({**VALID, "amount": amount})


async def test_amounts_are_stored_as_given_whatever_their_input_form(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "0")

    made = [await record(db, me, account.id, amount) for amount in ("-0.1", "2", "3.50", " 10. ")]

    assert [t.model_dump(mode="json")["amount"] for t in made] == ["-0.10", "2.00", "3.50", "10.00"]
    assert (await accounts.get_account(db, me, account.id)).balance == Decimal("15.40")
