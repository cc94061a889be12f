"""Bounded client registration: a shared per-window counter of registrations, indexes for purging clients
never used, and grants that may name a Client ID Metadata Document URL (a client with no row of its own).

`oauth_grants.client_id` loses its foreign key to `oauth_clients` (a CIMD client is its URL, stored nowhere)
and grows to 255 characters (the longest client-ID URL accepted). Only clients without grants are purged,
so no grant is left pointing at a purged client.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_registration_counts",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("window_index", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_oauth_registration_counts")),
    )
    with op.batch_alter_table("oauth_registration_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_registration_counts_window_index"), ["window_index"], unique=False)
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_clients_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.drop_constraint("fk_oauth_grants_client_id_oauth_clients", type_="foreignkey")
        batch_op.alter_column(
            "client_id", existing_type=sa.String(length=64), type_=sa.String(length=255), existing_nullable=False
        )
        batch_op.create_index(batch_op.f("ix_oauth_grants_client_id"), ["client_id"], unique=False)


def downgrade() -> None:
    # Grants of metadata-document clients name no registered client: they cannot survive the foreign key.
    op.execute("DELETE FROM oauth_grants WHERE client_id NOT IN (SELECT client_id FROM oauth_clients)")
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_grants_client_id"))
        batch_op.alter_column(
            "client_id", existing_type=sa.String(length=255), type_=sa.String(length=64), existing_nullable=False
        )
        batch_op.create_foreign_key(
            "fk_oauth_grants_client_id_oauth_clients",
            "oauth_clients",
            ["client_id"],
            ["client_id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_clients_created_at"))
    with op.batch_alter_table("oauth_registration_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_registration_counts_window_index"))
    op.drop_table("oauth_registration_counts")
