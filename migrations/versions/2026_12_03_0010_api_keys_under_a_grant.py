"""API keys made with the create_api_key tool under an OAuth sign-in re-check their person through that
sign-in's grant: the key names its grant (`grant_id`; ending the grant stops the key), and the grant records
when MCP_Auth last vouched for the person (`checked_at`) and who holds its MCP_Auth refresh token right now
(`upstream_claimed_until`: the client's refresh or a key's re-check, never both). Keys made before this
revision name no grant and are not re-checked.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from finance_mcp.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("upstream_claimed_until", UTCDateTime(), nullable=True))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_keys_grant_id"), ["grant_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_grant_id_oauth_grants"), "oauth_grants", ["grant_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_keys_grant_id_oauth_grants"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_keys_grant_id"))
        batch_op.drop_column("grant_id")
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.drop_column("upstream_claimed_until")
        batch_op.drop_column("checked_at")
