"""Categorisation rules: create, list, change, delete, and apply them to transactions already recorded.

New transactions get them on every create (`services/transactions.py: with_rules`). Evaluating rules
with a regular expression runs in a worker thread (the `regex` package releases the GIL while it
matches), so a slow pattern never holds up the other calls this process is serving.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import anyio

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.domain.quotas import row_bytes
from finance_mcp.domain.rules import Outcome, RuleRun, check_actions, check_condition, compile_rule, given_fields
from finance_mcp.repositories.change_recorder import image
from finance_mcp.repositories.ids import storable
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.rules import (
    FieldChange,
    RuleActions,
    RuleCondition,
    RuleDeleted,
    RuleEffect,
    RuleList,
    RuleRead,
    RulesApplied,
)
from finance_mcp.schemas.transactions import TransactionFilter

MAX_RULES = 100
MAX_CONDITIONS = 10
MAX_APPLY = 5000
SAMPLE = 20
DEFAULT_PRIORITY = 100
ZERO_DELTA = Decimal("0.00")  # rules move no money: only the account's stored bytes


def rule_not_found(rule_id: int) -> NotFound:
    return NotFound(f"Rule {rule_id} was not found in your household; call list_rules to find the right id.")


def to_rule(row: Mapping[str, Any]) -> RuleRead:
    return RuleRead.model_validate(dict(row))


def _conditions(conditions: Sequence[RuleCondition]) -> list[dict[str, Any]]:
    if not 1 <= len(conditions) <= MAX_CONDITIONS:
        raise Invalid(f"a rule has 1 to {MAX_CONDITIONS} conditions (all must hold), got {len(conditions)}")
    return [check_condition(c.model_dump()) for c in conditions]


def _name(name: str) -> str:
    if not 1 <= len(name.strip()) <= 100:
        raise Invalid("name must be 1 to 100 characters")
    return name.strip()


async def create_rule(
    db: Database,
    principal: Principal,
    *,
    name: str,
    conditions: Sequence[RuleCondition],
    actions: RuleActions,
    priority: int | None = None,
) -> RuleRead:
    principal.require(Permission.WRITE)
    now = dt.datetime.now(dt.UTC)
    values = {
        "name": _name(name),
        "conditions": _conditions(conditions),
        "actions": check_actions(actions.model_dump()),
        "priority": DEFAULT_PRIORITY if priority is None else priority,
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
    }
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        if len(await uow.rules.list()) >= MAX_RULES:
            raise Invalid(f"A household holds at most {MAX_RULES} rules; delete one first (delete_rule).")
        row = await uow.rules.add(values)
        summary = f'Created the rule "{values["name"]}" (priority {values["priority"]})'
        uow.log.describe(by=principal, tool="create_rule", summary=summary, entity_type="rule", entity_id=row["id"])
        uow.log.row("rules", int(row["id"]), None, image(row))
        await uow.commit()
    return to_rule(row)


async def list_rules(db: Database, principal: Principal) -> RuleList:
    principal.require(Permission.READ)
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        rows = await uow.rules.list()
    return RuleList(rules=[to_rule(row) for row in rows], total=len(rows))


async def update_rule(
    db: Database,
    principal: Principal,
    rule_id: int,
    *,
    name: str | None = None,
    conditions: Sequence[RuleCondition] | None = None,
    actions: RuleActions | None = None,
    priority: int | None = None,
) -> RuleRead:
    principal.require(Permission.WRITE)
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _name(name)
    if conditions is not None:
        values["conditions"] = _conditions(conditions)
    if actions is not None:
        values["actions"] = check_actions(actions.model_dump())
    if priority is not None:
        values["priority"] = priority
    if not values:
        raise Invalid("Nothing to change: give a new name, conditions, actions or priority (null means unchanged).")
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        current = await uow.rules.get(rule_id, for_update=True)
        if current is None:
            raise rule_not_found(rule_id)
        row = await uow.rules.update(rule_id, {**values, "updated_at": dt.datetime.now(dt.UTC)})
        summary = f'Changed {", ".join(sorted(values))} of the rule "{row["name"]}"'
        uow.log.describe(by=principal, tool="update_rule", summary=summary, entity_type="rule", entity_id=rule_id)
        uow.log.row("rules", rule_id, image(current), image(row))
        await uow.commit()
    return to_rule(row)


async def delete_rule(db: Database, principal: Principal, rule_id: int) -> RuleDeleted:
    principal.require(Permission.WRITE)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        removed = await uow.rules.delete(rule_id) if storable(rule_id) else None
        if removed is None:
            raise rule_not_found(rule_id)
        summary = f'Deleted the rule "{removed["name"]}"'
        uow.log.describe(by=principal, tool="delete_rule", summary=summary, entity_type="rule", entity_id=rule_id)
        uow.log.row("rules", rule_id, image(removed), None)
        await uow.commit()
    return RuleDeleted(rule_id=rule_id)


def rule_run(rows: Sequence[Mapping[str, Any]]) -> RuleRun:
    return RuleRun([compile_rule(row) for row in rows])


async def outcomes(run: RuleRun, rows: Sequence[Mapping[str, Any]], given: Sequence[set[str]]) -> list[Outcome]:
    """The rules' outcome on each row; off the event loop when a rule has a regular expression."""

    def evaluate() -> list[Outcome]:
        return [run.outcome(row, taken) for row, taken in zip(rows, given, strict=True)]

    if any(rule.uses_regex for rule in run.rules):
        return await anyio.to_thread.run_sync(evaluate)
    return evaluate()


