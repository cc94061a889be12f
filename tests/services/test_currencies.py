"""Currencies on SQLite and PostgreSQL: ISO 4217 codes, amounts within a currency's minor units (of the two
places stored), and net worth per currency unless the caller gives rates (then converted, and said so)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, event

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.principals import Principal
from finance_mcp.schemas.accounts import AccountCreate
from finance_mcp.schemas.transactions import TransactionUpdate
from finance_mcp.schemas.transfers import TransferCreate
from finance_mcp.services import accounts, net_worth, transactions, transfers
from tests.services.helpers import DAY, MakePrincipal, household_state, item, open_account, record

pytestmark = pytest.mark.anyio


async def _account(db: Database, me: Principal, currency: str, opening: str = "0") -> int:
    data = AccountCreate.model_validate(
        {"name": currency, "account_type": "cash", "currency": currency, "opening_balance": opening}
    )
    return (await accounts.create_account(db, me, data)).id


async def test_a_currency_must_be_an_iso_4217_code(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    with pytest.raises(Invalid, match="XYZ is not an ISO 4217 currency code"):
        await _account(db, me, "XYZ")
    yen = await _account(db, me, "jpy", "1000")

    assert (await accounts.get_account(db, me, yen)).currency == "JPY"


async def test_a_currency_without_a_minor_unit_takes_whole_amounts_only(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    dollars = (await open_account(db, me, "100")).id
    with pytest.raises(Invalid, match=r"opening_balance 10.50 is in JPY, which has no minor unit"):
        await _account(db, me, "JPY", "10.50")
    yen = await _account(db, me, "JPY", "1000")
    kept = await record(db, me, yen, "-150")
    before = await household_state(db, me)

    with pytest.raises(Invalid, match=r"amount -150.50 is in JPY, which has no minor unit: send a whole number"):
        await record(db, me, yen, "-150.50")
    with pytest.raises(Invalid, match=r"item 1 0.01 is in JPY"):
        await transactions.record_batch(db, me, yen, [item("-1"), item("0.01")])
    with pytest.raises(Invalid, match="is in JPY"):
        await transactions.update_transaction(db, me, kept.id, TransactionUpdate(amount=Decimal("-1.5")))
    cents = await record(db, me, dollars, "-2.50")
    before = await household_state(db, me)
    with pytest.raises(Invalid, match="is in JPY"):
        await transactions.update_transaction(db, me, cents.id, TransactionUpdate(account_id=yen))
    with pytest.raises(Invalid, match=r"to_amount 99.50 is in JPY"):
        await transfers.create_transfer(
            db,
            me,
            TransferCreate(
                from_account_id=dollars, to_account_id=yen, amount=Decimal(1), date=DAY, to_amount=Decimal("99.5")
            ),
        )

    assert await household_state(db, me) == before
    # Results keep the two places of every amount on the wire.
    assert kept.model_dump(mode="json")["amount"] == "-150.00"


async def test_a_three_place_currency_keeps_two_places(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    dinars = await _account(db, me, "KWD", "10.25")

    assert (await record(db, me, dinars, "-1.25")).amount == Decimal("-1.25")
    with pytest.raises(ValidationError, match="no more than 2 decimal places"):
        await record(db, me, dinars, "-1.255")


async def test_net_worth_stays_per_currency_unless_rates_are_given(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    await open_account(db, me, "100")
    await _account(db, me, "EUR", "50")
    await _account(db, me, "JPY", "1000")
    day = dt.date(2026, 12, 31)

    plain = await net_worth.net_worth(db, me, as_of=day)
    converted = await net_worth.net_worth(
        db, me, as_of=day, rates={"EUR": Decimal("1.08"), "JPY": Decimal("0.0067")}, base_currency="USD"
    )

    assert plain.total is None
    assert plain.converted is None
    assert "converted" not in plain.model_dump(mode="json")
    assert {c.currency: c.balance for c in converted.by_currency} == {
        "EUR": Decimal(50),
        "JPY": Decimal(1000),
        "USD": Decimal(100),
    }
    assert converted.converted is not None
    assert (converted.converted.base_currency, converted.converted.total) == ("USD", Decimal("160.70"))
    assert converted.converted.rates == {"EUR": "1.08", "JPY": "0.0067"}
    assert "at the rates you gave" in converted.converted.note
    with pytest.raises(Invalid, match="No rate for JPY"):
        await net_worth.net_worth(db, me, as_of=day, rates={"EUR": Decimal("1.08")})
    with pytest.raises(Invalid, match="must be positive"):
        await net_worth.net_worth(db, me, as_of=day, rates={"EUR": Decimal(0), "JPY": Decimal(1)})
    in_euros = await net_worth.net_worth(
        db, me, as_of=day, rates={"USD": Decimal("0.9"), "JPY": Decimal("0.006")}, base_currency="EUR"
    )
    assert in_euros.converted is not None
    assert in_euros.converted.total == Decimal("146.00")


async def test_a_create_in_cents_checks_its_currency_without_reading_the_account_first(
    db: Database, make_principal: MakePrincipal
) -> None:
    """The hot path: the check that a fractional amount fits the account's currency rides in the balance
    update itself, so a create reads no account row (a missing or unfit account is explained afterwards)."""
    me = await make_principal()
    dollars = (await open_account(db, me, "100")).id
    sent: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        created = await record(db, me, dollars, "-2.50")
    finally:
        event.remove(Engine, "before_cursor_execute", seen)

    assert created.amount == Decimal("-2.50")
    assert sent, "the create sent no statement through SQLAlchemy"
    assert [s for s in sent if s.startswith("SELECT accounts.")] == []
