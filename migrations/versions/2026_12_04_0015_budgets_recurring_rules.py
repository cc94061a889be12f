"""Budgets, recurring series (and the postings that make each due date post once) and categorisation rules.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from finance_mcp.db.types import Money, UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _household(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["household_id"], ["households.id"], name=op.f(f"fk_{table}_household_id_households"), ondelete="CASCADE"
    )


def _created_by(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["created_by"], ["users.id"], name=op.f(f"fk_{table}_created_by_users"), ondelete="SET NULL"
    )


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("category_key", sa.String(length=100), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("start_month", sa.Date(), nullable=False),
        sa.Column("rollover", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _household("budgets"),
        _created_by("budgets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
        sa.UniqueConstraint("household_id", "category_key", name="uq_budgets_household_category"),
    )
    op.create_table(
        "recurring",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Boolean(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("merchant", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _household("recurring"),
        _created_by("recurring"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_recurring_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring")),
    )
    with op.batch_alter_table("recurring", schema=None) as batch_op:
        batch_op.create_index("ix_recurring_household", ["household_id", "id"], unique=False)
    op.create_table(
        "recurring_postings",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("recurring_id", ID, nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _household("recurring_postings"),
        sa.ForeignKeyConstraint(
            ["recurring_id"],
            ["recurring.id"],
            name=op.f("fk_recurring_postings_recurring_id_recurring"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_postings")),
        sa.UniqueConstraint("recurring_id", "due_date", name="uq_recurring_postings_recurring_due"),
    )
    op.create_table(
        "rules",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _household("rules"),
        _created_by("rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
    )
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.create_index("ix_rules_household_priority", ["household_id", "priority", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.drop_index("ix_rules_household_priority")
    op.drop_table("rules")
    op.drop_table("recurring_postings")
    with op.batch_alter_table("recurring", schema=None) as batch_op:
        batch_op.drop_index("ix_recurring_household")
    op.drop_table("recurring")
    op.drop_table("budgets")
