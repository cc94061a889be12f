"""What every format reads a file into: rows, problems with their row numbers, and each row's fingerprint."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

FORMATS = ("csv", "ofx", "qfx", "qif", "camt053", "json")
DESCRIPTION_MAX = 1000
MERCHANT_MAX = 255
CATEGORY_MAX = 100


@dataclass(slots=True)
class ParsedRow:
    """One transaction read from a file (`row`: where it is in the file, see the package's docstring)."""

    row: int
    date: dt.date
    amount: Decimal
    description: str | None = None
    merchant: str | None = None
    category: str | None = None
    bank_id: str | None = None  # the bank's own id of the transaction (OFX FITID, CAMT AcctSvcrRef)
    fingerprint: str = ""
    # Only finance-mcp's own export carries these (a bank's file leaves them empty).
    location: str | None = None
    der_category: str | None = None
    der_merchant: str | None = None
    tags: list[str] = field(default_factory=list[str])


@dataclass(frozen=True, slots=True)
class Problem:
    row: int
    reason: str


@dataclass(slots=True)
class Parsed:
    format: str
    rows: list[ParsedRow] = field(default_factory=list[ParsedRow])
    problems: list[Problem] = field(default_factory=list[Problem])
    notes: list[str] = field(default_factory=list[str])
    rows_read: int = 0  # rows seen, read or not


_SPACES = re.compile(r"\s+")


def normalised(text: str | None) -> str:
    """Text as a fingerprint compares it: same letters whatever the case, accents' encoding and spacing."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().casefold()


def clip(text: str | None, limit: int) -> str | None:
    """Trimmed text within a column's limit; None when empty."""
    cleaned = _SPACES.sub(" ", text or "").strip()
    return cleaned[:limit] or None


# What the schemas' `strip_whitespace` trims (Unicode White_Space): Python's `str.strip()` also trims
# U+001C..U+001F, which a stored text may end with.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace() and c not in range(0x1C, 0x20))


def trimmed(text: str | None, limit: int) -> str | None:
    """Text as a transaction stores it: trimmed, inner spacing and newlines kept; None when empty."""
    return (text or "").strip(WHITESPACE)[:limit].strip(WHITESPACE) or None


def parse_tags_field(field: str) -> list[str]:
    """The tags of an export's `tags` field: split on the `;` not escaped by a backslash, then `\\;` is `;`
    and `\\\\` is `\\` (the inverse of `services.exports.tags_field`)."""
    if not field:
        return []
    tags: list[str] = []
    current: list[str] = []
    chars = iter(field)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ";":
            tags.append("".join(current))
            current = []
        else:
            current.append(char)
    tags.append("".join(current))
    return tags


def fingerprint(row: ParsedRow, occurrence: int) -> str:
    """A stable id of the row within its account: the bank's id when the file has one, else date, amount,
    text and the how-manieth such row of the file it is (two identical coffees on one day stay two)."""
    if row.bank_id:
        key = f"id\x1f{row.bank_id.strip()}"
    else:
        text = normalised(" ".join(part for part in (row.merchant, row.description) if part))
        key = f"row\x1f{row.date.isoformat()}\x1f{row.amount:.2f}\x1f{text}\x1f{occurrence}"
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def fingerprint_rows(rows: Iterable[ParsedRow]) -> None:
    seen: dict[tuple[object, ...], int] = {}
    for row in rows:
        key = (row.date, row.amount, normalised(row.merchant), normalised(row.description))
        seen[key] = occurrence = seen.get(key, 0) + 1
        row.fingerprint = fingerprint(row, occurrence)
