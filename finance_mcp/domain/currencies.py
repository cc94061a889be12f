"""ISO 4217 currencies and their minor units, and how the two-decimal rule of amounts generalises to them.

Amounts are stored with two decimal places for every currency (integer cents on SQLite, `Numeric(15, 2)` on
PostgreSQL) and shown with two on the wire, so v1 results stay byte for byte what they were. What a currency
changes is how many of those places an amount may use: `min(minor units, 2)`. A yen or won amount must be
whole (JPY has no minor unit: "1500.00", never "1500.50"); a dinar amount (KWD, BHD: three minor units) may use
two places, and three-place amounts are refused with a message saying so (fils beyond two places would need a
wider column: a later migration, not a silent rounding).
"""

from __future__ import annotations

from decimal import Decimal

from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.money import format_amount

STORED_PLACES = 2

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF "
    "CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ "
    "GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK "
    "MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB "
    "SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD "
    "USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL"
)
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}
WHOLE_ONLY = frozenset(code for code, units in MINOR_UNITS.items() if units == 0)


def check_code(code: str) -> str:
    """An ISO 4217 code (upper case), or `Invalid` saying what to send."""
    if code not in MINOR_UNITS:
        raise Invalid(f"{code} is not an ISO 4217 currency code; use one such as USD, EUR, GBP, JPY or CHF")
    return code


def places(code: str) -> int:
    """How many decimal places an amount in this currency may use."""
    return min(MINOR_UNITS.get(code, STORED_PLACES), STORED_PLACES)


def check_amount(amount: Decimal, code: str, *, field: str = "amount") -> Decimal:
    """Refuse an amount with more decimal places than its currency has (of the two stored)."""
    allowed = places(code)
    if amount != amount.quantize(Decimal(1).scaleb(-allowed), rounding="ROUND_DOWN"):
        if allowed == 0:
            raise Invalid(f"{field} {format_amount(amount)} is in {code}, which has no minor unit: send a whole number")
        raise Invalid(f"{field} {format_amount(amount)} has more decimal places than {code} allows ({allowed})")
    return amount


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    """`amount` times `rate`, to cents (half even): a conversion the caller asked for, stated in the result."""
    return (amount * rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_EVEN")
