"""Output schemas as `tools/list` publishes them: what a result holds, said once.

Every tool's output schema is self-contained, so the same transaction or account shape used to be spelt out
in every tool that returns one, and an assistant read it five times over. Here a shape is spelt out in full by
one tool, its owner (`get_transaction` for a transaction), and the other tools name it in words
("a transaction, as get_transaction returns it"). Inside a result, descriptions of nested fields, `pattern`,
`format`, `default` and `required` go too: field names and the tool's description say what they mean, and
the values arrive typed. The top-level fields of a result keep their descriptions, since those carry its
meaning (`other`, `group_count`). Arguments are shared the same way (`ARGUMENT_SHAPES`): a batch's rows keep
their types and bounds, and their descriptions are create_transaction's.

Only the published schema changes: the SDK still validates every result against the output model itself.
"""

from __future__ import annotations

from typing import Any, cast

# A shape (a `$defs` name), the tool that spells it out, and the words every other tool uses for it.
SHAPES: dict[str, tuple[str, str]] = {
    "TransactionRead": ("get_transaction", "A transaction: the fields get_transaction returns"),
    "AccountRead": ("get_account", "An account: the fields get_account returns"),
    "ApiKeyRead": ("list_api_keys", "An API key: the fields list_api_keys returns for each key"),
    "Period": ("spending_summary", "{start_date, end_date, days}, as in spending_summary"),
    "Filters": ("spending_summary", "The filters applied, as in spending_summary"),
    "Totals": ("spending_summary", "{spending, income, net, count}, as in spending_summary"),
    "AccountBalance": ("net_worth", "{account_id, name, account_type, currency, balance}, as in net_worth"),
    "CurrencyTotal": ("net_worth", "{currency, balance}"),
    "BudgetStatus": ("budget_status", "A budget's month: the fields of budget_status's budgets"),
    "DueItem": ("upcoming", "A due date: the fields of upcoming's items"),
}
_NESTED_NOISE = frozenset({"description", "pattern", "format", "default", "required"})
# An argument shape another tool takes field by field, and that tool: elsewhere its fields keep their
# types and bounds, and their descriptions are that tool's.
ARGUMENT_SHAPES: dict[str, str] = {
    "TransactionFields": "create_transaction",
    "SplitPart": "create_transaction",
    "RuleActions": "create_rule",
    "RuleCondition": "create_rule",
}


# A tool whose arguments repeat another's, registered before it: a description said there is not said again.
FIELDS_AS: dict[str, str] = {"update_transaction": "create_transaction"}


def described_once(schema: dict[str, Any], owner: Any, *, tool: str) -> dict[str, Any]:
    """`schema` without the argument descriptions that `owner` (the tool's `FIELDS_AS`) already gives."""
    if owner is None or tool not in FIELDS_AS:
        return schema
    theirs = cast(dict[str, Any], owner.parameters.get("properties", {}))
    mine = cast(dict[str, Any], schema.get("properties", {}))
    same = {
        name
        for name, field in mine.items()
        if "description" in field and theirs.get(name, {}).get("description") == field["description"]
    }
    properties = {
        name: {key: value for key, value in field.items() if not (key == "description" and name in same)}
        for name, field in mine.items()
    }
    return {**schema, "properties": properties}


def arguments_schema(schema: dict[str, Any], *, tool: str) -> dict[str, Any]:
    """An input schema with the argument shapes described by another tool kept whole but without their
    field descriptions, which point to that tool instead."""
    defs = cast(dict[str, Any], schema.get("$defs", {}))
    shared = {name: owner for name, owner in ARGUMENT_SHAPES.items() if name in defs and owner != tool}
    if not shared:
        return schema
    described = {
        name: {**_plain(body), "description": f"The fields of {shared[name]}, described there"}
        if name in shared
        else body
        for name, body in defs.items()
    }
    return {**schema, "$defs": described}


def result_schema(schema: dict[str, Any] | None, *, tool: str) -> dict[str, Any] | None:
    """`schema` (an output schema as pydantic writes it) with shared shapes named, not repeated, and nested
    descriptions, patterns and formats left out."""
    if schema is None:
        return None
    shape = SHAPES.get(schema.get("title", ""))
    if shape is not None and shape[0] != tool:  # the whole result is a shared shape
        return {"type": "object", "description": shape[1], "properties": {}}  # (a repeat adds `replayed`)
    schema = {key: value for key, value in schema.items() if key != "title"}
    defs = cast(dict[str, Any], schema.get("$defs", {}))
    named = {name for name in defs if name in SHAPES and SHAPES[name][0] != tool}
    # `required` goes too: a result's fields are all there unless their description says "only when".
    published = {key: value for key, value in schema.items() if key not in ("$defs", "properties", "required")}
    if isinstance(properties := schema.get("properties"), dict):
        published["properties"] = {
            name: _named(_top_level(field), named) for name, field in cast(dict[str, Any], properties).items()
        }
    kept = {name: _named(_plain(body), named) for name, body in defs.items() if name not in named}
    if kept := {name: body for name, body in kept.items() if name in _referenced(published, kept)}:
        published["$defs"] = kept
    return published


def _referenced(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The `$defs` names reachable from `schema`: a shape used only inside a named one goes with it."""
    found: set[str] = set()
    pending: list[Any] = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(cast(list[Any], node))
        elif isinstance(node, dict):
            node = cast(dict[str, Any], node)
            ref = node.get("$ref")
            if isinstance(ref, str) and (name := ref.removeprefix("#/$defs/")) in defs and name not in found:
                found.add(name)
                pending.append(defs[name])
            pending.extend(value for key, value in node.items() if key != "$ref")
    return found


def _named(schema: Any, named: set[str]) -> Any:
    """`schema` with every `$ref` to a named shape replaced by the shape's words."""
    if isinstance(schema, list):
        return [_named(item, named) for item in cast(list[Any], schema)]
    if not isinstance(schema, dict):
        return schema
    node = cast(dict[str, Any], schema)
    ref = node.get("$ref")
    if isinstance(ref, str) and (name := ref.removeprefix("#/$defs/")) in named:
        rest = {key: value for key, value in node.items() if key != "$ref"}
        return {"type": "object", **rest, "description": SHAPES[name][1]}
    return {key: _named(value, named) for key, value in node.items()}


def _top_level(field: Any) -> Any:
    """A result's own field: its description kept, what is nested in it made plain."""
    if not isinstance(field, dict):
        return field
    node = cast(dict[str, Any], field)
    if "pattern" in node:  # an amount: the server's instructions say once what amounts are
        return _plain(node)
    return {key: value if key == "description" else _plain(value) for key, value in node.items() if key != "default"}


def _plain(schema: Any) -> Any:
    """`schema` without descriptions, patterns and formats (keywords only: a property so named stays)."""
    if isinstance(schema, list):
        return [_plain(item) for item in cast(list[Any], schema)]
    if not isinstance(schema, dict):
        return schema
    plain: dict[str, Any] = {}
    for key, value in cast(dict[str, Any], schema).items():
        if key in _NESTED_NOISE:
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            plain[key] = {name: _plain(sub) for name, sub in cast(dict[str, Any], value).items()}
        else:
            plain[key] = _plain(value)
    return plain
