"""finance-mcp's own JSON export (`services/exports.py`): `{"format": "finance-mcp.transactions", "version": 1,
"transactions": [...]}`, each transaction as `list_transactions` returns it, read back as it was stored (text,
tags, location, der_category and der_merchant). Its `id` is this server's id on the exporting account, so it is
not used as a bank id: the fingerprint is the date, amount, text and occurrence. Row numbers are positions."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from finance_mcp.imports.rows import (
    CATEGORY_MAX,
    DESCRIPTION_MAX,
    MERCHANT_MAX,
    WHITESPACE,
    Parsed,
    ParsedRow,
    Problem,
    trimmed,
)
from finance_mcp.imports.values import BadValue

JSON_FORMAT = "finance-mcp.transactions"
TAGS_MAX, TAG_MAX = 50, 100


def parse_finance_json(content: str) -> Parsed:
    parsed = Parsed(format="json")
    try:
        document: Any = json.loads(content.lstrip("\ufeff"))
    except ValueError as bad:
        parsed.problems.append(Problem(0, f"the file is not valid JSON ({bad})"))
        return parsed
    fields: dict[str, Any] = cast(dict[str, Any], document) if isinstance(document, dict) else {}
    items: Any = fields.get("transactions")
    if fields.get("format") != JSON_FORMAT or not isinstance(items, list):
        wanted = f'{{"format": "{JSON_FORMAT}", "version": 1, "transactions": [...]}}'
        parsed.problems.append(Problem(0, f"JSON import reads finance-mcp's own export only: {wanted}"))
        return parsed
    transactions: list[Any] = items  # pyright: ignore[reportUnknownVariableType]
    parsed.rows_read = len(transactions)
    for position, item in enumerate(transactions, start=1):
        try:
            parsed.rows.append(_row(position, item))
        except BadValue as bad:
            parsed.problems.append(Problem(position, str(bad)))
    return parsed


def _text(item: dict[str, Any], name: str, limit: int) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise BadValue(f"{name} must be text or null")
    return trimmed(value, limit)


def _row(position: int, item: Any) -> ParsedRow:
    if not isinstance(item, dict):
        raise BadValue("a transaction must be a JSON object")
    fields: dict[str, Any] = item  # pyright: ignore[reportUnknownVariableType]
    try:
        when = dt.date.fromisoformat(str(fields.get("date")))
    except ValueError:
        raise BadValue("date must be written YYYY-MM-DD") from None
    try:
        amount = Decimal(str(fields.get("amount")))
    except InvalidOperation:
        raise BadValue('amount must be a number written as text, e.g. "-12.50"') from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise BadValue('amount must be a number with at most two decimals, e.g. "-12.50"')
    raw_tags: Any = fields.get("tags") or []
    if not isinstance(raw_tags, list) or not all(isinstance(tag, str) for tag in raw_tags):  # pyright: ignore[reportUnknownVariableType]
        raise BadValue("tags must be a list of texts")
    kept: dict[str, str] = {}
    for tag in raw_tags:  # pyright: ignore[reportUnknownVariableType]
        cleaned = str(tag).strip(WHITESPACE)  # pyright: ignore[reportUnknownArgumentType]
        if cleaned:
            kept.setdefault(cleaned.lower(), cleaned)
    if len(kept) > TAGS_MAX or any(len(tag.lower()) > TAG_MAX for tag in kept.values()):
        raise BadValue(f"at most {TAGS_MAX} tags of at most {TAG_MAX} characters each")
    return ParsedRow(
        row=position,
        date=when,
        amount=amount.quantize(Decimal("0.01")),
        description=_text(fields, "description", DESCRIPTION_MAX),
        merchant=_text(fields, "merchant", MERCHANT_MAX),
        category=_text(fields, "category", CATEGORY_MAX),
        location=_text(fields, "location", MERCHANT_MAX),
        der_category=_text(fields, "der_category", CATEGORY_MAX),
        der_merchant=_text(fields, "der_merchant", MERCHANT_MAX),
        tags=list(kept.values()),
    )
