"""Quicken Interchange Format: records of one-letter fields ending in `^`. Small and line-based, so read
here (the PyPI QIF readers pull in pandas for it). QIF has no transaction ids: rows are fingerprinted."""

from __future__ import annotations

from finance_mcp.imports.rows import CATEGORY_MAX, DESCRIPTION_MAX, MERCHANT_MAX, Parsed, ParsedRow, Problem, clip
from finance_mcp.imports.values import BadValue, infer_date_format, read_amount, read_date, strptime_format

# Account types whose records are transactions; investment, memorised and category lists are not.
TRANSACTION_TYPES = {"bank", "cash", "ccard", "oth a", "oth l", "invoice"}


def parse_qif(content: str, *, date_format: str | None) -> Parsed:
    parsed = Parsed(format="qif")
    records: list[tuple[int, dict[str, list[str]]]] = []
    fields: dict[str, list[str]] = {}
    start, kind = 0, "bank"
    for number, raw in enumerate(content.lstrip("\ufeff").splitlines(), start=1):
        line = raw.rstrip()
        if not line:
            continue
        if line.startswith("!"):
            if line.lower().startswith("!type:"):
                kind = line[6:].strip().lower()
            continue
        if line.startswith("^"):
            if fields and kind in TRANSACTION_TYPES:
                records.append((start, fields))
            fields = {}
            continue
        if not fields:
            start = number
        fields.setdefault(line[0].upper(), []).append(line[1:])
    if fields and kind in TRANSACTION_TYPES:
        records.append((start, fields))  # a last record without its closing ^
    parsed.rows_read = len(records)
    if not records:
        parsed.problems.append(Problem(0, "no transactions found: a QIF file has !Type:Bank and records ending in ^"))
        return parsed
    fmt, note = _date_format(records, date_format)
    if note:
        parsed.notes.append(note)
    for line, record in records:
        try:
            parsed.rows.append(_row(line, record, fmt))
        except BadValue as bad:
            parsed.problems.append(Problem(line, str(bad)))
    return parsed


def _date_format(records: list[tuple[int, dict[str, list[str]]]], date_format: str | None) -> tuple[str, str | None]:
    if date_format:
        return strptime_format(date_format), None
    fmt, note = infer_date_format([r["D"][0] for _, r in records if "D" in r], day_first=None)
    return fmt or "%m/%d/%Y", note


def _row(line: int, record: dict[str, list[str]], fmt: str) -> ParsedRow:
    if "D" not in record:
        raise BadValue("the record has no D (date) line")
    amount = record.get("T") or record.get("U")
    if not amount:
        raise BadValue("the record has no T (amount) line")
    payee, memo = _first(record, "P"), _first(record, "M")
    category = _first(record, "L")
    if category and category.startswith("["):
        category = None  # a transfer to another account, not a category
    return ParsedRow(
        row=line,
        date=read_date(record["D"][0], fmt),
        amount=read_amount(amount[0]),
        description=clip(memo or payee, DESCRIPTION_MAX),
        merchant=clip(payee, MERCHANT_MAX),
        category=clip(category, CATEGORY_MAX),
    )


def _first(record: dict[str, list[str]], code: str) -> str | None:
    values = record.get(code)
    return values[0].strip() or None if values else None
