"""Tags: an index that finds one transaction's tags within its household, for the tag summary's join.

`spending_summary(group_by="tag")` joins each transaction to its tags on (household_id, transaction_id).
The only covering index before this one, (household_id, tag, transaction_id), seeks on the household alone,
so every transaction scanned every tag row of its household: quadratic (20,000 tag rows: 54 s on SQLite).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["household_id", "transaction_id", "tag"]


def upgrade() -> None:
    with op.batch_alter_table("transaction_tags", schema=None) as batch_op:
        batch_op.create_index("ix_transaction_tags_household_transaction", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transaction_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_transaction_tags_household_transaction")
