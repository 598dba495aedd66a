"""hardening: unique live key names per workspace, Idempotency-Key records

Revision ID: 0006
Revises: 0010
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quietly.storage.types

revision = "0006"
down_revision = "0010"
branch_labels = None
depends_on = None


def _rename_duplicate_keys() -> None:
    """Two live keys sharing a name: every one after the first gets ' (key <id>)' appended."""
    keys = sa.table("api_keys", sa.column("id", sa.Integer), sa.column("workspace_id", sa.Integer),
                    sa.column("name", sa.String), sa.column("revoked_at", sa.DateTime))
    bind = op.get_bind()
    seen: set[tuple[int, str]] = set()
    rows = bind.execute(sa.select(keys.c.id, keys.c.workspace_id, keys.c.name)
                        .where(keys.c.revoked_at.is_(None)).order_by(keys.c.id)).all()
    for key_id, workspace_id, name in rows:
        if (workspace_id, name) in seen:
            bind.execute(keys.update().where(keys.c.id == key_id)
                         .values(name=f"{name[:180]} (key {key_id})"))
        else:
            seen.add((workspace_id, name))


def upgrade() -> None:
    _rename_duplicate_keys()
    op.create_index("ux_api_keys_live_name", "api_keys", ["workspace_id", "name"], unique=True,
                    sqlite_where=sa.text("revoked_at IS NULL"),
                    postgresql_where=sa.text("revoked_at IS NULL"))
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", quietly.storage.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "key"),
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ux_api_keys_live_name", table_name="api_keys")