async def apply_rules(
    db: Database,
    principal: Principal,
    filters: TransactionFilter,
    *,
    dry_run: bool = True,
    overwrite: bool = False,
    rule_ids: Sequence[int] | None = None,
) -> RulesApplied:
    """Run the rules over recorded transactions; with `overwrite`, their values replace those already set."""
    principal.require(Permission.READ if dry_run else Permission.WRITE)
    units = UnitsOfWork(db)
    async with units.snapshot(principal.household_id) if dry_run else units.write(principal.household_id) as uow:
        chosen = await _chosen_rules(uow, rule_ids)
        page = await uow.transactions.page(filters, limit=MAX_APPLY, after=None)
        if page.more:
            raise Invalid(
                f"More than {MAX_APPLY} transactions match; narrow the filters (start_date and end_date) and "
                "apply the rules range by range."
            )
        rows = page.rows if dry_run else await uow.transactions.locked([int(r["id"]) for r in page.rows])
        run = rule_run(chosen)
        given = [set[str]() if overwrite else given_fields(row) for row in rows]
        found = await outcomes(run, rows, given)
        effects = [_effect(row, outcome) for row, outcome in zip(rows, found, strict=True)]
        changed = [(row, effect) for row, effect in zip(rows, effects, strict=True) if effect.changes]
        if not dry_run and changed:
            await _write(uow, principal, changed)
    return RulesApplied(
        dry_run=dry_run,
        matched=len(rows),
        changed=len(changed),
        sample=[effect for _, effect in changed[:SAMPLE]],
        cut_off_rules=sorted(run.cut_off),
    )


async def _chosen_rules(uow: UnitOfWork, rule_ids: Sequence[int] | None) -> list[dict[str, Any]]:
    rows = await uow.rules.list()
    if rule_ids is None:
        return rows
    known = {int(row["id"]) for row in rows}
    for rule_id in rule_ids:
        if rule_id not in known:
            raise rule_not_found(rule_id)
    return [row for row in rows if int(row["id"]) in set(rule_ids)]


def _effect(row: Mapping[str, Any], outcome: Outcome) -> RuleEffect:
    changes = {
        name: FieldChange(before=row.get(name), after=value)
        for name, value in outcome.values.items()
        if row.get(name) != value
    }
    return RuleEffect(transaction_id=int(row["id"]), rule_ids=outcome.rule_ids, changes=changes)


async def _write(
    uow: UnitOfWork, principal: Principal, changed: Sequence[tuple[Mapping[str, Any], RuleEffect]]
) -> None:
    now = dt.datetime.now(dt.UTC)
    sizes: dict[int, int] = {}
    for row, effect in changed:
        values = {name: change.after for name, change in effect.changes.items()}
        updated = await uow.transactions.update(effect.transaction_id, values, now=now)
        account_id = int(row["account_id"])
        sizes[account_id] = sizes.get(account_id, 0) + row_bytes(updated) - row_bytes(row)
        uow.log.row("transactions", effect.transaction_id, image(row), image(updated))
    grown = sum(size for size in sizes.values() if size > 0)
    if grown and principal.quotas.on_rows:
        await uow.usage.lock()
        held_rows, held_bytes = await uow.usage.totals()
        principal.quotas.check_rows(held_rows=held_rows, held_bytes=held_bytes, rows=0, added_bytes=grown)
    for account_id in sorted(sizes):
        if sizes[account_id]:
            await uow.accounts.adjust_balance(account_id, ZERO_DELTA, rows=0, size=sizes[account_id], now=now)
            uow.log.totals(account_id, ZERO_DELTA, rows=0, size=sizes[account_id], now=now)
    summary = f"Applied rules to {len(changed)} transactions"
    uow.log.describe(by=principal, tool="apply_rules", summary=summary, entity_type="rule")
    await uow.commit()
