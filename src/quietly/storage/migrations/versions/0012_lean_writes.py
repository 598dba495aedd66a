"""lean writes: a partial index to find a window's create audit entry; ix_windows_parent
only over generated windows

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 15:10:00

A window's create audit entry keeps no copy of the window until its first change
(``services.windows.create_windows``); that change finds the entry through
``ix_audit_create_ref``, which holds only such entries. ``ix_windows_parent`` served only
windows with a parent (Oh Dear's generated periods): it now holds only those.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_CREATE_REF = "after IS NULL AND action = 'create'"
_HAS_PARENT = "parent_id IS NOT NULL"


def upgrade() -> None:
    op.create_index("ix_audit_create_ref", "audit_log", ["object_id"],
                    sqlite_where=sa.text(_CREATE_REF), postgresql_where=sa.text(_CREATE_REF))
    op.drop_index("ix_windows_parent", table_name="windows")
    op.create_index("ix_windows_parent", "windows", ["parent_id"],
                    sqlite_where=sa.text(_HAS_PARENT), postgresql_where=sa.text(_HAS_PARENT))


def downgrade() -> None:
    op.drop_index("ix_windows_parent", table_name="windows")
    op.create_index("ix_windows_parent", "windows", ["parent_id"])
    op.drop_index("ix_audit_create_ref", table_name="audit_log")
