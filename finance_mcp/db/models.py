"""The persistent model. Alembic migrations in `migrations/` mirror these tables exactly (a test checks)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
    # How many transactions the account holds, kept beside the balance by the same statements, so an
    # account's listing can report its total without counting its rows on every call.
    transaction_count: Mapped[int] = mapped_column(BigInteger(), server_default="0")
    # The estimated storage of those transactions (finance_mcp/quotas.py: row_bytes), kept the same way, so
    # a household's stored-bytes quota is a sum over its accounts, not over its rows.
    stored_bytes: Mapped[int] = mapped_column(BigInteger(), server_default="0")
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
        # Serves analytics: every column a total reads, so sums over a date range are index-only scans
        # (docs/ANALYTICS.md: about half the time of reading the rows themselves).
        Index(
            "ix_transactions_household_date_totals",
            "household_id",
            "date",
            "account_id",
            "amount",
            "category",
            "merchant",
        ),
        # Serves a transfer's other leg: the household's rows of one transfer.
        Index("ix_transactions_household_transfer", "household_id", "transfer_id"),
        # An imported row's fingerprint (finance_mcp/imports/rows.py), once per account: re-importing a file
        # or an overlapping statement cannot add a row twice, even when two imports race.
        Index("uq_transactions_account_import_fingerprint", "account_id", "import_fingerprint", unique=True),
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
    # The two legs of a transfer (create_transfer) share this: the id of the leg money went out of. Null for
    # every other transaction (and for rows of category `transfer` recorded as single transactions).
    transfer_id: Mapped[int | None] = mapped_column(BigInteger())
    # Null unless the row came from import_transactions (NULLs never collide in the unique index).
    import_fingerprint: Mapped[str | None] = mapped_column(String(64))


class TransactionSplit(Base):
    """One part of a split transaction: analytics count the parts instead of their transaction (whose
    amount they add up to exactly). The parts of one transaction are ordered by id."""

    __tablename__ = "transaction_splits"
    __table_args__ = (Index("ix_transaction_splits_household_transaction", "household_id", "transaction_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Money())
    category: Mapped[str] = mapped_column(String(100))
    der_category: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000))
    tags: Mapped[list[str]] = mapped_column(JSON())


class TransactionSplitTag(Base):
    """One normalised tag of a split part, as `transaction_tags` is of a transaction."""

    __tablename__ = "transaction_split_tags"
    __table_args__ = (Index("ix_transaction_split_tags_household_split", "household_id", "split_id", "tag"),)

    split_id: Mapped[int] = mapped_column(ForeignKey("transaction_splits.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))


class TransactionTag(Base):
    """One normalised (trimmed, lower-cased) tag of a transaction: exact, case-insensitive tag filters
    that behave the same on SQLite and PostgreSQL, and use an index."""

    __tablename__ = "transaction_tags"
    __table_args__ = (
        # Serves tag filters: a household's transactions with a given tag.
        Index("ix_transaction_tags_household_tag", "household_id", "tag", "transaction_id"),
        # Serves the tag summary's join, one transaction's tags: seeking on the household alone (the index
        # above) made every transaction read every tag row of its household (issue 11, item 1).
        Index("ix_transaction_tags_household_transaction", "household_id", "transaction_id", "tag"),
    )

    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))


class ApiKey(Base):
    """A long-lived credential for header-only clients: bound to one user of one household, scoped,
    revocable. Only the SHA-256 of its secret is stored; `lookup_id` (in the key itself) finds the row."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_household_user", "household_id", "user_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    lookup_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    scopes: Mapped[list[str]] = mapped_column(JSON())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Re-checking the person with MCP_Auth (services/api_key_recheck.py): its sealed refresh token, the last
    # successful check, when the next is due, and why the key was stopped when a check failed.
    upstream_refresh_token: Mapped[str | None] = mapped_column(String(500))
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(300))
    # A key made with the create_api_key tool under an OAuth sign-in re-checks its person through that
    # sign-in's grant (which holds the MCP_Auth refresh token); ending the grant stops the key.
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_grants.id", ondelete="SET NULL"), index=True)
    # The toolsets the key's client is offered by default (server/toolsets.py); null: the household's default.
    toolsets: Mapped[list[str] | None] = mapped_column(JSON())


