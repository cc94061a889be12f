"""Column types that keep money exact and timestamps in UTC on SQLite and PostgreSQL alike.

Migrations import these types, so they are part of the schema's history: change them only together
with a migration.

Every value of every row read passes through a result processor, so each type hands SQLAlchemy one small
function per dialect (`result_processor`) rather than the generic hooks that re-check the dialect per value.
What is stored, and the DDL, are those of `impl` / `load_dialect_impl` and do not depend on these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine


class Processor(Protocol):
    """A function SQLAlchemy calls once per value; it matches SQLAlchemy's own processor protocols."""

    def __call__(self, value: Any) -> Any: ...


_CENTS = Decimal(100)
_CENT = Decimal("0.01")


def _compose(first: Processor | None, then: Processor | None) -> Processor | None:
    """`then(first(value))`, leaving out a step SQLAlchemy's driver layer does not need."""
    if first is None:
        return then
    if then is None:
        return first
    return lambda value: then(first(value))


def _to_cents(value: Decimal | None) -> int | None:
    if value is None:
        return None
    cents = value * _CENTS
    if cents != cents.to_integral_value():
        raise ValueError(f"amount {value} has more than two decimal places")
    return int(cents)


def _from_cents(value: Any) -> Decimal | None:
    # Multiplying by Decimal("0.01") is exact and gives exponent -2 (a 16-digit coefficient at most,
    # the context keeps 28), and is several times cheaper than `Decimal(cents) / 100` then `quantize`.
    if value is None:
        return None
    return _CENT * (value if type(value) is int else int(value))


def _two_places(value: Any) -> Decimal | None:
    # asyncpg already returns NUMERIC(15, 2) as a two-place Decimal. Quantizing it again is exact and cheaper
    # than asking for its exponent (`as_tuple()` builds a tuple of digits); sums and casts may differ.
    if value is None:
        return None
    return (value if type(value) is Decimal else Decimal(value)).quantize(_CENT)


class Money(TypeDecorator[Decimal]):
    """`Numeric(15, 2)` on PostgreSQL; integer cents on SQLite, whose NUMERIC is a binary float."""

    impl = Numeric(15, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(15, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        # Only literal SQL (`literal_binds`) comes here; statements use `bind_processor`.
        return _to_cents(value) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Processor | None:
        driver = self.impl_instance.bind_processor(dialect)
        return _compose(_to_cents, driver) if dialect.name == "sqlite" else driver

    def result_processor(self, dialect: Dialect, coltype: Any) -> Processor | None:
        driver = self.impl_instance.result_processor(dialect, coltype)
        return _compose(driver, _from_cents if dialect.name == "sqlite" else _two_places)


class MoneyDelta(Money):
    """An amount added to a `Money` column (a batch's sum): exact on PostgreSQL without `Money`'s precision, so
    that a sum beyond Numeric(15, 2) still adds up to a balance within it (the column checks the result)."""

    impl = Numeric()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(asdecimal=True))


def _in_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_from_text(parse: Processor) -> Processor:
    """SQLite keeps our UTC timestamps as naive ISO text: read it as UTC in one C call.

    `fromisoformat(text + "+00:00")` costs about a tenth of parsing and then `replace(tzinfo=UTC)`, which
    is slow on Python 3.11. Text we did not write (an offset of its own, a bare date) takes the
    dialect's own parsing, then is tagged or converted as before.
    """
    fromisoformat = datetime.fromisoformat

    def process(value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            parsed = fromisoformat(value + "+00:00")
            if parsed.tzinfo is UTC:  # a bare date ignores the offset
                return parsed
        except (TypeError, ValueError):
            pass
        return _in_utc(parse(value))

    return process


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps; SQLite stores them naive, so tag them on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Processor | None:
        driver = self.impl_instance.result_processor(dialect, coltype)
        if dialect.name == "sqlite" and driver is not None:
            return _utc_from_text(driver)
        return _compose(driver, _in_utc)
