"""Accounts count their transactions (`transaction_count`), kept beside the balance by the same statements.

An account's listing reports its total from this counter instead of counting the account's rows on every
call. The upgrade fills it from the rows already there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transaction_count", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(
        "UPDATE accounts SET transaction_count = "
        "(SELECT count(*) FROM transactions WHERE transactions.account_id = accounts.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("transaction_count")
