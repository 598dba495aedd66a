"""alerts: ingested alerts, the windows holding them, their targets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quietly.storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _instant(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, quietly.storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        _instant("starts_at", nullable=True),
        _instant("ends_at", nullable=True),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("held_by", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _instant("received_at", nullable=False),
        _instant("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "fingerprint", name="uq_alerts_ws_fingerprint"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_ws_delivery", ["workspace_id", "delivery", "id"])
        batch_op.create_index("ix_alerts_ws_status", ["workspace_id", "status", "id"])

    op.create_table(
        "alert_windows",
        sa.Column("alert_id", _BIG_ID, nullable=False),
        sa.Column("window_id", _BIG_ID, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alert_id", "window_id"),
    )
    with op.batch_alter_table("alert_windows", schema=None) as batch_op:
        batch_op.create_index("ix_alert_windows_window", ["window_id"])

    op.create_table(
        "alert_targets",
        sa.Column("alert_id", _BIG_ID, nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alert_id", "target"),
    )
    with op.batch_alter_table("alert_targets", schema=None) as batch_op:
        batch_op.create_index("ix_alert_targets_ws_target", ["workspace_id", "target"])


def downgrade() -> None:
    with op.batch_alter_table("alert_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_targets_ws_target")
    op.drop_table("alert_targets")
    with op.batch_alter_table("alert_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_windows_window")
    op.drop_table("alert_windows")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_ws_status")
        batch_op.drop_index("ix_alerts_ws_delivery")
    op.drop_table("alerts")
