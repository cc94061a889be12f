"""Exact money: parsing, bounds and formatting of amounts. Never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from finance_mcp.domain.errors import Invalid

CENT = Decimal("0.01")
LIMIT = Decimal(10) ** 13  # |amount| must stay below this (Numeric(15, 2))


def to_amount(value: Decimal | int | str, *, field: str = "amount") -> Decimal:
    """Return `value` as a Decimal with two places, or raise `Invalid` saying what is wrong."""
    if isinstance(value, float):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise Invalid(f'{field} must be a decimal string such as "-12.50", not a binary float')
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(f'{field} {value!r} is not a number; send a decimal such as "-12.50"') from None
    if not amount.is_finite():
        raise Invalid(f'{field} must be a finite number such as "-12.50", not {value!r}')
    if amount != amount.quantize(CENT, rounding="ROUND_DOWN"):
        raise Invalid(f"{field} {value} has more than 2 decimal places; round it to cents")
    if abs(amount) >= LIMIT:
        raise Invalid(f"{field} {value} is too large; amounts must be below 10000000000000 in size")
    return amount.quantize(CENT)


def format_amount(amount: Decimal) -> str:
    """Two decimals, no exponent: `Decimal("-50")` -> `"-50.00"`."""
    return f"{amount.quantize(CENT):f}"


def check_balance(balance: Decimal, *, account_id: int) -> Decimal:
    """A stored balance must fit the same bounds as an amount."""
    if abs(balance) >= LIMIT:
        raise Invalid(
            f"This change would take account {account_id}'s balance to {format_amount(balance)}, "
            "beyond the supported size; nothing was changed"
        )
    return balance
