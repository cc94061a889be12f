"""Transfers through the service layer, on SQLite and PostgreSQL: two linked legs written together, and every
edit of either leg (amount, date, a move, a delete) keeps the pair and the balance invariant; undo restores
both legs byte for byte."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound
from finance_mcp.domain.principals import Principal
from finance_mcp.schemas.accounts import AccountCreate
from finance_mcp.schemas.transactions import TransactionUpdate
from finance_mcp.schemas.transfers import TransferCreate, TransferCreated
from finance_mcp.services import accounts, changes, net_worth, transactions, transfers
from tests.changelog_dumps import data_dump
from tests.services.helpers import (
    DAY,
    MakePrincipal,
    assert_balances_add_up,
    balance_of,
    household_state,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio


async def _transfer(db: Database, me: Principal, source: int, target: int, amount: str, **more: Any) -> TransferCreated:
    data = TransferCreate.model_validate(
        {"from_account_id": source, "to_account_id": target, "amount": amount, "date": DAY, **more}
    )
    return await transfers.create_transfer(db, me, data)


async def _update(db: Database, me: Principal, transaction_id: int, **values: Any) -> Any:
    return await transactions.update_transaction(db, me, transaction_id, TransactionUpdate.model_validate(values))


async def _two(db: Database, me: Principal) -> tuple[int, int]:
    checking = await open_account(db, me, "1000")
    savings = await open_account(db, me, "50", name="Savings", account_type="savings")
    return checking.id, savings.id


async def _euro_account(db: Database, me: Principal, opening: str = "0") -> int:
    data = AccountCreate.model_validate(
        {"name": "Euro", "account_type": "savings", "currency": "EUR", "opening_balance": opening}
    )
    return (await accounts.create_account(db, me, data)).id


async def _legs(db: Database, me: Principal, made: TransferCreated) -> tuple[Any, Any]:
    out = await transactions.get_transaction(db, me, made.from_transaction.id)
    into = await transactions.get_transaction(db, me, made.to_transaction.id)
    return out, into


async def test_a_transfer_is_two_linked_legs_that_move_both_balances(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    checking, savings = await _two(db, me)

    made = await _transfer(db, me, checking, savings, "200", description="Monthly saving")

    out, into = made.from_transaction, made.to_transaction
    assert made.transfer_id == out.id
    assert (out.transfer_id, into.transfer_id) == (made.transfer_id, made.transfer_id)
    assert (out.account_id, out.amount, into.account_id, into.amount) == (
        checking,
        Decimal("-200.00"),
        savings,
        Decimal("200.00"),
    )
    assert out.category == into.category == "transfer"
    assert out.description == into.description == "Monthly saving"
    assert made.account_balances == {str(checking): Decimal("800.00"), str(savings): Decimal("250.00")}
    assert made.model_dump(mode="json")["account_balances"] == {str(checking): "800.00", str(savings): "250.00"}
    assert (await transactions.get_transaction(db, me, into.id)).transfer_id == made.transfer_id
    await assert_balances_add_up(db, me)


async def test_a_transfer_leaves_net_worth_unchanged(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    checking, savings = await _two(db, me)
    before = await net_worth.net_worth(db, me, as_of=DAY)

    await _transfer(db, me, checking, savings, "123.45")

    after = await net_worth.net_worth(db, me, as_of=DAY)
    assert after.total == before.total == Decimal("1050.00")


async def test_a_plain_transaction_has_no_transfer_id_and_an_old_transfer_row_stays_valid(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    checking, _ = await _two(db, me)

    old_style = await record(db, me, checking, "-40", category="Transfer")
    edited = await _update(db, me, old_style.id, amount="-45", category="Groceries")
    deleted = await transactions.delete_transaction(db, me, old_style.id)

    assert old_style.transfer_id is None
    assert edited.transaction.transfer_id is None
    assert deleted.deleted_transaction_ids == [old_style.id]
    assert await balance_of(db, me, checking) == Decimal("1000.00")


@pytest.mark.parametrize("leg", ["from", "to"])
async def test_a_new_amount_on_either_leg_gives_the_other_leg_its_opposite(
    db: Database, make_principal: MakePrincipal, leg: str
) -> None:
    me = await make_principal()
    checking, savings = await _two(db, me)
    made = await _transfer(db, me, checking, savings, "200")
    edited = made.from_transaction if leg == "from" else made.to_transaction

    updated = await _update(db, me, edited.id, amount="-75.50" if leg == "from" else "75.50")

    out, into = await _legs(db, me, made)
    assert (out.amount, into.amount) == (Decimal("-75.50"), Decimal("75.50"))
    assert updated.account_balances == {str(checking): Decimal("924.50"), str(savings): Decimal("125.50")}
    assert await balance_of(db, me, checking) == Decimal("924.50")
    assert await balance_of(db, me, savings) == Decimal("125.50")
    await assert_balances_add_up(db, me)


@pytest.mark.parametrize("leg", ["from", "to"])
async def test_a_new_date_on_either_leg_moves_both(db: Database, make_principal: MakePrincipal, leg: str) -> None:
    me = await make_principal()
    checking, savings = await _two(db, me)
    made = await _transfer(db, me, checking, savings, "200")
    edited = made.from_transaction if leg == "from" else made.to_transaction

    updated = await _update(db, me, edited.id, date="2026-02-01", description="moved")

    out, into = await _legs(db, me, made)
    assert out.date == into.date == dt.date(2026, 2, 1)
    assert (out.amount, into.amount) == (Decimal("-200.00"), Decimal("200.00"))
    # Only the edited leg takes the other fields; balances did not move.
    assert [t.description for t in (out, into)] == (["moved", None] if leg == "from" else [None, "moved"])
    assert set(updated.account_balances.values()) <= {Decimal("800.00"), Decimal("250.00")}
    await assert_balances_add_up(db, me)


@pytest.mark.parametrize("leg", ["from", "to"])
async def test_moving_a_leg_to_another_account_keeps_the_pair(
    db: Database, make_principal: MakePrincipal, leg: str
) -> None:
    me = await make_principal()
    checking, savings = await _two(db, me)
    cash = (await open_account(db, me, "10", name="Cash", account_type="cash")).id
    made = await _transfer(db, me, checking, savings, "200")
    edited = made.from_transaction if leg == "from" else made.to_transaction

    updated = await _update(db, me, edited.id, account_id=cash)

    out, into = await _legs(db, me, made)
    assert (out.transfer_id, into.transfer_id) == (made.transfer_id, made.transfer_id)
    assert (out.amount, into.amount) == (Decimal("-200.00"), Decimal("200.00"))
    if leg == "from":
        assert (out.account_id, into.account_id) == (cash, savings)
        assert updated.account_balances == {str(checking): Decimal("1000.00"), str(cash): Decimal("-190.00")}
    else:
        assert (out.account_id, into.account_id) == (checking, cash)
        assert updated.account_balances == {str(savings): Decimal("50.00"), str(cash): Decimal("210.00")}
    await assert_balances_add_up(db, me)
    # Still a pair: a delete of the moved leg takes the other with it.
    await transactions.delete_transaction(db, me, edited.id)
    assert await balance_of(db, me, cash) == Decimal("10.00")
    assert await balance_of(db, me, checking) == Decimal("1000.00")
    assert await balance_of(db, me, savings) == Decimal("50.00")


@pytest.mark.parametrize("leg", ["from", "to"])
async def test_deleting_either_leg_deletes_both(db: Database, make_principal: MakePrincipal, leg: str) -> None:
    me = await make_principal()
    checking, savings = await _two(db, me)
    made = await _transfer(db, me, checking, savings, "200")
    edited = made.from_transaction if leg == "from" else made.to_transaction
    other = made.to_transaction if leg == "from" else made.from_transaction

    deleted = await transactions.delete_transaction(db, me, edited.id)

    assert deleted.deleted_transaction_ids == [edited.id, other.id]
    assert deleted.account_balances == {str(checking): Decimal("1000.00"), str(savings): Decimal("50.00")}
    for gone in (edited.id, other.id):
        with pytest.raises(NotFound):
            await transactions.get_transaction(db, me, gone)
    await assert_balances_add_up(db, me)


async def test_refused_leg_edits_say_why_and_change_nothing(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    checking, savings = await _two(db, me)
    made = await _transfer(db, me, checking, savings, "200")
    before = await household_state(db, me)

    refusals = [
        (made.from_transaction.id, {"account_id": savings}, "holds the other leg"),
        (made.to_transaction.id, {"account_id": checking}, "holds the other leg"),
        (made.from_transaction.id, {"amount": "50"}, "stays negative"),
        (made.to_transaction.id, {"amount": "-50"}, "stays positive"),
        (made.to_transaction.id, {"amount": "0"}, "not zero"),
        (made.from_transaction.id, {"category": "Groceries"}, "category stays 'transfer'"),
    ]
    for transaction_id, values, reason in refusals:
        with pytest.raises(Invalid, match=reason):
            await _update(db, me, transaction_id, **values)

    assert await household_state(db, me) == before
    # Any case of the category is still a transfer.
    await _update(db, me, made.from_transaction.id, category="Transfer")


async def test_a_transfer_needs_two_accounts_of_the_household_and_a_positive_amount(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    stranger = await make_principal(tenant="another-household")
    checking, savings = await _two(db, me)
    theirs = (await open_account(db, stranger, "100")).id
    before = await household_state(db, me)

    with pytest.raises(Invalid, match="must be positive"):
        await _transfer(db, me, checking, savings, "-5")
    with pytest.raises(Invalid, match="must be positive"):
        await _transfer(db, me, checking, savings, "0")
    with pytest.raises(Invalid, match="the same account"):
        await _transfer(db, me, checking, checking, "5")
    with pytest.raises(NotFound, match=f"Account {theirs} was not found"):
        await _transfer(db, me, checking, theirs, "5")
    with pytest.raises(NotFound, match=f"Account {theirs} was not found"):
        await _transfer(db, me, theirs, checking, "5")
    with pytest.raises(Invalid, match="leave to_amount out"):
        await _transfer(db, me, checking, savings, "5", to_amount="4.50")

    assert await household_state(db, me) == before
    assert await balance_of(db, stranger, theirs) == Decimal("100.00")
    # A to_amount equal to the amount is harmless in one currency.
    assert (await _transfer(db, me, checking, savings, "5", to_amount="5")).to_transaction.amount == Decimal("5.00")


async def test_across_currencies_each_leg_keeps_its_own_amount(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    checking, _ = await _two(db, me)
    euros = await _euro_account(db, me, "10")
    before = await household_state(db, me)

    with pytest.raises(Invalid, match="give to_amount, the EUR amount that arrives"):
        await _transfer(db, me, checking, euros, "108")
    with pytest.raises(Invalid, match="to_amount must be positive"):
        await _transfer(db, me, checking, euros, "108", to_amount="-100")
    assert await household_state(db, me) == before

    made = await _transfer(db, me, checking, euros, "108", to_amount="100")
    assert (made.from_transaction.amount, made.to_transaction.amount) == (Decimal("-108.00"), Decimal("100.00"))
    assert made.account_balances == {str(checking): Decimal("892.00"), str(euros): Decimal("110.00")}

    # A new amount on one leg leaves the other's (another currency); a new date moves both.
    await _update(db, me, made.to_transaction.id, amount="99.10")
    await _update(db, me, made.from_transaction.id, date="2026-03-03")
    out, into = await _legs(db, me, made)
    assert (out.amount, into.amount) == (Decimal("-108.00"), Decimal("99.10"))
    assert out.date == into.date == dt.date(2026, 3, 3)
    assert await balance_of(db, me, euros) == Decimal("109.10")
    await assert_balances_add_up(db, me)

    # Net worth stays per currency.
    worth = await net_worth.net_worth(db, me, as_of=dt.date(2026, 12, 31))
    assert worth.total is None
    assert {c.currency: c.balance for c in worth.by_currency} == {"USD": Decimal("942.00"), "EUR": Decimal("109.10")}

    # Moving the euro leg to a dollar account makes it one currency: the legs cancel out again (the other leg
    # takes the opposite of the moved one).
    await _update(db, me, made.to_transaction.id, account_id=(await open_account(db, me, name="USD 2")).id)
    out, into = await _legs(db, me, made)
    assert (out.amount, into.amount) == (Decimal("-99.10"), Decimal("99.10"))
    assert await balance_of(db, me, euros) == Decimal("10.00")
    assert await balance_of(db, me, checking) == Decimal("900.90")
    await assert_balances_add_up(db, me)


@pytest.mark.parametrize("step", ["create", "amount", "date", "move", "delete_from", "delete_to", "cross_currency"])
async def test_undoing_a_transfer_write_restores_both_legs_byte_for_byte(
    db: Database, database_url: str, make_principal: MakePrincipal, step: str
) -> None:
    me = await make_principal()
    checking, savings = await _two(db, me)
    cash = (await open_account(db, me, "10", name="Cash", account_type="cash")).id
    euros = await _euro_account(db, me)
    await record(db, me, checking, "-12.50", tags=["Food"])
    made = None if step in {"create", "cross_currency"} else await _transfer(db, me, checking, savings, "200")
    before = await data_dump(database_url)

    if step == "create":
        await _transfer(db, me, checking, savings, "200", description="d")
    elif step == "cross_currency":
        await _transfer(db, me, checking, euros, "108", to_amount="100")
    elif made is not None and step == "amount":
        await _update(db, me, made.to_transaction.id, amount="80")
    elif made is not None and step == "date":
        await _update(db, me, made.from_transaction.id, date="2026-05-05", tags=["moved"])
    elif made is not None and step == "move":
        await _update(db, me, made.from_transaction.id, account_id=cash, amount="-150")
    elif made is not None:
        leg = made.from_transaction if step == "delete_from" else made.to_transaction
        await transactions.delete_transaction(db, me, leg.id)
    change = (await changes.list_changes(db, me, limit=1)).changes[0]
    assert await data_dump(database_url) != before
    undone = await changes.undo_change(db, me, change.id)

    assert undone.rows_restored == 2
    assert await data_dump(database_url) == before
    await assert_balances_add_up(db, me)


async def test_deleting_an_account_leaves_the_other_leg_as_a_plain_row_and_undo_relinks_it(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    checking, savings = await _two(db, me)
    made = await _transfer(db, me, checking, savings, "200")
    before = await data_dump(database_url)

    await accounts.delete_account(db, me, savings)

    out = await transactions.get_transaction(db, me, made.from_transaction.id)
    assert (out.transfer_id, out.amount) == (None, Decimal("-200.00"))
    assert await balance_of(db, me, checking) == Decimal("800.00")
    change = (await changes.list_changes(db, me, limit=1)).changes[0]
    await changes.undo_change(db, me, change.id)
    assert await data_dump(database_url) == before
    await assert_balances_add_up(db, me)