class OAuthClient(Base):
    """A client registered through RFC 7591 dynamic registration; its secret (if any) only as a hash."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    client_metadata: Mapped[dict[str, object]] = mapped_column(JSON())
    # Indexed for the purge of clients registered long ago and never used (no grant).
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class OAuthGrant(Base):
    """One sign-in of one person for one client: the family of its code and refresh tokens. Revoking it
    ends them all. Holds MCP_Auth's refresh token, sealed, to re-check the person at every refresh."""

    __tablename__ = "oauth_grants"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # A registered client's id, or a Client ID Metadata Document's URL (such a client has no row of its own).
    client_id: Mapped[str] = mapped_column(String(255), index=True)
    auth_user_id: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    scopes: Mapped[list[str]] = mapped_column(JSON())
    resource: Mapped[str | None] = mapped_column(String(2000))
    upstream_refresh_token: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When MCP_Auth last vouched for the person (a refresh by the client, or a re-check of a key made under
    # the grant; null: at the sign-in), and until when one of them holds the MCP_Auth refresh token: two
    # refreshes of one MCP_Auth refresh token would revoke it (rotation), so only one may run at a time.
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    upstream_claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OAuthCode(Base):
    """A single-use authorization code (hashed), bound to its PKCE challenge and redirect URI."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_challenge: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    redirect_uri_provided_explicitly: Mapped[bool] = mapped_column(Boolean())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OAuthRefreshToken(Base):
    """A refresh token (hashed). Single use: using it marks it used and issues the next one; presenting a
    used one again revokes the whole grant (reuse detection, RFC 9700 §4.14.2)."""

    __tablename__ = "oauth_refresh_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OAuthRegistrationCount(Base):
    """How many client registrations one source (an address, or "all") made in the current fixed window:
    one row per source, counted with one atomic upsert so every worker and replica shares the limit."""

    __tablename__ = "oauth_registration_counts"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_index: Mapped[int] = mapped_column(BigInteger(), index=True)
    count: Mapped[int] = mapped_column(Integer())


class SignInAttempt(Base):
    """Sign-in attempts counted per key (a hash of account and/or source), shared by every worker and
    replica. A row is forgotten after `expires_ms`: a key that stays quiet starts again from nothing."""

    __tablename__ = "signin_attempts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer())
    # Epoch milliseconds: the backoff arithmetic runs inside one SQL statement on both databases.
    delay_ms: Mapped[int] = mapped_column(BigInteger())
    not_before_ms: Mapped[int] = mapped_column(BigInteger())
    expires_ms: Mapped[int] = mapped_column(BigInteger(), index=True)


class IdempotencyKey(Base):
    """The first result of a writing tool called with an `idempotency_key`, per household and user, kept for
    24 h so a retry gets it again instead of writing twice. The unique key is what makes simultaneous calls
    write once: the second claim waits on the first's row and then finds it (server/idempotency.py)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("household_id", "user_id", "key", name="uq_idempotency_keys_household_user_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    tool: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    # Null only inside the claiming transaction, before the tool's result is known: never seen committed.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class Change(Base):
    """One successful write of one tool call (the change log): who, when, which tool, a sentence for the
    person, and what it touched (`change_rows`). Append-only, but for the link an undo writes back."""

    __tablename__ = "changes"
    # Serves list_changes: a household's changes newest first. (One entity's changes are found through
    # change_rows' index instead: every index here is one more page to write on every write.)
    __table_args__ = (Index("ix_changes_household_id", "household_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(20))
    # The OAuth client of the caller's sign-in, or the API key it used, when there is one.
    client_id: Mapped[str | None] = mapped_column(String(255))
    api_key_id: Mapped[int | None] = mapped_column(BigInteger())
    tool: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(500))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigInteger())
    undoes_change_id: Mapped[int | None] = mapped_column(BigInteger())
    undone_by_change_id: Mapped[int | None] = mapped_column(BigInteger())


class ChangeRow(Base):
    """One row a change touched: its image before (null: created) and after (null: deleted). Table
    `account_totals` records a move of an account's balance and counters (a delta, undone by a delta)."""

    __tablename__ = "change_rows"
    # Serves the undo's blocker check: the latest change that touched one row, one indexed seek.
    # On SQLite the rows live in their primary key's tree (WITHOUT ROWID): one tree fewer to write.
    __table_args__ = (
        Index("ix_change_rows_household_row", "household_id", "table_name", "row_id", "change_id"),
        {"sqlite_with_rowid": False},
    )

    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer(), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[int] = mapped_column(BigInteger())
    before: Mapped[dict[str, object] | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[dict[str, object] | None] = mapped_column(JSON(none_as_null=True))


class Budget(Base):
    """A monthly spending limit for one category (matched case-insensitively, like analytics), from
    `start_month` on. With `rollover`, what a month leaves (or overspends) carries into the next."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("household_id", "category_key", name="uq_budgets_household_category"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(100))
    category_key: Mapped[str] = mapped_column(String(100))  # lower-cased: one budget per category, any case
    amount: Mapped[Decimal] = mapped_column(Money())
    start_month: Mapped[dt.date] = mapped_column(Date())  # the first day of a month
    rollover: Mapped[bool] = mapped_column(Boolean())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Recurring(Base):
    """A planned series of transactions (rent, a subscription): every `interval` weeks, months or years from
    `start_date`; monthly and yearly series fall on the start date's day, or the month's last day when shorter
    (or always on the last day, with `last_day`)."""

    __tablename__ = "recurring"
    __table_args__ = (Index("ix_recurring_household", "household_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Money())
    category: Mapped[str] = mapped_column(String(100))
    frequency: Mapped[str] = mapped_column(String(10))
    interval: Mapped[int] = mapped_column(Integer())
    last_day: Mapped[bool] = mapped_column(Boolean())
    start_date: Mapped[dt.date] = mapped_column(Date())
    end_date: Mapped[dt.date | None] = mapped_column(Date())
    merchant: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class RecurringPosting(Base):
    """One due date of a series, posted: the unique key is what makes two simultaneous `post_due_recurring`
    calls post a date once (the second's insert waits on the first's and then finds it)."""

    __tablename__ = "recurring_postings"
    __table_args__ = (UniqueConstraint("recurring_id", "due_date", name="uq_recurring_postings_recurring_due"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    recurring_id: Mapped[int] = mapped_column(ForeignKey("recurring.id", ondelete="CASCADE"))
    due_date: Mapped[dt.date] = mapped_column(Date())
    # The transaction posted for the date. No foreign key: deleting that transaction leaves the date posted
    # (never posted twice) and changes no row behind the change log's back.
    transaction_id: Mapped[int | None] = mapped_column(BigInteger())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Rule(Base):
    """A categorisation rule: when every condition holds, its actions fill in a new transaction's fields
    (never one the caller gave). Rules run in ascending `priority`, then id."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_household_priority", "household_id", "priority", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON())
    actions: Mapped[dict[str, Any]] = mapped_column(JSON())
    priority: Mapped[int] = mapped_column(Integer())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


households: Table = Base.metadata.tables["households"]
users: Table = Base.metadata.tables["users"]
accounts: Table = Base.metadata.tables["accounts"]
transactions: Table = Base.metadata.tables["transactions"]
transaction_tags: Table = Base.metadata.tables["transaction_tags"]
transaction_splits: Table = Base.metadata.tables["transaction_splits"]
transaction_split_tags: Table = Base.metadata.tables["transaction_split_tags"]
api_keys: Table = Base.metadata.tables["api_keys"]
oauth_clients: Table = Base.metadata.tables["oauth_clients"]
oauth_grants: Table = Base.metadata.tables["oauth_grants"]
oauth_codes: Table = Base.metadata.tables["oauth_codes"]
oauth_refresh_tokens: Table = Base.metadata.tables["oauth_refresh_tokens"]
oauth_registration_counts: Table = Base.metadata.tables["oauth_registration_counts"]
signin_attempts: Table = Base.metadata.tables["signin_attempts"]
idempotency_keys: Table = Base.metadata.tables["idempotency_keys"]
changes: Table = Base.metadata.tables["changes"]
change_rows: Table = Base.metadata.tables["change_rows"]
budgets: Table = Base.metadata.tables["budgets"]
recurring: Table = Base.metadata.tables["recurring"]
recurring_postings: Table = Base.metadata.tables["recurring_postings"]
rules: Table = Base.metadata.tables["rules"]
