"""Amounts and dates as banks write them: decimal commas, thousands separators, day-first or month-first."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
LIMIT = Decimal(10) ** 13


class BadValue(ValueError):
    """A value that cannot be read; its message is the problem's reason."""


# Spaces and apostrophes (digit groups), currency symbols and ISO codes: what a statement prints around digits.
_NOISE = re.compile(r"[\s\u00a0\u202f'’$€£¥₣₤]|(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])")


def read_amount(text: str) -> Decimal:
    """`"-1.234,56"`, `"1,234.56"`, `"(12.50)"`, `"12,50-"`, `"€ 3,00"`, `"+5"`: the exact amount."""
    raw = text.strip()
    if not raw:
        raise BadValue("the amount is empty")
    value = _NOISE.sub("", raw)
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    if value.endswith("-"):
        negative, value = True, value[:-1]
    elif value.endswith("+"):
        value = value[:-1]
    if value.startswith("-"):
        negative, value = not negative, value[1:]
    elif value.startswith("+"):
        value = value[1:]
    if not value or not re.fullmatch(r"[\d.,]+", value) or not any(c.isdigit() for c in value):
        raise BadValue(f"{raw[:40]!r} is not an amount")
    value = _plain(value, raw)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise BadValue(f"{raw[:40]!r} is not an amount") from None
    if amount != amount.quantize(CENT, rounding="ROUND_DOWN"):
        raise BadValue(f"{raw[:40]!r} has more than 2 decimal places")
    if amount >= LIMIT:
        raise BadValue(f"{raw[:40]!r} is too large")
    return (-amount if negative else amount).quantize(CENT)


def _plain(value: str, raw: str) -> str:
    """Digits with one decimal point: the last of '.' and ',' is the decimal mark when both appear; one
    kind alone is a thousands separator when every group after it has three digits, else the decimal mark."""
    points, commas = value.count("."), value.count(",")
    if points and commas:
        decimal = "." if value.rfind(".") > value.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        whole, _, cents = value.rpartition(decimal)
        groups = r"\d{1,3}(?:" + re.escape(thousands) + r"\d{3})*"
        if decimal in whole or not re.fullmatch(groups, whole):
            raise BadValue(f"{raw[:40]!r} is not an amount")
        return whole.replace(thousands, "") + "." + cents
    mark = "." if points else ","
    if not (points or commas):
        return value
    groups = value.split(mark)
    if len(groups) > 2 or (len(groups[-1]) == 3 and re.fullmatch(r"\d{1,3}", groups[0])):
        if not all(len(g) == 3 for g in groups[1:]) or not re.fullmatch(r"\d{1,3}", groups[0]):
            raise BadValue(f"{raw[:40]!r} is not an amount")
        return "".join(groups)
    return groups[0] + "." + groups[1]


# Candidate formats, in the order an ambiguous file is read by (day-first, the most common outside the US).
DAY_FIRST = ("%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d-%m-%y")
MONTH_FIRST = ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m-%d-%y")
ISO = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d")
_NAMED = ("%d %b %Y", "%d-%b-%Y", "%d %B %Y", "%b %d, %Y", "%d-%b-%y")


def strptime_format(date_format: str) -> str:
    """`"DD.MM.YYYY"` or `"%d.%m.%Y"` as a strptime format."""
    if "%" in date_format:
        return date_format
    converted = date_format.upper().replace("YYYY", "%Y").replace("YY", "%y")
    return converted.replace("MMM", "%b").replace("MM", "%m").replace("DD", "%d")


def read_date(text: str, fmt: str) -> dt.date:
    value = _clean_date(text)
    # A file may mix two- and four-digit years (QIF's 11/05'26 beside 11/03/2026).
    other = fmt.replace("%Y", "%y") if "%Y" in fmt else fmt.replace("%y", "%Y")
    for candidate in (fmt, other):
        day = _parsed(value, candidate)
        if day is not None:
            return day
    raise BadValue(f"{text.strip()[:40]!r} is not a date in the form {_shown(fmt)}")


