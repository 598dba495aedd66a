"""worker: channels, routes, the outbox, delivery attempts, per-window jobs, periodic tasks

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quietly.storage.types

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _instant(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, quietly.storage.types.UTCDateTime(timezone=True), nullable=nullable)


def _workspace_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        _instant("created_at", nullable=False),
        _instant("updated_at", nullable=False),
        _workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_channels_ws_name"),
    )
    op.create_table(
        "routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("match", sa.JSON(), nullable=False),
        _instant("created_at", nullable=False),
        _instant("updated_at", nullable=False),
        _workspace_fk(),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_routes_ws_name"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=400), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("route_id", sa.Integer(), nullable=True),
        sa.Column("window_id", _BIG_ID, nullable=True),
        sa.Column("alert_id", _BIG_ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("due_at", nullable=False),
        _instant("next_attempt_at", nullable=False),
        _instant("lease_until", nullable=True),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        _instant("created_at", nullable=False),
        _instant("delivered_at", nullable=True),
        _workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_outbox_ws_window", ["workspace_id", "window_id", "id"],
                              unique=False)
        batch_op.create_index("ix_outbox_ws_channel", ["workspace_id", "channel_id", "id"],
                              unique=False)
    op.create_table(
        "delivery_attempts",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("outbox_id", _BIG_ID, nullable=False),
        _instant("at", nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_attempts_outbox", ["outbox_id", "id"], unique=False)
    op.create_table(
        "window_jobs",
        sa.Column("window_id", _BIG_ID, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        _instant("done_until", nullable=False),
        _instant("next_due_at", nullable=True),
        sa.ForeignKeyConstraint(["window_id"], ["windows.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("window_id"),
    )
    with op.batch_alter_table("window_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_window_jobs_due", ["next_due_at"], unique=False)
    op.create_table(
        "worker_tasks",
        sa.Column("name", sa.String(length=100), nullable=False),
        _instant("last_run_at", nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("worker_tasks")
    op.drop_table("window_jobs")
    op.drop_table("delivery_attempts")
    op.drop_table("outbox")
    op.drop_table("routes")
    op.drop_table("channels")
