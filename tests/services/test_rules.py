"""Categorisation rules through the service layer, on SQLite and PostgreSQL: every create runs them in
priority order without overwriting what the caller gave; apply_rules runs them over recorded rows; a
runaway regular expression is refused, or cut off without holding up the other calls."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound, PermissionDenied
from finance_mcp.domain.principals import Principal, Role
from finance_mcp.schemas.rules import RuleActions, RuleCondition
from finance_mcp.schemas.transactions import TransactionFilter
from finance_mcp.services import changes, rules, transactions
from tests.changelog_dumps import data_dump
from tests.services.helpers import MakePrincipal, all_transactions, assert_balances_add_up, item, open_account, record

pytestmark = pytest.mark.anyio

RUNAWAY = "(ab|abab)+$"  # passes the probes, but backtracks catastrophically on "abab...ab!"
RUNAWAY_TEXT = "ab" * 30 + "!"


async def rule(
    db: Database, me: Principal, *conditions: tuple[str, str, Any], priority: int | None = None, **actions: Any
):
    return await rules.create_rule(
        db,
        me,
        name=f"rule {len(conditions)} {sorted(actions)}",
        conditions=[RuleCondition.model_validate({"field": f, "op": o, "value": v}) for f, o, v in conditions],
        actions=RuleActions.model_validate(actions),
        priority=priority,
    )


async def test_a_rule_fills_what_the_caller_left_out_and_never_overwrites_what_it_gave(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    await rule(
        db,
        me,
        ("merchant", "contains", "netflix"),
        category="Subscriptions",
        der_category="Streaming",
        der_merchant="Netflix",
        add_tags=["auto"],
    )

    filled = await record(db, me, account.id, "-15.99", merchant="NETFLIX.COM 123", category="Uncategorized")
    kept = await record(
        db, me, account.id, "-15.99", merchant="Netflix", category="Fun", der_category="Mine", tags=["x"]
    )
    untouched = await record(db, me, account.id, "-3", merchant="Bakery")

    assert (filled.category, filled.der_category, filled.der_merchant, filled.tags) == (
        "Subscriptions",
        "Streaming",
        "Netflix",
        ["auto"],
    )
    assert (kept.category, kept.der_category, kept.der_merchant, kept.tags) == ("Fun", "Mine", "Netflix", ["x", "auto"])
    assert (untouched.category, untouched.der_category, untouched.tags) == ("Groceries", None, [])
    await assert_balances_add_up(db, me)


async def test_rules_run_in_priority_order_and_the_first_to_fill_a_field_wins_it(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    late = await rule(db, me, ("amount", "lt", "0"), priority=50, der_category="Spending", add_tags=["out"])
    early = await rule(db, me, ("merchant", "starts_with", "shell"), priority=10, der_category="Fuel", add_tags=["car"])
    tie = await rule(db, me, ("merchant", "equals", "shell station"), priority=50, der_merchant="Shell")

    (row,) = (await transactions.record_batch(db, me, account.id, [item("-40", merchant="Shell Station")])).transactions

    assert [r.id for r in (await rules.list_rules(db, me)).rules] == [early.id, late.id, tie.id]
    assert (row.der_category, row.der_merchant, row.tags) == ("Fuel", "Shell", ["car", "out"])


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        (("description", "contains", "COFFEE"), [True, False, False, False]),
        (("category", "equals", "groceries"), [True, True, True, False]),
        (("merchant", "starts_with", "star"), [True, False, False, False]),
        (("description", "regex", r"^ref\w*\s+\d+$"), [False, True, False, False]),
        (("amount", "lt", "-10"), [False, False, True, False]),
        (("amount", "gt", "0"), [False, False, False, True]),
        (("amount", "between", ["-4.99", "-4.50"]), [True, False, False, False]),
        (("amount", "equals", "-5.00"), [False, True, False, False]),
    ],
)
async def test_each_op_matches_what_it_says_in_a_batch(
    db: Database, make_principal: MakePrincipal, condition: tuple[str, str, Any], matches: list[bool]
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    await rule(db, me, condition, der_category="Hit")
    batch = [
        item("-4.50", merchant="Starbucks", description="morning coffee"),
        item("-5", merchant="Shop", description="REFUND 2231"),
        item("-30", merchant=None, description=None),
        item("12", category="Salary"),
    ]

    made = (await transactions.record_batch(db, me, account.id, batch)).transactions

    assert [t.der_category == "Hit" for t in made] == matches


async def test_a_rule_on_the_account_matches_only_that_accounts_new_rows(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    card, cash = await open_account(db, me, "0", name="Card"), await open_account(db, me, "0", name="Cash")
    await rule(db, me, ("account_id", "equals", str(card.id)), add_tags=["card"])

    assert (await record(db, me, card.id, "-1")).tags == ["card"]
    assert (await record(db, me, cash.id, "-1")).tags == []


@pytest.mark.parametrize(
    ("condition", "says"),
    [
        (("amount", "contains", "5"), "amount takes the ops"),
        (("merchant", "lt", "5"), "merchant takes the ops"),
        (("description", "regex", "(unclosed"), "does not compile"),
        (("description", "regex", "(a|aa)+$"), "backtracks catastrophically"),
        (("description", "regex", "a" * 201), "at most 200"),
        (("amount", "between", ["5", "1"]), "swap them"),
        (("amount", "gt", "lots"), "compare with a number"),
    ],
)
async def test_bad_conditions_are_refused_and_nothing_is_stored(
    db: Database, make_principal: MakePrincipal, condition: tuple[str, str, Any], says: str
) -> None:
    me = await make_principal()
    with pytest.raises(Invalid, match=says):
        await rule(db, me, condition, der_category="x")
    assert (await rules.list_rules(db, me)).total == 0


async def test_a_rule_without_actions_is_refused(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    with pytest.raises(Invalid, match="at least one"):
        await rule(db, me, ("merchant", "contains", "x"))


async def test_apply_rules_dry_run_changes_nothing_and_the_real_run_is_one_undoable_change(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    await record(db, me, account.id, "-9.99", merchant="Spotify AB", category="Music")
    await record(db, me, account.id, "-9.99", merchant="Spotify AB", der_category="Already")
    await record(db, me, account.id, "-1", merchant="Kiosk")
    await rule(
        db,
        me,
        ("merchant", "contains", "spotify"),
        category="Subscriptions",
        der_category="Streaming",
        add_tags=["sub"],
    )
    before = await data_dump(database_url)

    preview = await rules.apply_rules(db, me, TransactionFilter(account_id=account.id))
    assert await data_dump(database_url) == before
    done = await rules.apply_rules(db, me, TransactionFilter(account_id=account.id), dry_run=False)

    assert (preview.matched, preview.changed, done.changed) == (3, 2, 2)
    rows = {(t.category, t.der_category, tuple(t.tags)) for t in await all_transactions(db, me)}
    assert rows == {("Music", "Streaming", ("sub",)), ("Groceries", "Already", ("sub",)), ("Groceries", None, ())}
    await assert_balances_add_up(db, me)
    change = (await changes.list_changes(db, me, limit=1)).changes[0]
    assert change.tool == "apply_rules"
    await changes.undo_change(db, me, change.id)
    assert await data_dump(database_url) == before


async def test_apply_rules_with_overwrite_replaces_values_already_set(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    await record(db, me, account.id, "-9.99", merchant="Spotify", category="Music", der_category="Old")
    await rule(db, me, ("merchant", "contains", "spotify"), category="Subscriptions", der_category="Streaming")

    done = await rules.apply_rules(db, me, TransactionFilter(), dry_run=False, overwrite=True)

    (row,) = await all_transactions(db, me)
    assert done.changed == 1
    assert (row.category, row.der_category) == ("Subscriptions", "Streaming")


async def test_a_runaway_regex_is_cut_off_while_other_calls_complete(
    db: Database, make_principal: MakePrincipal
) -> None:
    """20 runaway rules hold apply_rules for about a second (each is cut off after its first 50 ms match);
    meanwhile other calls keep completing. Had the matching run on the event loop, the calls started before
    it would be the only ones to finish (a handful), not a steady stream."""
    me = await make_principal()
    account = await open_account(db, me, "100")
    await transactions.record_batch(db, me, account.id, [item("-1", description=RUNAWAY_TEXT)] * 3)
    slow = [await rule(db, me, ("description", "regex", RUNAWAY), add_tags=[f"t{n}"]) for n in range(20)]

    applying = asyncio.ensure_future(rules.apply_rules(db, me, TransactionFilter()))
    completed = 0
    while not applying.done():
        other = asyncio.ensure_future(rules.list_rules(db, me))
        await asyncio.wait({other, applying}, return_when=asyncio.FIRST_COMPLETED, timeout=30)
        if other.done():
            assert (await other).total == 20
            completed += 1
        else:
            await other
    result = await applying

    assert completed >= 10, f"only {completed} other calls completed while the regex ran"
    assert result.cut_off_rules == sorted(r.id for r in slow)
    assert result.changed == 0
    created = await record(db, me, account.id, "-2", description=RUNAWAY_TEXT)  # the create still goes through
    assert created.tags == []


async def test_viewers_cannot_write_rules_and_other_households_rules_are_not_found(
    db: Database, make_principal: MakePrincipal
) -> None:
    me, stranger = await make_principal(), await make_principal()
    viewer = await make_principal(Role.VIEWER)
    mine = await rule(db, me, ("merchant", "contains", "x"), der_category="X")

    with pytest.raises(PermissionDenied):
        await rule(db, viewer, ("merchant", "contains", "x"), der_category="X")
    with pytest.raises(NotFound, match="list_rules"):
        await rules.delete_rule(db, stranger, mine.id)
    with pytest.raises(NotFound):
        await rules.update_rule(db, stranger, mine.id, priority=1)
    stranger_account = await open_account(db, stranger, "0")
    assert (await record(db, stranger, stranger_account.id, "-1", merchant="x")).der_category is None


async def test_creating_changing_and_deleting_a_rule_are_undone_exactly(
    db: Database, database_url: str, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    snapshots = [await data_dump(database_url)]
    made = await rule(db, me, ("merchant", "contains", "x"), der_category="X")
    snapshots.append(await data_dump(database_url))
    await rules.update_rule(db, me, made.id, priority=5, actions=RuleActions(der_merchant="Y"))
    snapshots.append(await data_dump(database_url))
    await rules.delete_rule(db, me, made.id)

    for expected in reversed(snapshots):
        page = await changes.list_changes(db, me, limit=50)
        newest = next(c.id for c in page.changes if c.tool != "undo_change" and c.undone_by_change_id is None)
        await changes.undo_change(db, me, newest)
        assert await data_dump(database_url) == expected


async def test_dates_outside_the_filters_are_left_alone(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    await record(db, me, account.id, "-1", merchant="x", date=dt.date(2026, 1, 1))
    await record(db, me, account.id, "-1", merchant="x", date=dt.date(2026, 2, 1))
    await rule(db, me, ("merchant", "equals", "X"), der_category="X")

    done = await rules.apply_rules(db, me, TransactionFilter(start_date=dt.date(2026, 2, 1)), dry_run=False)

    assert done.changed == 1
    assert sorted(str(t.der_category) for t in await all_transactions(db, me)) == ["None", "X"]
