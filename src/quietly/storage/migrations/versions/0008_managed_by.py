"""maintenance as code: a stable key and the managing source on windows and target groups

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_LIVE_KEY = "key IS NOT NULL AND archived_at IS NULL"


def upgrade() -> None:
    for table in ("windows", "target_groups"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("key", sa.String(length=200), nullable=True))
            batch.add_column(sa.Column("managed_source", sa.String(length=100), nullable=True))
    # A key names one live window per workspace (an archived window frees it).
    op.create_index("uq_windows_ws_key", "windows", ["workspace_id", "key"], unique=True,
                    sqlite_where=sa.text(_LIVE_KEY), postgresql_where=sa.text(_LIVE_KEY))
    op.create_index("uq_target_groups_ws_key", "target_groups", ["workspace_id", "key"],
                    unique=True, sqlite_where=sa.text("key IS NOT NULL"),
                    postgresql_where=sa.text("key IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("uq_target_groups_ws_key", table_name="target_groups")
    op.drop_index("uq_windows_ws_key", table_name="windows")
    for table in ("target_groups", "windows"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("managed_source")
            batch.drop_column("key")
