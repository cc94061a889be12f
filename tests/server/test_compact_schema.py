"""`tools/list` schemas lose pydantic's noise keywords and nothing else."""

from __future__ import annotations

from finance_mcp.server.tools import compact_schema


def test_titles_and_decimal_constraints_go_property_names_and_meaning_stay() -> None:
    schema = {
        "title": "Args",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "type": "string", "maxLength": 5},
            "amount": {"anyOf": [{"type": "string", "title": "A"}, {"type": "null"}], "max_digits": 15},
            "tags": {"type": "array", "items": {"title": "Tag", "type": "string"}},
        },
        "$defs": {"Row": {"title": "Row", "type": "object", "additionalProperties": {"title": "X", "type": "integer"}}},
        "required": ["title"],
        "examples": [{"title": "kept: example values are data, not keywords"}],
    }

    assert compact_schema(schema) == {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 5},
            "amount": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "$defs": {"Row": {"type": "object", "additionalProperties": {"type": "integer"}}},
        "required": ["title"],
        "examples": [{"title": "kept: example values are data, not keywords"}],
    }


def test_a_union_of_plain_types_becomes_one_type_list_and_a_null_default_goes() -> None:
    schema = {
        "properties": {
            "limit": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "default": None},
            "amount": {"anyOf": [{"anyOf": [{"type": "number"}, {"type": "string"}]}, {"type": "null"}]},
            "kept": {"anyOf": [{"$ref": "#/$defs/Row"}, {"type": "null"}], "default": None},
            "clash": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "array", "maxLength": 4}]},
            "choice": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]},
            "flag": {"type": "boolean", "default": False},
        }
    }

    assert compact_schema(schema)["properties"] == {
        "limit": {"type": ["integer", "null"], "minimum": 1},
        "amount": {"type": ["number", "string", "null"]},
        "kept": {"anyOf": [{"$ref": "#/$defs/Row"}, {"type": "null"}]},
        "clash": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "array", "maxLength": 4}]},
        "choice": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]},
        "flag": {"type": "boolean", "default": False},
    }


def test_a_missing_schema_stays_missing() -> None:
    assert compact_schema(None) is None
