"""The change log and undo through the service layer, on SQLite and PostgreSQL: every write is one change,
and undoing it puts the database back as it was, byte for byte (but for the log itself)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Conflict, NotFound, PermissionDenied
from finance_mcp.domain.principals import Principal, Role
from finance_mcp.schemas.accounts import AccountUpdate
from finance_mcp.schemas.api_keys import ApiKeyCreate
from finance_mcp.schemas.transactions import TransactionUpdate
from finance_mcp.services import accounts, api_keys, changes, transactions
from tests.changelog_dumps import data_dump
from tests.services.helpers import (
    MakePrincipal,
    assert_balances_add_up,
    balance_of,
    household_state,
    item,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio

Write = Callable[[Database, Principal, dict[str, int]], Awaitable[Any]]


async def _scene(db: Database, me: Principal) -> dict[str, int]:
    """Two accounts with a few transactions, some tagged."""
    checking = await open_account(db, me, "1000")
    savings = await open_account(db, me, "50", name="Savings", account_type="savings")
    first = await record(db, me, checking.id, "-12.50", tags=["Food", "weekly"], merchant="Shop")
    await record(db, me, checking.id, "300", category="Salary")
    await record(db, me, savings.id, "-7", tags=["fees"])
    return {"checking": checking.id, "savings": savings.id, "first": first.id}


WRITES: dict[str, Write] = {
    "create_account": lambda db, me, s: open_account(db, me, "5", name="New"),
    "update_account": lambda db, me, s: accounts.update_account(
        db, me, s["checking"], AccountUpdate(name="Main", account_type="savings")
    ),
    "delete_account": lambda db, me, s: accounts.delete_account(db, me, s["checking"]),
    "create_transaction": lambda db, me, s: record(db, me, s["checking"], "-3.20", tags=["Coffee", "x"]),
    "create_transactions_batch": lambda db, me, s: transactions.record_batch(
        db, me, s["savings"], [item("1"), item("-2.50", tags=["a", "B"]), item("3", description="d")]
    ),
    "update_transaction": lambda db, me, s: transactions.update_transaction(
        db,
        me,
        s["first"],
        TransactionUpdate.model_validate(
            {"account_id": s["savings"], "amount": "-99.99", "tags": ["other"], "clear_fields": ["merchant"]}
        ),
    ),
    "update_transaction_in_place": lambda db, me, s: transactions.update_transaction(
        db, me, s["first"], TransactionUpdate.model_validate({"category": "Dining", "description": "lunch"})
    ),
    "delete_transaction": lambda db, me, s: transactions.delete_transaction(db, me, s["first"]),
}


async def _latest(db: Database, me: Principal) -> changes.ChangeRead:
    return (await changes.list_changes(db, me, limit=1)).changes[0]


@pytest.mark.parametrize("write", list(WRITES))
async def test_undoing_a_write_restores_the_database_byte_for_byte(
    db: Database, database_url: str, make_principal: MakePrincipal, write: str
) -> None:
    me = await make_principal()
    scene = await _scene(db, me)
    before = await data_dump(database_url)

    await WRITES[write](db, me, scene)
    change = await _latest(db, me)
    assert change.tool == write.removesuffix("_in_place")
    assert await data_dump(database_url) != before
    undone = await changes.undo_change(db, me, change.id)

    assert undone.undo_change_id is not None
    assert undone.undo_change_id > change.id
    assert await data_dump(database_url) == before
    await assert_balances_add_up(db, me)


async def test_a_change_says_who_made_it_what_and_which_rows(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal(Role.MEMBER)
    account = await open_account(db, me, "10")
    created = await record(db, me, account.id, "-2.5", category="Books", tags=["Read"])

    change = await _latest(db, me)

    assert (change.tool, change.entity_type, change.entity_id) == ("create_transaction", "transaction", created.id)
    assert (change.user.user_id, change.user.role) == (me.user_id, "member")
    assert "-2.50 (Books)" in change.summary
    assert change.row_count == 2
    made, moved = change.rows
    assert (made.table, made.row_id, made.before) == ("transactions", created.id, None)
    assert made.after is not None
    assert (made.after["amount"], made.after["tags"]) == ("-2.50", ["Read"])
    assert (moved.table, moved.row_id) == ("account_totals", account.id)
    assert moved.after is not None
    assert moved.after["delta"] == "-2.50"


async def test_a_blocked_undo_names_the_later_change_and_succeeds_once_that_is_undone(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    before = await data_dump(database_url)
    created = await record(db, me, account.id, "-10")
    made = await _latest(db, me)
    await transactions.update_transaction(db, me, created.id, TransactionUpdate.model_validate({"amount": "-20"}))
    edited = await _latest(db, me)

    with pytest.raises(Conflict, match=rf"change {edited.id} \(Changed amount"):
        await changes.undo_change(db, me, made.id)
    await changes.undo_change(db, me, edited.id)
    await changes.undo_change(db, me, made.id)

    assert await data_dump(database_url) == before


async def test_other_transactions_on_the_same_account_do_not_block_an_undo(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    await record(db, me, account.id, "-10")
    made = await _latest(db, me)
    await record(db, me, account.id, "-1")

    await changes.undo_change(db, me, made.id)

    assert await balance_of(db, me, account.id) == Decimal("99.00")
    await assert_balances_add_up(db, me)


async def test_a_change_is_undone_once_and_undoing_the_undo_redoes_it(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    created = await record(db, me, account.id, "-10", tags=["t"])
    made = await _latest(db, me)
    undone = await changes.undo_change(db, me, made.id)

    with pytest.raises(Conflict, match=rf"already undone by change {undone.undo_change_id}"):
        await changes.undo_change(db, me, made.id)
    assert undone.undo_change_id is not None
    await changes.undo_change(db, me, undone.undo_change_id)

    again = await transactions.get_transaction(db, me, created.id)
    assert again == created
    assert await balance_of(db, me, account.id) == Decimal("90.00")
    await assert_balances_add_up(db, me)


async def test_another_households_change_is_not_found_like_a_missing_one(
    db: Database, make_principal: MakePrincipal
) -> None:
    me, stranger = await make_principal(), await make_principal()
    await open_account(db, stranger, "1")
    theirs = await _latest(db, stranger)

    with pytest.raises(NotFound, match=f"Change {theirs.id} was not found"):
        await changes.undo_change(db, me, theirs.id)
    with pytest.raises(NotFound, match="Change 999999999 was not found"):
        await changes.undo_change(db, me, 999_999_999)
    assert (await changes.list_changes(db, me)).changes == []


async def test_a_viewer_cannot_undo_and_a_member_cannot_undo_an_account_deletion(
    db: Database, make_principal: MakePrincipal
) -> None:
    owner = await make_principal(Role.OWNER)
    tenant = owner.household_name.removeprefix("Household ")
    viewer = await make_principal(Role.VIEWER, tenant=tenant)
    member = await make_principal(Role.MEMBER, tenant=tenant)
    account = await open_account(db, owner, "1")
    made = await _latest(db, owner)
    await accounts.delete_account(db, owner, account.id)
    deleted = await _latest(db, owner)

    with pytest.raises(PermissionDenied):
        await changes.undo_change(db, viewer, made.id)
    with pytest.raises(PermissionDenied):
        await changes.undo_change(db, member, deleted.id)
    assert [c.id for c in (await changes.list_changes(db, viewer)).changes] == [deleted.id, made.id]


async def test_list_changes_pages_newest_first_and_filters(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1")
    made = [await record(db, me, account.id, str(n)) for n in range(1, 5)]

    first = await changes.list_changes(db, me, limit=3)
    rest = await changes.list_changes(db, me, limit=3, cursor=first.next_cursor)
    one = await changes.list_changes(db, me, entity_type="transaction", entity_id=made[1].id)

    assert [c.entity_id for c in first.changes] == [made[3].id, made[2].id, made[1].id]
    assert [c.entity_id for c in rest.changes] == [made[0].id, account.id]
    assert rest.next_cursor is None
    assert [c.entity_id for c in one.changes] == [made[1].id]
    assert (first.total, rest.total, one.total) == (5, 5, 1)  # every page says how many there are in all


async def test_list_changes_with_limit_zero_answers_the_total_alone(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "1")
    await record(db, me, account.id, "-2")

    counted = await changes.list_changes(db, me, limit=0)
    about_account = await changes.list_changes(db, me, entity_type="account", limit=0)

    assert (counted.changes, counted.total, counted.next_cursor) == ([], 2, None)
    assert about_account.total == 1


async def test_api_key_changes_are_logged_without_the_secret_and_cannot_be_undone(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    wanted = ApiKeyCreate.model_validate({"name": "Cursor", "scopes": ["finance:read"], "expires_in_days": 30})
    created = await api_keys.create_api_key(db, me, wanted)
    await api_keys.revoke_api_key(db, me, created.api_key.id)

    revoked, made = (await changes.list_changes(db, me)).changes

    assert (made.tool, made.entity_type, made.entity_id) == ("create_api_key", "api_key", created.api_key.id)
    assert made.summary == f'Created the API key "Cursor" ({created.api_key.id}) with finance:read'
    assert created.key not in made.model_dump_json()
    assert revoked.tool == "revoke_api_key"
    with pytest.raises(Conflict, match="cannot be undone; revoke the key instead"):
        await changes.undo_change(db, me, made.id)


async def test_an_undo_whose_row_id_went_to_a_newer_row_is_refused_and_changes_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    me, neighbour = await make_principal(), await make_principal()
    gone = await open_account(db, me, "0", name="Old")
    await accounts.delete_account(db, me, gone.id)
    deleted = (await changes.list_changes(db, me, limit=1)).changes[0]
    # Another household's new account: SQLite gives it the deleted account's id, unseen by this household's log
    newer = await open_account(db, neighbour, "0", name="New")
    before = await household_state(db, me)

    if newer.id != gone.id:  # PostgreSQL never reuses an id: the account comes back
        await changes.undo_change(db, me, deleted.id)
        assert [a.name for a in (await accounts.list_accounts(db, me)).accounts] == ["Old"]
        return
    with pytest.raises(Conflict, match=rf"Change {deleted.id} cannot be undone: a row it would put back"):
        await changes.undo_change(db, me, deleted.id)
    assert await household_state(db, me) == before
