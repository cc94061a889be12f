"""Bank CSV exports: one signed amount column, or debit and credit columns, or an amount and a direction
(ING's "Af Bij"); comma, semicolon, tab or pipe; decimal commas; headers in English, German, French,
Spanish and Dutch, after any preamble lines some banks put above them. `mapping` names columns when the
headers are not recognised.

finance-mcp's own export (`services/exports.py`, recognised by its header names) is read as written: ISO
dates, text kept as stored (newlines too), and its tags, location, der_category and der_merchant carried over;
its `id` column is this server's id on the exporting account, so it is not used as the bank's id (the
fingerprint is the date, amount, text and occurrence, as for any file without bank ids)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from finance_mcp.imports.rows import (
    CATEGORY_MAX,
    DESCRIPTION_MAX,
    MERCHANT_MAX,
    WHITESPACE,
    Parsed,
    ParsedRow,
    Problem,
    clip,
    parse_tags_field,
    trimmed,
)
from finance_mcp.imports.values import BadValue, infer_date_format, read_amount, read_date, strptime_format


def _names(joined: str) -> tuple[str, ...]:
    return tuple(joined.split("|"))


# Header names per role, most telling first (normalised: lower case, no accents, punctuation as spaces).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": _names(
        "transaction date|date|booking date|posting date|posted date|post date|trans date|"
        "buchungstag|buchungsdatum|datum|date operation|date de l operation|date comptable|"
        "fecha operacion|fecha|f operacion|fecha contable|transactiedatum|boekdatum|value date|"
        "valutadatum|valuta|wertstellung|date de valeur|date valeur|fecha valor|rentedatum"
    ),
    "amount": _names(
        "amount|transaction amount|betrag|betrag eur|umsatz|montant|montant eur|importe|"
        "importe eur|bedrag|bedrag eur|value"
    ),
    "debit": _names(
        "debit|debit amount|withdrawal|withdrawals|paid out|money out|soll|ausgang|debit euros|"
        "montant debit|cargo|cargos|debe|uitgaven"
    ),
    "credit": _names(
        "credit|credit amount|deposit|deposits|paid in|money in|haben|eingang|credit euros|"
        "montant credit|abono|abonos|haber|inkomsten"
    ),
    "direction": _names("af bij|debit credit|dr cr|soll haben|s h|cargo abono"),
    "description": _names(
        "description|verwendungszweck|libelle|libelle operation|concepto|descripcion|"
        "mededelingen|omschrijving|details|memo|narrative|buchungstext|beschreibung|intitule|"
        "detail|observaciones|transaction details"
    ),
    "merchant": _names(
        "payee|merchant|beguenstigter zahlungspflichtiger|begunstigter zahlungspflichtiger|"
        "auftraggeber empfanger|empfanger|zahlungsempfanger|name|naam omschrijving|naam|"
        "tegenpartij|beneficiaire|beneficiario|counterparty|ordenante"
    ),
    "category": _names("category|kategorie|categorie|categoria"),
    "id": _names("transaction id|transaction_id|fitid|id"),
}
_ENGLISH = set(
    _names(
        "amount|booking date|category|counterparty|credit|credit amount|date|debit|debit amount|"
        "debit credit|deposit|deposits|description|detail|details|dr cr|fitid|id|memo|merchant|"
        "money in|money out|name|narrative|paid in|paid out|payee|post date|posted date|"
        "posting date|trans date|transaction amount|transaction date|transaction details|"
        "transaction id|value|value date|withdrawal|withdrawals"
    )
)
DEBIT_WORDS = {"af", "debit", "d", "dr", "s", "soll", "-", "cargo", "debe", "out"}
CREDIT_WORDS = {"bij", "credit", "c", "cr", "h", "haben", "+", "abono", "haber", "in"}
ROLES = tuple(SYNONYMS)
_PREAMBLE_LINES = 40
# The header names of finance-mcp's own export that say a file is one (exactly as the export writes them).
OWN_COLUMNS = (
    "date",
    "amount",
    "description",
    "merchant",
    "category",
    "der_category",
    "der_merchant",
    "tags",
    "location",
)
TAGS_MAX, TAG_MAX = 50, 100


def header_key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


@dataclass(frozen=True)
class Layout:
    delimiter: str
    header_line: int  # 0-based index of the header among the lines
    columns: dict[str, int]  # role -> column index
    header: list[str]
    own: dict[str, int] | None = None  # finance-mcp's export: its column name -> index


def _own_columns(header: Sequence[str]) -> dict[str, int] | None:
    names = [name.strip() for name in header]
    if not all(name in names for name in OWN_COLUMNS):
        return None
    return {name: names.index(name) for name in OWN_COLUMNS}


def parse_csv(content: str, *, mapping: Mapping[str, str] | None, date_format: str | None) -> Parsed:
    parsed = Parsed(format="csv")
    text = content.lstrip("\ufeff")
    lines = text.splitlines()
    layout = _layout(lines, mapping or {})
    if isinstance(layout, str):
        parsed.problems.append(Problem(0, layout))
        return parsed
    if not mapping and layout.delimiter == ",":
        layout = dataclasses.replace(layout, own=_own_columns(layout.header))
    # The records as written: a quoted field keeps its CRLF, LF or other line break exactly.
    rest = "".join(text.splitlines(keepends=True)[layout.header_line + 1 :])
    reader = csv.reader(io.StringIO(rest, newline=""), delimiter=layout.delimiter)
    records: list[tuple[int, list[str]]] = []
    before = layout.header_line + 1  # lines above the record being read (its line number is one more)
    for record in reader:
        if any(cell.strip() for cell in record):
            records.append((before + 1, record))
        before = layout.header_line + 1 + reader.line_num
    parsed.rows_read = len(records)
    if layout.own is not None:
        for line, record in records:
            try:
                parsed.rows.append(_own_row(layout.own, line, record))
            except BadValue as bad:
                parsed.problems.append(Problem(line, str(bad)))
        return parsed
    fmt, note = _date_format(layout, records, date_format)
    if note:
        parsed.notes.append(note)
    if fmt is None:
        parsed.problems.append(
            Problem(0, "no date in the date column could be read: pass date_format, e.g. DD.MM.YYYY")
        )
        return parsed
    for line, record in records:
        try:
            parsed.rows.append(_row(layout, line, record, fmt))
        except BadValue as bad:
            parsed.problems.append(Problem(line, str(bad)))
    return parsed


def _layout(lines: Sequence[str], mapping: Mapping[str, str]) -> Layout | str:
    """The header line, delimiter and columns, or what is wrong."""
    best: tuple[int, Layout] | None = None
    for index, line in enumerate(lines[:_PREAMBLE_LINES]):
        if best is not None:
            break  # the first line with a recognised header is the header (the best delimiter on it)
        for delimiter in (";", ",", "\t", "|"):
            if delimiter not in line:
                continue
            header = next(csv.reader([line], delimiter=delimiter))
            if len(header) < 2:
                continue
            columns = _columns(header, mapping)
            if isinstance(columns, str):
                if mapping and _all_named(header, mapping):
                    return columns
                continue
            score = len(columns) * 10 + len(header)
            if best is None or score > best[0]:
                best = (score, Layout(delimiter, index, columns, header))
    if best is None:
        if not lines:
            return "the file is empty"
        wanted = "a date column and an amount column (or debit and credit columns)"
        return (
            f"no header line with {wanted} was recognised in the first {_PREAMBLE_LINES} lines; pass mapping, "
            'e.g. {"date": "Booked", "amount": "Sum", "description": "Text"} naming your file\'s column headers'
        )
    return best[1]


def _all_named(header: Sequence[str], mapping: Mapping[str, str]) -> bool:
    keys = {header_key(h) for h in header}
    return any(header_key(name) in keys for name in mapping.values())


def _columns(header: Sequence[str], mapping: Mapping[str, str]) -> dict[str, int] | str:
    keys = [header_key(h) for h in header]
    columns: dict[str, int] = {}
    for role, name in mapping.items():
        if header_key(name) not in keys:
            return f"mapping names column {name!r} for {role}, but the header has {', '.join(map(repr, header))}"
        columns[role] = keys.index(header_key(name))
    taken = set(columns.values())
    for role in ROLES:
        if role in columns:
            continue
        for synonym in SYNONYMS[role]:
            if synonym in keys and keys.index(synonym) not in taken:
                columns[role] = keys.index(synonym)
                taken.add(columns[role])
                break
    if "date" not in columns:
        return "no date column"
    if "amount" not in columns and not ("debit" in columns and "credit" in columns):
        if "debit" in columns or "credit" in columns:
            return "a debit column without a credit column (or the other way round)"
        return "no amount column"
    return columns


def _date_format(
    layout: Layout, records: Sequence[tuple[int, list[str]]], date_format: str | None
) -> tuple[str | None, str | None]:
    if date_format:
        return strptime_format(date_format), None
    column = layout.columns["date"]
    values = [record[column] for _, record in records if column < len(record)]
    used = {header_key(layout.header[column]) for column in layout.columns.values()}
    # Headers in German, French, Spanish or Dutch, or semicolons (a decimal-comma locale): day first.
    # English headers: month first when the dates allow both, with a note saying how to read them otherwise.
    day_first = True if used - _ENGLISH or layout.delimiter == ";" else None
    return infer_date_format(values, day_first=day_first)


def _cell(record: Sequence[str], layout: Layout, role: str) -> str:
    column = layout.columns.get(role)
    if column is None or column >= len(record):
        return ""
    return record[column].strip()


def _row(layout: Layout, line: int, record: Sequence[str], fmt: str) -> ParsedRow:
    if len(record) <= max(layout.columns.values()):
        raise BadValue(f"the line has {len(record)} columns where the header has {len(layout.header)}")
    when = read_date(_cell(record, layout, "date"), fmt)
    amount = _amount(record, layout)
    description = _cell(record, layout, "description")
    merchant = _cell(record, layout, "merchant")
    return ParsedRow(
        row=line,
        date=when,
        amount=amount,
        description=clip(description or merchant, DESCRIPTION_MAX),
        merchant=clip(merchant, MERCHANT_MAX),
        category=clip(_cell(record, layout, "category"), CATEGORY_MAX),
        bank_id=_cell(record, layout, "id") or None,
    )


def _iso_date(text: str) -> dt.date:
    value = text.strip()
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise BadValue(f"{value[:20]!r} is not a date written YYYY-MM-DD, as finance-mcp's export writes them")


def _own_row(columns: Mapping[str, int], line: int, record: Sequence[str]) -> ParsedRow:
    """A row of finance-mcp's own export, read as it was stored."""
    if len(record) <= max(columns.values()):
        raise BadValue(f"the line has {len(record)} columns where the export's header has at least {len(columns)}")

    def cell(name: str) -> str:
        return record[columns[name]]

    tags = [tag.strip(WHITESPACE) for tag in parse_tags_field(cell("tags").strip(WHITESPACE))]
    kept: dict[str, str] = {}
    for tag in tags:
        if tag:
            kept.setdefault(tag.lower(), tag)
    if len(kept) > TAGS_MAX or any(len(tag.lower()) > TAG_MAX for tag in kept.values()):
        raise BadValue(f"at most {TAGS_MAX} tags of at most {TAG_MAX} characters each")
    return ParsedRow(
        row=line,
        date=_iso_date(cell("date")),
        amount=read_amount(cell("amount")),
        description=trimmed(cell("description"), DESCRIPTION_MAX),
        merchant=trimmed(cell("merchant"), MERCHANT_MAX),
        category=trimmed(cell("category"), CATEGORY_MAX),
        location=trimmed(cell("location"), MERCHANT_MAX),
        der_category=trimmed(cell("der_category"), CATEGORY_MAX),
        der_merchant=trimmed(cell("der_merchant"), MERCHANT_MAX),
        tags=list(kept.values()),
    )


def _amount(record: Sequence[str], layout: Layout) -> Decimal:
    if "amount" in layout.columns:
        amount = read_amount(_cell(record, layout, "amount"))
        said = _cell(record, layout, "direction")
        direction = header_key(said) or said
        if direction in DEBIT_WORDS:
            return -abs(amount)
        if direction in CREDIT_WORDS:
            return abs(amount)
        if direction:
            raise BadValue(f"{said[:20]!r} in the direction column says neither debit nor credit")
        return amount
    debit_text, credit_text = _cell(record, layout, "debit"), _cell(record, layout, "credit")
    debit = read_amount(debit_text) if debit_text else None
    credit = read_amount(credit_text) if credit_text else None
    if debit and credit:
        raise BadValue("both the debit and the credit column hold an amount")
    if debit is None and credit is None:
        raise BadValue("neither the debit nor the credit column holds an amount")
    if debit:
        return -abs(debit)
    return abs(credit or Decimal("0.00"))
