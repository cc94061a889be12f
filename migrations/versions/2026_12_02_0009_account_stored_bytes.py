"""Accounts estimate the storage of their transactions (`stored_bytes`), for the stored-bytes quota.

Kept beside `transaction_count` by the same statements; the upgrade fills it from the rows already there
with the estimate of `finance_mcp/quotas.py` (64 bytes a row, the UTF-8 length of its text, tags twice).

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-02 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = ("category", "description", "merchant", "location", "der_category", "der_merchant")


def _estimate(dialect: str) -> str:
    if dialect == "postgresql":
        size, tags = "octet_length({})", "SELECT sum(octet_length(x)) FROM json_array_elements_text(t.tags) AS x"
    else:
        size, tags = "length(CAST({} AS BLOB))", "SELECT sum(length(CAST(value AS BLOB))) FROM json_each(t.tags)"
    text = " + ".join(f"coalesce({size.format('t.' + name)}, 0)" for name in TEXT)
    return f"64 + {text} + 2 * coalesce(({tags}), 0)"


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored_bytes", sa.BigInteger(), server_default="0", nullable=False))
    estimate = _estimate(op.get_bind().dialect.name)
    op.execute(
        f"UPDATE accounts SET stored_bytes = "  # noqa: S608 - built from constants only
        f"(SELECT coalesce(sum({estimate}), 0) FROM transactions AS t WHERE t.account_id = accounts.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("stored_bytes")
