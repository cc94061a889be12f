"""Bulk edits through the service layer, on SQLite and PostgreSQL: previews change nothing, real runs keep
every balance exact and are one change each, and undoing that change restores the database byte for byte."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import anyio
import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound, PermissionDenied
from finance_mcp.domain.principals import Principal, Role
from finance_mcp.schemas.bulk import BulkSet
from finance_mcp.schemas.transactions import TransactionFilter
from finance_mcp.services import bulk, changes
from finance_mcp.services.bulk import Selection
from tests.changelog_dumps import data_dump
from tests.services.helpers import (
    MakePrincipal,
    all_transactions,
    assert_balances_add_up,
    balance_of,
    count_rows,
    household_state,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio


def where(ids: list[int] | None = None, **filters: Any) -> Selection:
    return Selection(TransactionFilter(**filters), ids)


async def _scene(db: Database, me: Principal) -> dict[str, int]:
    """Two accounts; groceries on both, some tagged in mixed case, and a salary."""
    checking = await open_account(db, me, "1000")
    savings = await open_account(db, me, "50.05", name="Savings", account_type="savings")
    await record(db, me, checking.id, "-12.50", tags=["Food", "weekly"], merchant="Shop, Inc.")
    await record(db, me, checking.id, "-0.01", tags=["FOOD"], merchant="Kiosk")
    await record(db, me, checking.id, "3000", category="Salary")
    await record(db, me, savings.id, "-7.33", tags=["fees"])
    return {"checking": checking.id, "savings": savings.id}


async def _change_count(db: Database, me: Principal) -> int:
    return await count_rows(db, "SELECT count(*) FROM changes WHERE household_id = :h", h=me.household_id)


async def test_a_bulk_update_preview_changes_nothing(db: Database, database_url: str, make_principal: MakePrincipal):
    me = await make_principal()
    await _scene(db, me)
    before = await data_dump(database_url)

    preview = await bulk.bulk_update_transactions(
        db, me, where(category="groceries"), BulkSet(der_category="Food"), add_tags=["Home"]
    )

    assert (preview.dry_run, preview.matched, preview.changed) == (True, 3, 3)
    assert {t.der_category for t in preview.sample} == {"Food"}
    assert all("Home" in t.tags for t in preview.sample)
    assert await data_dump(database_url) == before


async def test_a_bulk_delete_preview_changes_nothing_and_says_what_the_balances_would_be(
    db: Database, database_url: str, make_principal: MakePrincipal
):
    me = await make_principal()
    scene = await _scene(db, me)
    before = await data_dump(database_url)

    preview = await bulk.bulk_delete_transactions(db, me, where(tags=["food"]))

    assert (preview.dry_run, preview.matched, preview.changed) == (True, 2, 2)
    assert preview.account_balances == {str(scene["checking"]): Decimal("4000.00")}
    assert await data_dump(database_url) == before


async def test_a_bulk_update_sets_fields_and_tags_on_every_matched_row_as_one_change(
    db: Database, make_principal: MakePrincipal
):
    me = await make_principal()
    scene = await _scene(db, me)
    changes_before = await _change_count(db, me)

    done = await bulk.bulk_update_transactions(
        db,
        me,
        where(category="Groceries"),
        BulkSet(category="Food & drink", der_merchant="Corner shop"),
        add_tags=["Home", "food"],
        remove_tags=["weekly"],
        dry_run=False,
    )

    assert (done.dry_run, done.matched, done.changed) == (False, 3, 3)
    assert await _change_count(db, me) == changes_before + 1
    rows = await all_transactions(db, me, category="food & drink")
    assert len(rows) == 3
    assert {tuple(t.tags) for t in rows} == {("Food", "Home"), ("FOOD", "Home"), ("fees", "Home", "food")}
    assert {t.der_merchant for t in rows} == {"Corner shop"}
    assert len(await all_transactions(db, me, tags=["weekly"])) == 0
    assert len(await all_transactions(db, me, tags=["HOME"])) == 3  # the tag index follows the rows
    assert await all_transactions(db, me, category="Salary")  # untouched
    assert done.account_balances == {
        str(scene["checking"]): Decimal("3987.49"),
        str(scene["savings"]): Decimal("42.72"),
    }
    await assert_balances_add_up(db, me)
    change = (await changes.list_changes(db, me, limit=1)).changes[0]
    assert (change.id, change.tool) == (done.change_id, "bulk_update_transactions")


async def test_rows_an_update_leaves_as_they_are_are_matched_but_not_changed(
    db: Database, make_principal: MakePrincipal
):
    me = await make_principal()
    await _scene(db, me)

    done = await bulk.bulk_update_transactions(
        db, me, where(tags=["food"]), BulkSet(), add_tags=["food"], dry_run=False
    )

    assert (done.matched, done.changed, done.change_id) == (2, 0, None)


async def test_a_bulk_delete_removes_the_rows_and_keeps_every_balance_exact(
    db: Database, make_principal: MakePrincipal
):
    me = await make_principal()
    scene = await _scene(db, me)
    changes_before = await _change_count(db, me)

    done = await bulk.bulk_delete_transactions(db, me, where(max_amount=Decimal("0")), dry_run=False)

    assert (done.dry_run, done.matched, done.changed) == (False, 3, 3)
    assert await _change_count(db, me) == changes_before + 1
    assert [t.category for t in await all_transactions(db, me)] == ["Salary"]
    assert await balance_of(db, me, scene["checking"]) == Decimal("4000.00")
    assert await balance_of(db, me, scene["savings"]) == Decimal("50.05")
    assert done.account_balances == {
        str(scene["checking"]): Decimal("4000.00"),
        str(scene["savings"]): Decimal("50.05"),
    }
    tag_rows = await count_rows(db, "SELECT count(*) FROM transaction_tags WHERE household_id = :h", h=me.household_id)
    assert tag_rows == 0
    await assert_balances_add_up(db, me)


async def test_transaction_ids_select_rows_and_narrow_any_filters(db: Database, make_principal: MakePrincipal):
    me = await make_principal()
    scene = await _scene(db, me)
    ids = [t.id for t in await all_transactions(db, me, account_id=scene["checking"])]

    done = await bulk.bulk_delete_transactions(db, me, where(ids, min_amount=Decimal("-1")), dry_run=False)

    assert done.matched == 2  # -0.01 and 3000 of checking; not savings' -7.33, which is not among the ids
    assert await balance_of(db, me, scene["checking"]) == Decimal("987.50")
    await assert_balances_add_up(db, me)


@pytest.mark.parametrize("kind", ["update", "delete"])
async def test_undoing_a_bulk_edit_restores_the_database_byte_for_byte(
    db: Database, database_url: str, make_principal: MakePrincipal, kind: str
):
    me = await make_principal()
    await _scene(db, me)
    before = await data_dump(database_url)
    if kind == "update":
        done = await bulk.bulk_update_transactions(
            db,
            me,
            where(search="o"),
            BulkSet(merchant='Ünïcödé, "quoted"\nline'),
            add_tags=["x"],
            remove_tags=["FOOD"],
            dry_run=False,
        )
    else:
        done = await bulk.bulk_delete_transactions(db, me, where(start_date="2000-01-01"), dry_run=False)
    assert done.change_id is not None
    assert done.changed >= 3
    assert await data_dump(database_url) != before

    undone = await changes.undo_change(db, me, done.change_id)

    assert undone.rows_restored == done.changed
    assert await data_dump(database_url) == before
    await assert_balances_add_up(db, me)


async def test_a_viewer_cannot_bulk_update_and_a_member_cannot_bulk_delete(db: Database, make_principal: MakePrincipal):
    tenant = uuid.uuid4().hex
    owner = await make_principal(tenant=tenant)
    await _scene(db, owner)
    viewer = await make_principal(Role.VIEWER, tenant=tenant)
    member = await make_principal(Role.MEMBER, tenant=tenant)
    state = await household_state(db, owner)

    with pytest.raises(PermissionDenied):
        await bulk.bulk_update_transactions(
            db, viewer, where(category="Groceries"), BulkSet(category="X"), dry_run=False
        )
    for dry_run in (True, False):
        with pytest.raises(PermissionDenied):
            await bulk.bulk_delete_transactions(db, member, where(category="Groceries"), dry_run=dry_run)
    updated = await bulk.bulk_update_transactions(
        db, member, where(category="Salary"), BulkSet(category="Pay"), dry_run=False
    )

    assert updated.changed == 1  # a member may bulk update
    assert (await household_state(db, owner))["transactions"] != state["transactions"]
    await changes.undo_change(db, member, updated.change_id or 0)
    assert await household_state(db, owner) == state


async def test_a_member_cannot_undo_an_admins_bulk_delete(db: Database, make_principal: MakePrincipal):
    tenant = uuid.uuid4().hex
    owner = await make_principal(tenant=tenant)
    await _scene(db, owner)
    member = await make_principal(Role.MEMBER, tenant=tenant)
    done = await bulk.bulk_delete_transactions(db, owner, where(category="Salary"), dry_run=False)

    with pytest.raises(PermissionDenied):
        await changes.undo_change(db, member, done.change_id or 0)


@pytest.mark.parametrize(
    "selection",
    [where(), where(tags=[]), where([])],
    ids=["no-filter", "empty-tags", "empty-ids"],
)
async def test_a_bulk_edit_without_a_filter_or_ids_is_refused_and_changes_nothing(
    db: Database, database_url: str, make_principal: MakePrincipal, selection: Selection
):
    me = await make_principal()
    await _scene(db, me)
    before = await data_dump(database_url)

    with pytest.raises(Invalid, match=r"filter|ids"):
        await bulk.bulk_delete_transactions(db, me, selection, dry_run=False)
    with pytest.raises(Invalid, match=r"filter|ids"):
        await bulk.bulk_update_transactions(db, me, selection, BulkSet(category="X"), dry_run=False)

    assert await data_dump(database_url) == before


async def test_an_update_with_nothing_to_set_or_a_tag_both_added_and_removed_is_refused(
    db: Database, make_principal: MakePrincipal
):
    me = await make_principal()
    await _scene(db, me)

    with pytest.raises(Invalid, match="Nothing to change"):
        await bulk.bulk_update_transactions(db, me, where(category="Groceries"), BulkSet(), dry_run=False)
    with pytest.raises(Invalid, match="both in add_tags and remove_tags"):
        await bulk.bulk_update_transactions(
            db, me, where(category="Groceries"), BulkSet(), add_tags=["A"], remove_tags=["a"], dry_run=False
        )


async def test_a_selection_beyond_the_bound_is_refused_whole(
    db: Database, database_url: str, make_principal: MakePrincipal, monkeypatch: pytest.MonkeyPatch
):
    me = await make_principal()
    await _scene(db, me)
    monkeypatch.setattr(bulk, "MAX_BULK", 3)
    before = await data_dump(database_url)

    with pytest.raises(Invalid, match="more than 3 transactions"):
        await bulk.bulk_delete_transactions(db, me, where(start_date="2000-01-01"), dry_run=False)
    with pytest.raises(Invalid, match="more than 3 transactions"):
        await bulk.bulk_update_transactions(db, me, where(start_date="2000-01-01"), BulkSet(category="X"))

    assert await data_dump(database_url) == before


async def test_another_households_rows_are_never_selected(db: Database, make_principal: MakePrincipal):
    me, other = await make_principal(), await make_principal()
    await _scene(db, me)
    theirs = await _scene(db, other)
    their_ids = [t.id for t in await all_transactions(db, other)]
    their_state = await household_state(db, other)

    by_ids = await bulk.bulk_delete_transactions(db, me, where(their_ids), dry_run=False)
    with pytest.raises(NotFound):
        await bulk.bulk_delete_transactions(db, me, where(account_id=theirs["checking"]), dry_run=False)

    assert by_ids.matched == 0
    assert await household_state(db, other) == their_state


async def test_the_question_before_a_bulk_delete_names_the_count_dates_and_total(
    db: Database, make_principal: MakePrincipal
):
    me = await make_principal()
    scene = await _scene(db, me)

    question = await bulk.bulk_deletion_question(db, me, where(tags=["food"]))
    nothing = await bulk.bulk_deletion_question(db, me, where(category="Nope"))

    assert question == (
        f"Delete 2 transactions (2026-01-15, totalling -12.51) from account(s) {scene['checking']}? "
        "It can be undone afterwards with undo_change."
    )
    assert nothing is None


async def test_bulk_deletes_and_updates_racing_single_writes_on_one_account_lose_no_update(
    db: Database, make_principal: MakePrincipal
):
    """On PostgreSQL the writers really overlap; on SQLite they queue. Either way the balance is exact."""
    me = await make_principal()
    account = await open_account(db, me, "1000")
    for n in range(30):
        await record(db, me, account.id, f"-{n}.25", category="Old" if n % 2 else "Keep")

    async def single_writes() -> None:
        for n in range(15):
            await record(db, me, account.id, f"{n}.10", category="New")

    async def bulk_edits() -> None:
        await bulk.bulk_update_transactions(db, me, where(category="Keep"), BulkSet(merchant="M"), dry_run=False)
        await bulk.bulk_delete_transactions(db, me, where(category="Old"), dry_run=False)

    async with anyio.create_task_group() as group:
        group.start_soon(single_writes)
        group.start_soon(bulk_edits)

    left = await all_transactions(db, me)
    assert {t.category for t in left} == {"Keep", "New"}
    assert len(left) == 15 + 15
    assert await balance_of(db, me, account.id) == Decimal("1000") + sum((t.amount for t in left), Decimal("0"))
    await assert_balances_add_up(db, me)
