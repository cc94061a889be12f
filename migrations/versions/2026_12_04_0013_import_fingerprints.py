"""Imported transactions keep a fingerprint (the bank's id, or date + amount + text + occurrence), unique per
account, so re-importing a file or an overlapping statement adds only the rows not already there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_fingerprint", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "uq_transactions_account_import_fingerprint", ["account_id", "import_fingerprint"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("uq_transactions_account_import_fingerprint")
        batch_op.drop_column("import_fingerprint")
