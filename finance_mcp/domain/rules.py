"""Categorisation rules, evaluated: conditions on a transaction's fields, and the values a match fills in.

A rule never overwrites a value the caller gave: on a create, a field counts as given when it has a value
(a category counts as given unless it is a placeholder such as "Uncategorized"); rules run in priority
order and the first rule to fill a field wins it; tags are added, never removed.

Regular expressions come from agents, so they are bounded twice: a pattern is at most `MAX_PATTERN`
characters and is refused when it already runs away on a few probe strings; every match runs with a time
limit (`MATCH_SECONDS`, the `regex` package's `timeout=`, which also releases the GIL so the event loop
keeps serving while it runs in a worker thread). A rule whose match times out is cut off for the rest of
the call: its conditions count as not met, and the call reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import regex

from finance_mcp.domain.errors import Invalid

Field = Literal["merchant", "description", "amount", "account_id", "category"]
Op = Literal["contains", "equals", "starts_with", "regex", "lt", "gt", "between"]
TEXT_FIELDS: frozenset[str] = frozenset({"merchant", "description", "category"})
NUMBER_FIELDS: frozenset[str] = frozenset({"amount", "account_id"})
TEXT_OPS: frozenset[str] = frozenset({"contains", "equals", "starts_with", "regex"})
NUMBER_OPS: frozenset[str] = frozenset({"equals", "lt", "gt", "between"})
ACTION_FIELDS = ("category", "der_category", "der_merchant")
PLACEHOLDER_CATEGORIES = frozenset({"uncategorized", "uncategorised", "unknown", "none", "other", "misc"})
MAX_PATTERN = 200
MAX_TEXT_VALUE = 255
MAX_TAGS = 50
MATCH_SECONDS = 0.05
# Strings that make the usual runaway patterns ((a+)+$, (a|aa)+$, (.*a){20}) explode.
_PROBES = (*(f"{c * 48}!" for c in "a0 .-x"), "a" * 5000)


class RuleCutOff(Exception):
    """A rule's regular expression ran out of time on one value."""


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: Any  # text (lower-cased), a compiled pattern, a Decimal or int, or a (low, high) pair

    def holds(self, row: Mapping[str, Any]) -> bool:
        actual = row.get(self.field)
        if actual is None:
            return False
        if self.field in TEXT_FIELDS:
            return self._text(str(actual))
        number = Decimal(actual) if self.field == "amount" else int(actual)
        if self.op == "equals":
            return number == self.value
        if self.op == "lt":
            return number < self.value
        if self.op == "gt":
            return number > self.value
        low, high = self.value
        return bool(low <= number <= high)

    def _text(self, actual: str) -> bool:
        if self.op == "regex":
            try:
                return self.value.search(actual, timeout=MATCH_SECONDS, concurrent=True) is not None
            except TimeoutError:
                raise RuleCutOff from None
        folded = actual.casefold()
        if self.op == "contains":
            return self.value in folded
        if self.op == "equals":
            return folded == self.value
        return folded.startswith(self.value)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: int
    priority: int
    conditions: tuple[Condition, ...]
    actions: Mapping[str, Any]

    @property
    def uses_regex(self) -> bool:
        return any(c.op == "regex" for c in self.conditions)


@dataclass(slots=True)
class Outcome:
    """What the rules did to one row: the values they filled in, and which rules matched."""

    values: dict[str, Any] = field(default_factory=dict[str, Any])
    rule_ids: list[int] = field(default_factory=list[int])


