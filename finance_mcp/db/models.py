"""The persistent model. Alembic migrations in `migrations/` mirror these tables exactly (a test checks)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from finance_mcp.db.types import Money, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY is the rowid alias).
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Household(Base):
    """The unit of sharing and isolation: one MCP_Auth tenant, or one person without a tenant."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    external_key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class User(Base):
    """A person as seen by one household (MCP_Auth `sub`), created on first sight."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("household_id", "auth_user_id", name="uq_users_household_auth_user"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    auth_user_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (Index("ix_accounts_household_name", "household_id", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    account_type: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    opening_balance: Mapped[Decimal] = mapped_column(Money())
    balance: Mapped[Decimal] = mapped_column(Money())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        # Serves account listings newest first with keyset cursors.
        Index("ix_transactions_household_account_date", "household_id", "account_id", "date", "id"),
        # Serves household-wide listings and date ranges.
        Index("ix_transactions_household_date", "household_id", "date", "id"),
        Index("ix_transactions_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Money())
    date: Mapped[dt.date] = mapped_column(Date())
    category: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000))
    merchant: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(JSON())
    der_category: Mapped[str | None] = mapped_column(String(100))
    der_merchant: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TransactionTag(Base):
    """One normalised (trimmed, lower-cased) tag of a transaction: exact, case-insensitive tag filters
    that behave the same on SQLite and PostgreSQL, and use an index."""

    __tablename__ = "transaction_tags"
    __table_args__ = (Index("ix_transaction_tags_household_tag", "household_id", "tag", "transaction_id"),)

    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))


households: Table = Base.metadata.tables["households"]
users: Table = Base.metadata.tables["users"]
accounts: Table = Base.metadata.tables["accounts"]
transactions: Table = Base.metadata.tables["transactions"]
transaction_tags: Table = Base.metadata.tables["transaction_tags"]
