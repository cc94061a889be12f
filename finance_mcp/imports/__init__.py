"""Bank statement files read into rows: pure functions, no database (a module per format).

`parse(content, format=..., mapping=..., date_format=...)` returns every row it could read and a problem,
with its row number, for every row it could not. Row numbers are what a person finds in the file: the line
for CSV and QIF, the transaction's position (1 = first) for OFX, QFX, CAMT.053 and JSON; row 0 is the file itself.
"""

from __future__ import annotations

from finance_mcp.imports.reading import detect_format, parse
from finance_mcp.imports.rows import FORMATS, Parsed, ParsedRow, Problem

__all__ = ["FORMATS", "Parsed", "ParsedRow", "Problem", "detect_format", "parse"]
