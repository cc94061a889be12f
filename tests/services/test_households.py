"""Households are sealed: another household's ids read as "not found" for every operation, and nothing
of theirs changes, whoever asks and whatever their role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import NotFound
from finance_mcp.domain.principals import Principal, Role
from finance_mcp.schemas.accounts import AccountUpdate
from finance_mcp.schemas.transactions import TransactionFilter, TransactionUpdate
from finance_mcp.services import accounts, transactions
from tests.services.helpers import (
    MakePrincipal,
    all_transactions,
    household_state,
    item,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio


@dataclass
class Neighbours:
    """Two households: `me` (an owner, with an account of my own) and `them`, whose rows I must not reach."""

    me: Principal
    my_account: int
    my_transaction: int
    them: Principal
    their_account: int
    their_transaction: int


@pytest.fixture
async def neighbours(db: Database, make_principal: MakePrincipal) -> Neighbours:
    them = await make_principal()
    me = await make_principal()
    their_account = await open_account(db, them, "500", name="Theirs")
    their_transaction = await record(db, them, their_account.id, "-25", tags=["private"], merchant="Secret Shop")
    my_account = await open_account(db, me, "100", name="Mine")
    my_transaction = await record(db, me, my_account.id, "-10")
    return Neighbours(me, my_account.id, my_transaction.id, them, their_account.id, their_transaction.id)


Operation = Callable[[Database, Neighbours], Awaitable[object]]

OPERATIONS: dict[str, Operation] = {
    "get_account": lambda db, n: accounts.get_account(db, n.me, n.their_account),
    "update_account": lambda db, n: accounts.update_account(db, n.me, n.their_account, AccountUpdate(name="Mine now")),
    "delete_account": lambda db, n: accounts.delete_account(db, n.me, n.their_account),
    "create_transaction": lambda db, n: transactions.record_transaction(db, n.me, n.their_account, item("1")),
    "create_transactions_batch": lambda db, n: transactions.record_batch(
        db, n.me, n.their_account, [item("1"), item("2")]
    ),
    "get_transaction": lambda db, n: transactions.get_transaction(db, n.me, n.their_transaction),
    "update_transaction": lambda db, n: transactions.update_transaction(
        db, n.me, n.their_transaction, TransactionUpdate(amount=Decimal("-1"))
    ),
    "move_their_transaction_into_my_account": lambda db, n: transactions.update_transaction(
        db, n.me, n.their_transaction, TransactionUpdate(account_id=n.my_account)
    ),
    "move_my_transaction_into_their_account": lambda db, n: transactions.update_transaction(
        db, n.me, n.my_transaction, TransactionUpdate(account_id=n.their_account)
    ),
    "delete_transaction": lambda db, n: transactions.delete_transaction(db, n.me, n.their_transaction),
    "list_transactions_of_their_account": lambda db, n: transactions.list_transactions(
        db, n.me, TransactionFilter(account_id=n.their_account)
    ),
}


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
async def test_another_households_rows_are_not_found_and_stay_unchanged(
    db: Database, neighbours: Neighbours, operation: Operation
) -> None:
    theirs_before = await household_state(db, neighbours.them)
    mine_before = await household_state(db, neighbours.me)

    with pytest.raises(NotFound, match="was not found in your household"):
        await operation(db, neighbours)

    assert await household_state(db, neighbours.them) == theirs_before
    assert await household_state(db, neighbours.me) == mine_before


async def test_a_foreign_id_reads_exactly_like_a_missing_one(db: Database, neighbours: Neighbours) -> None:
    with pytest.raises(NotFound) as foreign:
        await accounts.get_account(db, neighbours.me, neighbours.their_account)
    with pytest.raises(NotFound) as missing:
        await accounts.get_account(db, neighbours.me, 999_999_999)

    assert str(foreign.value).replace(str(neighbours.their_account), "ID") == str(missing.value).replace(
        "999999999", "ID"
    )


async def test_moving_into_a_foreign_account_with_a_lower_id_changes_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    # Balances are adjusted in account-id order; a foreign account first in that order must still roll back.
    them = await make_principal()
    me = await make_principal()
    theirs = await open_account(db, them, "1")
    mine = await open_account(db, me, "100")
    expense = await record(db, me, mine.id, "-10")
    before = (await household_state(db, them), await household_state(db, me))

    with pytest.raises(NotFound):
        await transactions.update_transaction(db, me, expense.id, TransactionUpdate(account_id=theirs.id))

    assert theirs.id < mine.id
    assert (await household_state(db, them), await household_state(db, me)) == before


async def test_lists_show_only_the_callers_household(db: Database, neighbours: Neighbours) -> None:
    listed = await accounts.list_accounts(db, neighbours.me)

    assert [a.id for a in listed.accounts] == [neighbours.my_account]
    assert [t.id for t in await all_transactions(db, neighbours.me)] == [neighbours.my_transaction]
    assert await all_transactions(db, neighbours.me, tags=["private"]) == []
    assert await all_transactions(db, neighbours.me, merchant="secret") == []
    assert await all_transactions(db, neighbours.me, search="secret") == []


async def test_an_admin_of_another_household_cannot_delete_my_account(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    stranger = await make_principal(role=Role.ADMIN)
    account = await open_account(db, me, "42")

    with pytest.raises(NotFound):
        await accounts.delete_account(db, stranger, account.id)

    assert (await accounts.get_account(db, me, account.id)).balance == Decimal("42.00")


async def test_the_same_person_in_two_tenants_sees_two_separate_households(
    db: Database, make_principal: MakePrincipal
) -> None:
    at_home = await make_principal(sub="shared-person", email="p@example.com")
    at_work = await make_principal(sub="shared-person", email="p@example.com")
    account = await open_account(db, at_home)

    assert at_home.household_id != at_work.household_id
    assert at_home.user_id != at_work.user_id
    with pytest.raises(NotFound):
        await accounts.get_account(db, at_work, account.id)