def check_condition(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A condition as stored (JSON), after checking that its field, op and value go together."""
    name, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if name in TEXT_FIELDS:
        if op not in TEXT_OPS:
            raise Invalid(f"{name} takes the ops {', '.join(sorted(TEXT_OPS))}, not {op!r}")
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"a {op} condition on {name} needs a non-empty text value")
        limit = MAX_PATTERN if op == "regex" else MAX_TEXT_VALUE
        if len(value) > limit:
            raise Invalid(f"a {op} value is at most {limit} characters; shorten it")
        if op == "regex":
            _check_pattern(value)
        return {"field": name, "op": op, "value": value if op == "regex" else value.strip()}
    if name in NUMBER_FIELDS:
        if op not in NUMBER_OPS:
            raise Invalid(f"{name} takes the ops {', '.join(sorted(NUMBER_OPS))}, not {op!r}")
        if op == "between":
            if not isinstance(value, list | tuple) or len(value) != 2:  # pyright: ignore[reportUnknownArgumentType]
                raise Invalid('between needs a value of two numbers [low, high], e.g. ["-50.00", "-10.00"]')
            low, high = (_number(name, v) for v in value)  # pyright: ignore[reportUnknownVariableType]
            if low > high:
                raise Invalid(f"between's low value {low} is above its high value {high}; swap them")
            return {"field": name, "op": op, "value": [str(low), str(high)]}
        return {"field": name, "op": op, "value": str(_number(name, value))}
    raise Invalid(f"field must be one of merchant, description, amount, account_id, category; got {name!r}")


def _number(name: str, value: Any) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(f'{name} conditions compare with a number, e.g. "-10.00"; got {value!r}') from None
    if not number.is_finite() or abs(number) >= 10**13 or (name == "account_id" and number != int(number)):
        raise Invalid(f"{value!r} is not a usable {name}")
    return number


def _check_pattern(pattern: str) -> None:
    try:
        compiled = regex.compile(pattern, regex.IGNORECASE | regex.V0)
    except (regex.error, ValueError, OverflowError, RecursionError) as error:
        raise Invalid(f"the regex does not compile ({error}); fix the pattern") from None
    for probe in _PROBES:
        try:
            compiled.search(probe, timeout=MATCH_SECONDS)
        except TimeoutError:
            raise Invalid(
                "the regex backtracks catastrophically (it ran out of time on a short test string); "
                "avoid nested repetition such as (a+)+ or (a|aa)+, or use contains / starts_with"
            ) from None


def check_actions(raw: Mapping[str, Any]) -> dict[str, Any]:
    actions: dict[str, Any] = {name: raw[name] for name in ACTION_FIELDS if raw.get(name)}
    wanted: list[str] = raw.get("add_tags") or []
    tags = [tag for tag in wanted if tag]
    if tags:
        actions["add_tags"] = tags
    if not actions:
        raise Invalid("actions must set at least one of category, der_category, der_merchant or add_tags")
    return actions


def compile_rule(row: Mapping[str, Any]) -> CompiledRule:
    conditions: list[Condition] = []
    for raw in row["conditions"]:
        name, op, value = raw["field"], raw["op"], raw["value"]
        if op == "regex":
            compiled: Any = regex.compile(value, regex.IGNORECASE | regex.V0)
        elif name in TEXT_FIELDS:
            compiled = str(value).casefold()
        elif op == "between":
            compiled = tuple(Decimal(v) for v in value)
        else:
            compiled = Decimal(value)
        conditions.append(Condition(name, op, compiled))
    return CompiledRule(int(row["id"]), int(row["priority"]), tuple(conditions), row["actions"])


def given_fields(row: Mapping[str, Any]) -> set[str]:
    """The fields of a new row its caller gave (a placeholder category counts as not given)."""
    given = {name for name in ("der_category", "der_merchant") if row.get(name)}
    category = str(row.get("category") or "").strip().casefold()
    if category and category not in PLACEHOLDER_CATEGORIES:
        given.add("category")
    return given


@dataclass(slots=True)
class RuleRun:
    """One call's run of rules over rows: rules cut off by a runaway match stay cut off for the call."""

    rules: Sequence[CompiledRule]
    cut_off: set[int] = field(default_factory=set[int])

    def outcome(self, row: Mapping[str, Any], given: Iterable[str]) -> Outcome:
        """What the rules fill in on `row`, leaving the fields in `given` alone."""
        taken, found = set(given), Outcome()
        tags: list[str] = list(row.get("tags") or [])
        for rule in self.rules:
            if rule.id in self.cut_off or not self._matches(rule, row):
                continue
            found.rule_ids.append(rule.id)
            for name in ACTION_FIELDS:
                value = rule.actions.get(name)
                if value and name not in taken:
                    found.values[name] = value
                    taken.add(name)
            known = {tag.casefold() for tag in tags}
            added: list[str] = rule.actions.get("add_tags") or []
            for tag in added:
                if tag.casefold() not in known and len(tags) < MAX_TAGS:
                    tags.append(tag)
                    known.add(tag.casefold())
        if len(tags) != len(row.get("tags") or []):
            found.values["tags"] = tags
        return found

    def _matches(self, rule: CompiledRule, row: Mapping[str, Any]) -> bool:
        try:
            return all(condition.holds(row) for condition in rule.conditions)
        except RuleCutOff:
            self.cut_off.add(rule.id)
            return False
