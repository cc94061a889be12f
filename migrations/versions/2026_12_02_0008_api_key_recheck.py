"""API keys re-check their person with MCP_Auth: the key keeps MCP_Auth's refresh token (sealed with AES-GCM
under a key derived from SECRET_KEY), when it was last checked, when the next check is due, and why a failed
check stopped it. Keys made before this revision have no refresh token and are not re-checked.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from finance_mcp.db.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upstream_refresh_token", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("checked_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("next_check_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("revoke_reason", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("revoke_reason")
        batch_op.drop_column("next_check_at")
        batch_op.drop_column("checked_at")
        batch_op.drop_column("upstream_refresh_token")
