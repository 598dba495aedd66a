"""syncs: sync targets (Alertmanager clusters) with their run state, and the objects they own

Revision ID: 0005
Revises: 0008
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quietly.storage.types

revision = "0005"
down_revision = "0008"
branch_labels = None
depends_on = None


def _instant(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, quietly.storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("base_path", sa.String(length=500), nullable=False),
        sa.Column("target_labels", sa.JSON(), nullable=True),
        sa.Column("lead_seconds", sa.Integer(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("allow_all_targets", sa.Boolean(), nullable=False),
        sa.Column("basic_username", sa.String(length=200), nullable=True),
        sa.Column("secrets", sa.JSON(), nullable=False),
        _instant("created_at", nullable=False),
        _instant("updated_at", nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("seen_seq", sa.BigInteger(), nullable=False),
        _instant("next_run_at", nullable=False),
        _instant("lease_until", nullable=True),
        sa.Column("leased_by", sa.String(length=100), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        _instant("last_run_at", nullable=True),
        _instant("last_success_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("last_error_at", nullable=True),
        sa.Column("errors_total", sa.BigInteger(), nullable=False),
        sa.Column("repairs_total", sa.BigInteger(), nullable=False),
        sa.Column("objects", sa.Integer(), nullable=False),
        sa.Column("last_run", sa.JSON(), nullable=False),
        sa.Column("repairs", sa.JSON(), nullable=False),
        sa.Column("not_expressible", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_syncs_ws_name"),
        sqlite_autoincrement=True,  # a deleted sync's id (named in tags) is never reused
    )
    op.create_table(
        "sync_objects",
        sa.Column("sync_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        _instant("ends_at", nullable=False),
        sa.ForeignKeyConstraint(["sync_id"], ["syncs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sync_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("sync_objects")
    op.drop_table("syncs")
