"""Exports of the transactions a listing's filters select, as CSV, JSON or OFX 2, written page by page (keyset
pages of `PAGE` rows, newest first, as `list_transactions` reads them) so a large household never sits in
memory as rows: only the text written so far does, or none when the sink is a file (the CLI).

CSV layout (what `import_transactions` reads back; an export imported into an empty account reproduces
its rows exactly):

- UTF-8 without a byte-order mark; RFC 4180: fields separated by commas, rows ended by CRLF; a field that
  holds a comma, a double quote, CR or LF is enclosed in double quotes, with each double quote inside it
  doubled. Newlines inside a quoted field are kept as they were (LF stays LF).
- The first row is the header, exactly:
  `date,amount,description,merchant,category,der_category,der_merchant,tags,id,location,account_id`
  (the columns are found by these names; readers ignore columns they do not know).
- `date`: `YYYY-MM-DD`. `amount`: signed, a point for decimals, exactly two places, no thousands
  separator and no currency (`-1234.50`, `300.00`): negative = expense, positive = income.
- `description`, `merchant`, `der_category`, `der_merchant`, `location`: the text as stored; an empty
  field means none (stored text is trimmed, so it is never the empty string). `category` is never empty.
- `tags`: the row's tags joined by `;` in their stored order and case; inside a tag, `\\` is written
  `\\\\` and `;` is written `\\;` (split on the `;` not preceded by an escaping backslash, then undo the two
  escapes). An empty field means no tags.
- `id`: this server's transaction id (an importer may keep it to recognise rows seen before);
  `account_id`: the account it was on. Rows come newest first (date, then id, descending).

JSON: `{"format": "finance-mcp.transactions", "version": 1, "transactions": [...]}`, each transaction as
`list_transactions` returns it (amounts as two-place strings); `import_transactions` reads it back too.

OFX: OFX 2.2 XML, one `STMTRS` per account in a bank message set; each `STMTTRN` has `FITID` = our id,
`TRNAMT` the signed amount, `DTPOSTED` the date, `NAME` the merchant (else the category; at most 32
characters, as the specification allows) and `MEMO` the description (at most 255).
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TextIO
from xml.sax.saxutils import escape

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.money import format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.imports.rows import parse_tags_field as parse_tags_field  # readers of the layout use it
from finance_mcp.repositories.unit_of_work import UnitOfWork, UnitsOfWork
from finance_mcp.schemas.transactions import TransactionFilter, TransactionRead
from finance_mcp.services.accounts import account_not_found

Format = Literal["csv", "json", "ofx"]
FORMATS: tuple[Format, ...] = ("csv", "json", "ofx")
PAGE = 500
CSV_COLUMNS = (
    "date",
    "amount",
    "description",
    "merchant",
    "category",
    "der_category",
    "der_merchant",
    "tags",
    "id",
    "location",
    "account_id",
)
MIME_TYPES: dict[str, str] = {"csv": "text/csv", "json": "application/json", "ofx": "application/x-ofx"}
JSON_FORMAT = "finance-mcp.transactions"
OFX_ACCOUNT_TYPES = {"checking": "CHECKING", "savings": "SAVINGS", "credit_card": "CREDITLINE", "loan": "CREDITLINE"}
# Characters XML 1.0 cannot carry at all (a stored description could hold one): dropped from OFX text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def tags_field(tags: list[str]) -> str:
    return ";".join(tag.replace("\\", "\\\\").replace(";", "\\;") for tag in tags)


def csv_row(row: dict[str, Any]) -> list[str]:
    def text(name: str) -> str:
        value = row.get(name)
        return "" if value is None else str(value)

    return [
        row["date"].isoformat(),
        format_amount(row["amount"]),
        text("description"),
        text("merchant"),
        text("category"),
        text("der_category"),
        text("der_merchant"),
        tags_field(list(row["tags"] or [])),
        str(row["id"]),
        text("location"),
        str(row["account_id"]),
    ]


@dataclass(frozen=True)
class Exported:
    format: Format
    rows: int
    mime_type: str
    filename: str


async def _pages(uow: UnitOfWork, filters: TransactionFilter) -> AsyncIterator[list[dict[str, Any]]]:
    after: tuple[dt.date, int] | None = None
    while True:
        page = await uow.transactions.page(filters, limit=PAGE, after=after)
        if page.rows:
            yield page.rows
        if not page.more or not page.rows:
            return
        last = page.rows[-1]
        after = (last["date"], int(last["id"]))


def check_filters(filters: TransactionFilter) -> None:
    if filters.start_date and filters.end_date and filters.start_date > filters.end_date:
        raise Invalid(f"start_date {filters.start_date} is after end_date {filters.end_date}; swap them or fix one")
    if filters.min_amount is not None and filters.max_amount is not None and filters.min_amount > filters.max_amount:
        raise Invalid(f"min_amount {filters.min_amount} is greater than max_amount {filters.max_amount}")


async def write_export(
    db: Database, principal: Principal, filters: TransactionFilter, fmt: Format, out: TextIO
) -> Exported:
    """Write the export to `out` (a file opened with `newline=""`, or a StringIO); return what was written."""
    principal.require(Permission.READ)
    check_filters(filters)
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise Invalid(f"format must be csv, json or ofx, got {fmt!r}")
    # One snapshot for every page: the file is one moment of the household, however long it takes.
    async with UnitsOfWork(db).scan(principal.household_id) as uow:
        if filters.account_id is not None and await uow.accounts.get(filters.account_id) is None:
            raise account_not_found(filters.account_id)
        rows = await writer(uow, filters, out)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    return Exported(fmt, rows, MIME_TYPES[fmt], f"transactions-{stamp}.{fmt}")


async def _write_csv(uow: UnitOfWork, filters: TransactionFilter, out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    async for rows in _pages(uow, filters):
        writer.writerows(csv_row(row) for row in rows)
        count += len(rows)
    return count


async def _write_json(uow: UnitOfWork, filters: TransactionFilter, out: TextIO) -> int:
    out.write(f'{{"format": "{JSON_FORMAT}", "version": 1, "transactions": [')
    count = 0
    async for rows in _pages(uow, filters):
        for row in rows:
            out.write(",\n" if count else "\n")
            out.write(TransactionRead.model_validate(row).model_dump_json())
            count += 1
    out.write("\n]}\n")
    return count


def _ofx_text(value: str, limit: int) -> str:
    return escape(_NOT_XML.sub("", value)[:limit])


def _ofx_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S.000[0:UTC]")


def _ofx_transaction(row: dict[str, Any]) -> str:
    amount = row["amount"]
    name = _ofx_text(row["merchant"] or row["category"], 32)
    memo = f"<MEMO>{_ofx_text(row['description'], 255)}</MEMO>" if row["description"] else ""
    return (
        f"<STMTTRN><TRNTYPE>{'CREDIT' if amount > 0 else 'DEBIT'}</TRNTYPE>"
        f"<DTPOSTED>{row['date'].strftime('%Y%m%d')}</DTPOSTED><TRNAMT>{format_amount(amount)}</TRNAMT>"
        f"<FITID>{row['id']}</FITID><NAME>{name}</NAME>{memo}</STMTTRN>\n"
    )


_STATUS_OK = "<STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"


async def _write_ofx(uow: UnitOfWork, filters: TransactionFilter, out: TextIO) -> int:
    now = _ofx_time(dt.datetime.now(dt.UTC))
    out.write('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n')
    out.write('<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n')
    out.write(f"<OFX>\n<SIGNONMSGSRSV1><SONRS>{_STATUS_OK}<DTSERVER>{now}</DTSERVER>")
    out.write("<LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>\n<BANKMSGSRSV1>\n")
    accounts = await uow.accounts.list()
    count = 0
    for account in accounts:
        if filters.account_id is not None and account["id"] != filters.account_id:
            continue
        mine = filters.model_copy(update={"account_id": int(account["id"])})
        span = await uow.transactions.date_range(mine)
        if span is None and filters.account_id is None:
            continue  # an account with nothing selected has no statement
        first, last = span or (dt.date.today(), dt.date.today())
        kind = OFX_ACCOUNT_TYPES.get(account["account_type"], "CHECKING")
        out.write(f"<STMTTRNRS><TRNUID>{account['id']}</TRNUID>{_STATUS_OK}<STMTRS>")
        out.write(f"<CURDEF>{account['currency']}</CURDEF><BANKACCTFROM><BANKID>finance-mcp</BANKID>")
        out.write(f"<ACCTID>{account['id']}</ACCTID><ACCTTYPE>{kind}</ACCTTYPE></BANKACCTFROM>\n")
        out.write(f"<BANKTRANLIST><DTSTART>{first:%Y%m%d}</DTSTART><DTEND>{last:%Y%m%d}</DTEND>\n")
        async for rows in _pages(uow, mine):
            out.writelines(_ofx_transaction(row) for row in rows)
            count += len(rows)
        out.write(f"</BANKTRANLIST><LEDGERBAL><BALAMT>{format_amount(account['balance'])}</BALAMT>")
        out.write(f"<DTASOF>{now}</DTASOF></LEDGERBAL></STMTRS></STMTTRNRS>\n")
    out.write("</BANKMSGSRSV1>\n</OFX>\n")
    return count


_WRITERS: dict[str, Callable[[UnitOfWork, TransactionFilter, TextIO], Awaitable[int]]] = {
    "csv": _write_csv,
    "json": _write_json,
    "ofx": _write_ofx,
}


async def export_text(
    db: Database, principal: Principal, filters: TransactionFilter, fmt: Format
) -> tuple[str, Exported]:
    """The whole export as text (for a tool result or a resource read)."""
    out = io.StringIO(newline="")
    exported = await write_export(db, principal, filters, fmt, out)
    return out.getvalue(), exported


def export_uri(filters: TransactionFilter, fmt: Format) -> str:
    """The resource that reads this export again: its filters in the URI, so any server process can."""
    canonical = json.dumps(filters.model_dump(mode="json", exclude_none=True), sort_keys=True, separators=(",", ":"))
    query = base64.urlsafe_b64encode(canonical.encode()).decode().rstrip("=")
    return f"finance://exports/{fmt}/{query}"


def filters_of_uri(query: str) -> TransactionFilter:
    """The filters of an `export_uri` (Invalid when it is not one)."""
    try:
        canonical = base64.urlsafe_b64decode(query + "=" * (-len(query) % 4)).decode()
        return TransactionFilter.model_validate(json.loads(canonical))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("not an export address; call export_transactions for a new one") from None
