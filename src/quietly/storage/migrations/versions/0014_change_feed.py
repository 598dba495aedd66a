"""change feed: the committed window and group changes, for serve processes sharing a
SQLite file

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00

Each change of a window or a group writes one row in its own transaction (what PostgreSQL's
``NOTIFY`` carries); every ``serve`` process on the same SQLite file reads the rows another
process wrote and updates its decision index (``worker.feed``). Rows are pruned after two
minutes. PostgreSQL gets the table too, so that both stores have one schema, and notifies
instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import quietly.storage.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("at", quietly.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("changes")
