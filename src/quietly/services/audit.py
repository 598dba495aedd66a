"""The audit log: every create, update, cancel and delete with actor, time, before and after."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quietly.core.errors import ValidationError
from quietly.core.records import Principal
from quietly.services.serialize import window_to_json
from quietly.storage.mappers import window_record_from_row
from quietly.storage.tables import AuditRow, WindowRow

__all__ = ["AuditEntry", "decode_cursor", "encode_cursor", "list_audit", "record"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


_OBJECT_ID_LENGTH = 64  # audit_log.object_id is VARCHAR(64); group names go up to 200


def _column_sized(object_id: str) -> str:
    """The id as the column holds it: a longer one (a group name of up to 200 characters)
    is cut, marked with "…"; ``before``/``after`` keep it whole. PostgreSQL would refuse
    the whole change otherwise (SQLite does not check), failing the request."""
    if len(object_id) <= _OBJECT_ID_LENGTH:
        return object_id
    return object_id[: _OBJECT_ID_LENGTH - 1] + "…"


def record(
    db: Session,
    principal: Principal,
    *,
    action: str,
    object_type: str,
    object_id: str | int,
    at: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Write one audit entry in the caller's transaction (so it exists iff the change does)."""
    db.add(
        AuditRow(
            workspace_id=principal.workspace_id,
            at=at,
            actor=principal.actor,
            action=action,
            object_type=object_type,
            object_id=_column_sized(str(object_id)),
            before=before,
            after=after,
        )
    )


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id a page starts after; a cursor that was not made by us is a 400-class error."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "id" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(
            "not a cursor returned by this API; pass next_cursor unchanged", field="cursor"
        ) from exc


def list_audit(
    db: Session,
    principal: Principal,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[AuditEntry], str | None]:
    """Newest entries last, paginated by id."""
    after = decode_cursor(cursor)
    stmt = (
        select(AuditRow)
        .where(AuditRow.workspace_id == principal.workspace_id, AuditRow.id > after)
        .order_by(AuditRow.id)
        .limit(limit + 1)
    )
    if object_type:
        stmt = stmt.where(AuditRow.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditRow.object_id == object_id)
    rows = list(db.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    created = _created_windows(db, principal, rows)
    entries = [
        AuditEntry(r.id, r.at, r.actor, r.action, r.object_type, r.object_id, r.before,
                   created.get(r.id, r.after))
        for r in rows
    ]
    return entries, (encode_cursor(rows[-1].id) if more and rows else None)


def _created_windows(db: Session, principal: Principal, rows: list[AuditRow]
                     ) -> dict[int, dict[str, Any]]:
    """The ``after`` of window creates stored without a copy (``windows.create_windows``):
    the window as first stored, read from its row, which has not changed since (its first
    change writes the copy into the entry). Keyed by audit entry id."""
    wanted = {int(r.object_id): r for r in rows if r.after is None and r.action == "create"
              and r.object_type == "window" and r.object_id.isdigit()}
    if not wanted:
        return {}
    found = db.scalars(select(WindowRow).where(WindowRow.workspace_id == principal.workspace_id,
                                               WindowRow.id.in_(sorted(wanted))))
    return {wanted[row.id].id: window_to_json(window_record_from_row(row), row.created_at)
            for row in found}
