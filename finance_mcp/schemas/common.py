"""Wire schemas every domain shares: exact money in and out, bounded trimmed text, tags, and the base of every
input model. Persistence rows (`db.models`) are a different thing; services translate between the two.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from finance_mcp.domain.money import format_amount

MONEY_PATTERN = r"^-?\d+\.\d{2}$"

Money = Annotated[
    Decimal,
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MONEY_PATTERN,
            "description": 'Exact decimal with two places, e.g. "-50.00"',
        }
    ),
]
"""An output amount: serialised as a string with two decimals."""

_PLAIN_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)", re.ASCII)


# What people copy from a statement or a receipt: a currency sign or code, digit-group separators.
_DECORATED_AMOUNT = re.compile(
    r"[+-]?\s*(?:[^\d\s.,+-]{1,3}\s*)?"  # a leading sign, symbol or code: "-$", "€ ", "USD "
    r"[+-]?[\d.,' \u00a0\u202f]*\d[\d.,' \u00a0\u202f]*"  # digits with points, commas, apostrophes, spaces
    r"(?:\s*[^\d\s.,+-]{1,3})?",  # a trailing symbol or code: " €", "EUR"
    re.ASCII,
)


def _plain_decimal_text(value: object) -> object:
    """Refuse number text that Python's Decimal would read but a person might not: `1e3`, `1_000`, `٥`; and
    say how to write an amount copied with its decoration (`$12.50`, `1,200.00`, `12,50 €`)."""
    if isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value.strip()):
        if _DECORATED_AMOUNT.fullmatch(value.strip()):
            raise ValueError(
                f"{value.strip()[:40]!r} is not a plain amount: drop the currency symbol and the thousands "
                'separators and use a point for decimals, e.g. "12.50", "-1200.00"'
            )
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            return value  # not a number at all: the decimal check below says so
        if parsed.is_finite():
            raise ValueError(
                'write the amount as plain digits with an optional sign and point, e.g. "-1200.50": '
                "no exponent, digit separators or non-ASCII digits"
            )
    return value


AmountIn = Annotated[
    Decimal,
    BeforeValidator(_plain_decimal_text),
    Field(
        max_digits=15,
        decimal_places=2,
        allow_inf_nan=False,
        description='Exact amount as a string, e.g. "-12.50": negative = money out, positive = money in',
    ),
]


def _none_if_empty(value: str | None) -> str | None:
    return value or None


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(description="Account name"),
]
Currency = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$"),
    Field(description="ISO 4217 currency code, e.g. USD"),
]
Category = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(description="Category, e.g. Groceries"),
]
Description = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=1000),
    AfterValidator(_none_if_empty),
    Field(description="Free-text description"),
]
Merchant = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=255),
    AfterValidator(_none_if_empty),
    Field(description="Merchant or payee as written on the statement"),
]
Location = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=255),
    AfterValidator(_none_if_empty),
    Field(description="Where it happened"),
]
DerCategory = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=100),
    AfterValidator(_none_if_empty),
    Field(description="Normalised (derived) category"),
]
DerMerchant = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=255),
    AfterValidator(_none_if_empty),
    Field(description="Normalised (derived) merchant name"),
]


def _fits_lower_cased(tag: str) -> str:
    """Tags are matched by their lower-cased form, which can be longer ("İ" lower-cases to two characters)."""
    if len(tag.lower()) > 100:
        raise ValueError("tag is longer than 100 characters once lower-cased; shorten it")
    return tag


Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_fits_lower_cased)
]


def _unique_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    seen: set[str] = set()
    unique: list[str] = []
    for tag in tags:
        if tag.lower() not in seen:
            seen.add(tag.lower())
            unique.append(tag)
    return unique


Tags = Annotated[
    list[Tag] | None,
    Field(max_length=50, description='Labels (any case), e.g. ["food", "trip"]'),
    AfterValidator(_unique_tags),
]


def _refuse_nul(value: object) -> None:
    """NUL cannot be stored in PostgreSQL text; refuse it everywhere so both databases agree."""
    texts: list[object] = list(value) if isinstance(value, list) else [value]  # pyright: ignore[reportUnknownArgumentType]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise ValueError("text must not contain NUL (\\x00) characters; remove them")


class InputModel(BaseModel):
    """Every input: unknown fields refused, immutable, NUL refused in any text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        _refuse_nul(value)
        return value


def _absent(value: object) -> bool:
    return value is None


NotConfirmed = Annotated[
    Literal["declined", "cancelled"] | None,
    Field(
        default=None,
        exclude_if=_absent,
        description="Only when the person was asked and said no or closed the question: nothing was changed",
    ),
]
"""Added to the result of a destructive tool; omitted from results where nobody said no, so they stay as in v1."""

NotConfirmedNote = Annotated[
    str | None,
    Field(default=None, exclude_if=_absent, description="With not_confirmed: what happened and what to do next"),
]
