"""Analytics: an index holding every column a spending or cash-flow total reads, for index-only scans.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["household_id", "date", "account_id", "amount", "category", "merchant"]


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("ix_transactions_household_date_totals", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_household_date_totals")
