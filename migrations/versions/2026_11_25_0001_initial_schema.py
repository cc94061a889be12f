"""Initial schema: households, users, accounts, transactions and their tags.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 18:20:57.416270
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from finance_mcp.db.types import Money, UTCDateTime

# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY auto-increments.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", ID, nullable=False),
        sa.Column("external_key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("external_key", name=op.f("uq_households_external_key")),
    )
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("auth_user_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_users_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("household_id", "auth_user_id", name="uq_users_household_auth_user"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("account_type", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("opening_balance", Money(), nullable=False),
        sa.Column("balance", Money(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_accounts_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_accounts_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_household_name", ["household_id", "name"], unique=False)

    op.create_table(
        "transactions",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("merchant", sa.String(length=255), nullable=True),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("der_category", sa.String(length=100), nullable=True),
        sa.Column("der_merchant", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_transactions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_transactions_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_transactions_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("ix_transactions_account", ["account_id"], unique=False)
        batch_op.create_index(
            "ix_transactions_household_account_date",
            ["household_id", "account_id", "date", "id"],
            unique=False,
        )
        batch_op.create_index("ix_transactions_household_date", ["household_id", "date", "id"], unique=False)

    op.create_table(
        "transaction_tags",
        sa.Column("transaction_id", ID, nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_transaction_tags_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_transaction_tags_transaction_id_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transaction_id", "tag", name=op.f("pk_transaction_tags")),
    )
    with op.batch_alter_table("transaction_tags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transaction_tags_household_tag", ["household_id", "tag", "transaction_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("transaction_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_transaction_tags_household_tag")

    op.drop_table("transaction_tags")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_household_date")
        batch_op.drop_index("ix_transactions_household_account_date")
        batch_op.drop_index("ix_transactions_account")

    op.drop_table("transactions")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_household_name")

    op.drop_table("accounts")
    op.drop_table("users")
    op.drop_table("households")