_FIELDS = {"%Y": r"(?P<Y>\d{4})", "%y": r"(?P<y>\d{2})", "%m": r"(?P<m>\d{1,2})", "%d": r"(?P<d>\d{1,2})"}


@functools.lru_cache(maxsize=64)
def _pattern(fmt: str) -> re.Pattern[str] | None:
    """`fmt` as a regular expression when it has only numeric fields (strptime costs ten times more)."""
    parts = re.split(r"(%.)", fmt)
    if any(part.startswith("%") and part not in _FIELDS for part in parts):
        return None
    return re.compile("".join(_FIELDS.get(part, re.escape(part)) for part in parts))


def _parsed(value: str, fmt: str) -> dt.date | None:
    """The date `value` names in `fmt`, or None; years from 1900 to 2200 only ("%Y" would read "26")."""
    pattern = _pattern(fmt)
    if pattern is None:
        try:
            day = dt.datetime.strptime(value, fmt).date()
        except ValueError:
            return None
    else:
        match = pattern.fullmatch(value)
        if match is None:
            return None
        fields = match.groupdict()
        year = int(fields["Y"]) if "Y" in fields else 2000 + int(fields["y"]) - (100 if int(fields["y"]) > 68 else 0)
        try:
            day = dt.date(year, int(fields["m"]), int(fields["d"]))
        except ValueError:
            return None
    return day if 1900 <= day.year <= 2200 else None


def _clean_date(text: str) -> str:
    value = text.strip()
    if "'" not in value and " " not in value and "T" not in value:
        return value  # the common case, without the regular expressions
    value = value.replace("'", "/")  # QIF's 12/31'26
    value = re.sub(r"\s+", " ", value)
    value = re.sub(r"(?<=[/.-]) (?=\d)", "", value)  # QIF's "1/ 5/26"
    return value.split("T")[0] if re.match(r"\d{4}-\d\d-\d\dT", value) else value


def _shown(fmt: str) -> str:
    return fmt.replace("%Y", "YYYY").replace("%y", "YY").replace("%m", "MM").replace("%d", "DD").replace("%b", "Mon")


def infer_date_format(values: Sequence[str], *, day_first: bool | None) -> tuple[str | None, str | None]:
    """The format that reads every value (else the one that reads most), and a note when the choice between
    day-first and month-first was a guess. `day_first`: True when the file's language says so (then no
    guess); None reads month first when both fit, and says so."""
    sample = [v for v in (_clean_date(v) for v in values) if v][:2000]
    if not sample:
        return None, None
    order = (*ISO, *DAY_FIRST, *MONTH_FIRST, *_NAMED) if day_first else (*ISO, *MONTH_FIRST, *DAY_FIRST, *_NAMED)
    best: tuple[int, str] | None = None
    fits: list[str] = []
    for fmt in order:
        read = sum(1 for v in sample if _reads(v, fmt))
        if read == len(sample):
            fits.append(fmt)
        if best is None or read > best[0]:
            best = (read, fmt)
    if not fits:
        return (best[1] if best and best[0] else None), None
    chosen = fits[0]
    other = _swapped(chosen)
    note = None
    if other in fits and day_first is None:
        note = (
            f"every date reads both as {_shown(chosen)} and as {_shown(other)}; read as {_shown(chosen)}: "
            f'pass date_format="{_shown(other)}" if that is wrong'
        )
    return chosen, note


def _swapped(fmt: str) -> str:
    if fmt.startswith("%d"):
        return "%m" + fmt[2:3] + "%d" + fmt[5:]
    if fmt.startswith("%m"):
        return "%d" + fmt[2:3] + "%m" + fmt[5:]
    return fmt


def _reads(value: str, fmt: str) -> bool:
    return _parsed(value, fmt) is not None
