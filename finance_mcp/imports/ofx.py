"""OFX and QFX statements, 1.x (SGML) and 2.x (XML), read with ofxtools' parser, which handles both
dialects (unclosed SGML elements included) with its own tokenizer: no XML parser, so no entity
expansion. We walk the element tree ourselves instead of `convert()`ing it, because the strict models
refuse the small departures from the specification that real banks' files have. FITID is kept as the
bank's id of each transaction."""

from __future__ import annotations

import html
import io
import xml.etree.ElementTree as ET

from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError

from finance_mcp.imports.rows import CATEGORY_MAX, DESCRIPTION_MAX, MERCHANT_MAX, Parsed, ParsedRow, Problem, clip
from finance_mcp.imports.values import BadValue, read_amount, read_date


def parse_ofx(content: str, *, format: str) -> Parsed:
    parsed = Parsed(format=format)
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(_with_header_first(content).encode("utf-8")))
    except (OFXHeaderError, ParseError, ValueError, IndexError, KeyError) as error:
        parsed.problems.append(Problem(0, f"not a readable OFX file: {str(error)[:200]}"))
        return parsed
    root = tree.getroot()
    if root is None:
        parsed.problems.append(Problem(0, "not a readable OFX file: it has no <OFX> element"))
        return parsed
    accounts = {_text(a, "ACCTID") for a in root.iter() if a.tag in ("BANKACCTFROM", "CCACCTFROM")}
    if len(accounts) > 1:
        shown = ", ".join(sorted(a or "?" for a in accounts))
        parsed.problems.append(
            Problem(0, f"the file holds statements of {len(accounts)} accounts ({shown}): export one account per file")
        )
        return parsed
    for number, element in enumerate(root.iter("STMTTRN"), start=1):
        parsed.rows_read += 1
        try:
            parsed.rows.append(_row(number, element))
        except BadValue as bad:
            parsed.problems.append(Problem(number, str(bad)))
    if parsed.rows_read == 0:
        parsed.notes.append("the file holds no transactions (no STMTTRN)")
    return parsed


def _with_header_first(content: str) -> str:
    """ofxtools wants the header at the very start: drop a byte-order mark and leading blank lines."""
    return content.lstrip("\ufeff \t\r\n")


def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(f".//{tag}")
    if found is None or found.text is None:
        return None
    return html.unescape(found.text).strip() or None


def _row(number: int, element: ET.Element) -> ParsedRow:
    posted = _text(element, "DTPOSTED")
    if posted is None:
        raise BadValue("the transaction has no DTPOSTED (date)")
    amount_text = _text(element, "TRNAMT")
    if amount_text is None:
        raise BadValue("the transaction has no TRNAMT (amount)")
    when = read_date(posted[:8], "%Y%m%d")
    name, memo = _text(element, "NAME"), _text(element, "MEMO")
    return ParsedRow(
        row=number,
        date=when,
        amount=read_amount(amount_text),
        description=clip(memo or name, DESCRIPTION_MAX),
        merchant=clip(name, MERCHANT_MAX),
        category=clip(None, CATEGORY_MAX),
        bank_id=_text(element, "FITID"),
    )
