"""Sign-in attempts counted in the database (`signin_attempts`), shared by every worker and replica.

The sign-in page reserves an attempt here, in one atomic statement, before it asks MCP_Auth, so neither
concurrency nor `--workers` can exceed the budget; past the free attempts each key waits out an
exponential delay instead of being locked out.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signin_attempts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delay_ms", sa.BigInteger(), nullable=False),
        sa.Column("not_before_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_signin_attempts")),
    )
    with op.batch_alter_table("signin_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signin_attempts_expires_ms"), ["expires_ms"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signin_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_attempts_expires_ms"))
    op.drop_table("signin_attempts")
