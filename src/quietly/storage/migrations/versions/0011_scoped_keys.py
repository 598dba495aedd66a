"""scoped keys: target patterns and an expiry on API keys

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quietly.storage.types

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not a batch copy (which drops AUTOINCREMENT on SQLite). Existing keys
    # get an empty scope (unrestricted) and no expiry: they keep working as they did.
    op.add_column("api_keys", sa.Column("scope", sa.JSON(), nullable=False,
                                        server_default=sa.text("'[]'")))
    op.add_column("api_keys", sa.Column(
        "expires_at", quietly.storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("scope")
