"""sync options: settings of one kind of system (Icinga 2's object mapping, TLS, services)

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-06 12:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch copy: on SQLite the copy would drop the table's
    # AUTOINCREMENT, and a deleted sync's id must never be given to a new one.
    op.add_column("syncs", sa.Column("options", sa.JSON(), nullable=False,
                                     server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("syncs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("options")
