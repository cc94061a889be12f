"""Which format a file is, and reading it into rows with their fingerprints."""

from __future__ import annotations

from collections.abc import Mapping

from finance_mcp.imports.camt053 import parse_camt053
from finance_mcp.imports.csv_files import parse_csv
from finance_mcp.imports.finance_json import parse_finance_json
from finance_mcp.imports.ofx import parse_ofx
from finance_mcp.imports.qif import parse_qif
from finance_mcp.imports.rows import Parsed, fingerprint_rows


def detect_format(content: str) -> str:
    """The format of a file: ofx, qfx, qif, camt053, json (finance-mcp's export) or csv, from its first kilobytes."""
    head = content[:4096].lstrip("\ufeff \t\r\n")
    upper = head.upper()
    if upper.startswith("OFXHEADER") or "<OFX>" in upper:
        return "qfx" if "<INTU.BID>" in upper else "ofx"
    if head.startswith("<") and ("camt.053" in head or "BkToCstmrStmt" in head):
        return "camt053"
    if head.startswith("{"):
        return "json"
    if head.startswith("!"):
        return "qif"
    return "csv"


def parse(
    content: str, *, format: str = "auto", mapping: Mapping[str, str] | None = None, date_format: str | None = None
) -> Parsed:
    chosen = detect_format(content) if format == "auto" else format
    if chosen in ("ofx", "qfx"):
        parsed = parse_ofx(content, format=chosen)
    elif chosen == "qif":
        parsed = parse_qif(content, date_format=date_format)
    elif chosen == "json":
        parsed = parse_finance_json(content)
    elif chosen == "camt053":
        parsed = parse_camt053(content)
    else:
        parsed = parse_csv(content, mapping=mapping, date_format=date_format)
    fingerprint_rows(parsed.rows)
    return parsed
