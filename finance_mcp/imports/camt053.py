"""ISO 20022 CAMT.053 bank-to-customer statements (versions .001.02 to .001.08 alike: elements are matched
by local name). Parsed with defusedxml, since the content is untrusted: no entity expansion, no external
entities. Each booked entry (Ntry) is a row; its AcctSvcrRef (the bank's reference) is the bank's id."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from finance_mcp.imports.rows import DESCRIPTION_MAX, MERCHANT_MAX, Parsed, ParsedRow, Problem, clip
from finance_mcp.imports.values import BadValue, read_date


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _find(element: ET.Element | None, *path: str) -> ET.Element | None:
    for name in path:
        if element is None:
            return None
        found = _children(element, name)
        element = found[0] if found else None
    return element


def _text(element: ET.Element | None, *path: str) -> str | None:
    found = _find(element, *path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def parse_camt053(content: str) -> Parsed:
    parsed = Parsed(format="camt053")
    try:
        root = fromstring(content.lstrip("\ufeff").encode("utf-8"), forbid_dtd=True)
    except DefusedXmlException:
        parsed.problems.append(Problem(0, "the XML declares a DTD or entities, which are refused: export it again"))
        return parsed
    except (ET.ParseError, ValueError) as error:
        parsed.problems.append(Problem(0, f"not a readable CAMT.053 XML file: {str(error)[:200]}"))
        return parsed
    statements = [s for s in root.iter() if _local(s.tag) == "Stmt"]
    if not statements:
        parsed.problems.append(Problem(0, "no statement (BkToCstmrStmt/Stmt) in the XML: is it CAMT.053?"))
        return parsed
    accounts = {_text(s, "Acct", "Id", "IBAN") or _text(s, "Acct", "Id", "Othr", "Id") for s in statements}
    if len(accounts) > 1:
        shown = ", ".join(sorted(a or "?" for a in accounts))
        parsed.problems.append(
            Problem(0, f"the file holds statements of {len(accounts)} accounts ({shown}): export one account per file")
        )
        return parsed
    number = 0
    for statement in statements:
        for entry in _children(statement, "Ntry"):
            number += 1
            parsed.rows_read += 1
            status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
            if status is not None and status.upper() != "BOOK":
                parsed.notes.append(f"entry {number} is {status} (not booked) and was left out")
                continue
            try:
                parsed.rows.append(_row(number, entry))
            except BadValue as bad:
                parsed.problems.append(Problem(number, str(bad)))
    return parsed


def _row(number: int, entry: ET.Element) -> ParsedRow:
    amount_text = _text(entry, "Amt")
    if amount_text is None:
        raise BadValue("the entry has no Amt (amount)")
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        raise BadValue(f"{amount_text[:40]!r} is not an amount") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or abs(amount) >= 10**13:
        raise BadValue(f"{amount_text[:40]!r} is not an amount of at most 2 decimal places")
    indicator = _text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise BadValue("the entry has no CdtDbtInd of CRDT or DBIT")
    day = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm") or _text(entry, "ValDt", "Dt")
    if day is None:
        raise BadValue("the entry has no BookgDt (booking date)")
    details = _find(entry, "NtryDtls", "TxDtls")
    party = "Cdtr" if indicator == "DBIT" else "Dbtr"
    name = _text(details, "RltdPties", party, "Nm") or _text(details, "RltdPties", party, "Pty", "Nm")
    unstructured = [c.text.strip() for c in _all(details, "Ustrd") if c.text and c.text.strip()]
    text = " ".join(unstructured) or _text(entry, "AddtlNtryInf") or _text(details, "AddtlTxInf")
    bank_id = _text(entry, "AcctSvcrRef") or _text(details, "Refs", "AcctSvcrRef")
    return ParsedRow(
        row=number,
        date=read_date(day[:10], "%Y-%m-%d"),
        amount=(-amount if indicator == "DBIT" else amount).quantize(Decimal("0.01")),
        description=clip(text or name, DESCRIPTION_MAX),
        merchant=clip(name, MERCHANT_MAX),
        bank_id=bank_id,
    )


def _all(element: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if element is None else [e for e in element.iter() if _local(e.tag) == name]
