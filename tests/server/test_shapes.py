"""Output schemas in `tools/list`: a shared shape is spelt out by its owner and named by every other tool."""

from __future__ import annotations

from finance_mcp.server.tools.shapes import SHAPES, result_schema

ROW = {
    "title": "TransactionRead",
    "type": "object",
    "properties": {
        "description": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "Free text"},
        "amount": {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "Exact decimal"},
        "date": {"type": "string", "format": "date"},
    },
    "required": ["description", "amount", "date"],
}
PAGE = {
    "title": "TransactionPage",
    "type": "object",
    "$defs": {"TransactionRead": ROW, "Cursor": {"type": "object", "properties": {"at": {"description": "x"}}}},
    "properties": {
        "transactions": {"type": "array", "items": {"$ref": "#/$defs/TransactionRead"}},
        "total": {"type": "integer", "description": "How many match, across all pages"},
        "cursor": {"$ref": "#/$defs/Cursor"},
    },
    "required": ["transactions", "total"],
}


def test_the_owner_spells_the_shape_out_and_keeps_its_field_descriptions_and_property_names() -> None:
    owner, _words = SHAPES["TransactionRead"]
    published = result_schema(ROW, tool=owner)
    assert published is not None
    assert set(published["properties"]) == {"description", "amount", "date"}
    assert published["properties"]["description"]["description"] == "Free text"
    assert published["properties"]["date"] == {"type": "string", "format": "date"}
    assert published["properties"]["amount"] == {"type": "string"}  # an amount is explained once, server-wide
    assert "title" not in published


def test_another_tool_names_a_shared_shape_in_words_instead_of_repeating_it() -> None:
    _owner, words = SHAPES["TransactionRead"]
    published = result_schema(PAGE, tool="list_transactions")
    assert published is not None
    assert published["properties"]["transactions"]["items"] == {"type": "object", "description": words}
    assert set(published["$defs"]) == {"Cursor"}  # the named shape's definition is gone, others stay
    assert published["$defs"]["Cursor"] == {"type": "object", "properties": {"at": {}}}  # nested: plain
    assert published["properties"]["total"]["description"] == "How many match, across all pages"
    assert "required" not in published  # a result's fields are there unless described "only when"


def test_a_shape_used_only_inside_a_named_one_goes_with_it() -> None:
    part = {"type": "object", "properties": {"amount": {"type": "string"}}}
    row = {**ROW, "properties": {**ROW["properties"], "parts": {"type": "array", "items": {"$ref": "#/$defs/Part"}}}}
    page = {**PAGE, "$defs": {**PAGE["$defs"], "TransactionRead": row, "Part": part}}

    published = result_schema(page, tool="list_transactions")

    assert published is not None
    assert set(published["$defs"]) == {"Cursor"}


def test_a_result_that_is_a_shared_shape_is_named_whole() -> None:
    _owner, words = SHAPES["TransactionRead"]
    assert result_schema(ROW, tool="update_transaction") == {"type": "object", "description": words, "properties": {}}
    assert result_schema(None, tool="whoami") is None
