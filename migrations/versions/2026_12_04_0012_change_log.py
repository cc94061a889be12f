"""The change log: one `changes` row per successful write (who, when, which tool, a one-line summary) and
its `change_rows`, the before and after images of every row it touched, so that a change can be undone.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-04 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from finance_mcp.db.types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("tool", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=True),
        sa.Column("undoes_change_id", sa.BigInteger(), nullable=True),
        sa.Column("undone_by_change_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_changes_household_id_households"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_changes_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.create_index("ix_changes_household_id", ["household_id", "id"], unique=False)
    op.create_table(
        "change_rows",
        sa.Column("change_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"], ["changes.id"], name=op.f("fk_change_rows_change_id_changes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_change_rows_household_id_households"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("change_id", "seq", name=op.f("pk_change_rows")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("change_rows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_change_rows_household_row", ["household_id", "table_name", "row_id", "change_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("change_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_change_rows_household_row")
    op.drop_table("change_rows")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index("ix_changes_household_id")
    op.drop_table("changes")
