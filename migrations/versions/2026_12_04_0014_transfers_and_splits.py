"""Transfers and splits: `transactions.transfer_id` pairs the two legs of a transfer (create_transfer), and
`transaction_splits` (with its tags, `transaction_split_tags`) holds the parts a transaction is split into,
which analytics count instead of the transaction.

Revision ID: 0014
Revises: 0013 (0013 is another change under way; the chain is set again when both are merged)
Create Date: 2026-12-04 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from finance_mcp.db.types import Money

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transfer_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_transactions_household_transfer", ["household_id", "transfer_id"], unique=False)
    op.create_table(
        "transaction_splits",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("transaction_id", ID, nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("der_category", sa.String(length=100), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_transaction_splits_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_transaction_splits_transaction_id_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transaction_splits")),
    )
    with op.batch_alter_table("transaction_splits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transaction_splits_household_transaction", ["household_id", "transaction_id"], unique=False
        )
    op.create_table(
        "transaction_split_tags",
        sa.Column("split_id", ID, nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_transaction_split_tags_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["split_id"],
            ["transaction_splits.id"],
            name=op.f("fk_transaction_split_tags_split_id_transaction_splits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("split_id", "tag", name=op.f("pk_transaction_split_tags")),
    )
    with op.batch_alter_table("transaction_split_tags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transaction_split_tags_household_split", ["household_id", "split_id", "tag"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("transaction_split_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_transaction_split_tags_household_split")
    op.drop_table("transaction_split_tags")
    with op.batch_alter_table("transaction_splits", schema=None) as batch_op:
        batch_op.drop_index("ix_transaction_splits_household_transaction")
    op.drop_table("transaction_splits")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_household_transfer")
        batch_op.drop_column("transfer_id")
