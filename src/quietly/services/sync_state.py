"""The run state of syncs: change marks, leases, results and status.

- ``mark_changed`` runs in the transaction of every window or group change: it bumps the
  workspace's syncs' ``change_seq`` so they are due at once (exists iff the change does).
- ``claim`` takes a due sync's lease with one conditional UPDATE and checks that exactly one
  row changed (safe across processes on SQLite and PostgreSQL); it copies ``change_seq`` to
  ``seen_seq`` in the same statement, so any change committed later leaves the sync due
  again — and the run reads the windows only after the claim, so none is missed.
- ``renew`` extends a held lease; ``record_success``/``record_failure`` store the outcome,
  schedule the next run and release the lease.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from quietly.core.codec import format_instant
from quietly.core.errors import NotFound
from quietly.core.records import Principal
from quietly.services.syncs import SyncConfig, config_from_row, format_seconds
from quietly.storage.tables import SyncObjectRow, SyncRow

__all__ = ["RunResult", "claim", "due_syncs", "known_objects", "mark_changed",
           "record_failure", "record_success", "renew", "sync_problems_of_window",
           "sync_status", "sync_statuses"]

MAX_REPAIRS_SHOWN = 20
MAX_PROBLEMS_SHOWN = 200


def mark_changed(conn: Session | Connection, workspace_id: int) -> None:
    """Make every sync of the workspace due now (a window or group of it changed)."""
    table = SyncRow.__table__
    assert isinstance(table, Table)
    conn.execute(update(table).where(table.c.workspace_id == workspace_id)
                 .values(change_seq=table.c.change_seq + 1))


def _due(now: datetime) -> Any:
    free = or_(SyncRow.lease_until.is_(None), SyncRow.lease_until < now)
    wanted = or_(SyncRow.next_run_at <= now,
                 and_(SyncRow.change_seq != SyncRow.seen_seq, SyncRow.failures == 0))
    return and_(free, wanted)


def due_syncs(db: Session, now: datetime, limit: int = 100) -> list[int]:
    """Ids of syncs that want a run and that nobody holds."""
    return list(db.scalars(select(SyncRow.id).where(_due(now)).order_by(SyncRow.next_run_at)
                           .limit(limit)))


def claim(db: Session, sync_id: int, worker_id: str, now: datetime, lease: timedelta
          ) -> SyncConfig | None:
    """Take the sync's lease if it is due and free; None if another worker has it."""
    result = db.execute(update(SyncRow).where(SyncRow.id == sync_id, _due(now))
                        .values(lease_until=now + lease, leased_by=worker_id,
                                seen_seq=SyncRow.change_seq, last_run_at=now)
                        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = db.get(SyncRow, sync_id)
    return None if row is None else config_from_row(row)


def renew(db: Session, sync_id: int, worker_id: str, now: datetime, lease: timedelta) -> bool:
    """Extend our lease; False when it is no longer ours (the run must stop)."""
    result = db.execute(update(SyncRow).where(SyncRow.id == sync_id,
                                              SyncRow.leased_by == worker_id)
                        .values(lease_until=now + lease)
                        .execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def known_objects(db: Session, sync_id: int) -> dict[str, datetime]:
    """key → end of the objects the last successful run left."""
    rows = db.execute(select(SyncObjectRow.key, SyncObjectRow.ends_at)
                      .where(SyncObjectRow.sync_id == sync_id))
    return {str(key): ends for key, ends in rows}


def _store_objects(db: Session, sync_id: int, before: Mapping[str, datetime],
                   present: Mapping[str, tuple[str, datetime]]) -> None:
    gone = [k for k in before if k not in present]
    for start in range(0, len(gone), 500):
        db.execute(delete(SyncObjectRow).where(SyncObjectRow.sync_id == sync_id,
                                               SyncObjectRow.key.in_(gone[start:start + 500])))
    changed = [k for k, (_id, ends) in present.items() if k in before and before[k] != ends]
    for key in changed:
        db.execute(update(SyncObjectRow).where(SyncObjectRow.sync_id == sync_id,
                                               SyncObjectRow.key == key)
                   .values(object_id=present[key][0], ends_at=present[key][1]))
    new = [{"sync_id": sync_id, "key": k, "object_id": i, "ends_at": e}
           for k, (i, e) in present.items() if k not in before]
    if new:
        db.execute(SyncObjectRow.__table__.insert(), new)  # type: ignore[attr-defined]


class RunResult:
    """What a successful run reports (built by ``sync.runner``)."""

    def __init__(self, *, created: int, changed: int, removed: int, requests: int,
                 duration_ms: int, repairs: list[dict[str, Any]],
                 not_expressible: list[dict[str, Any]],
                 present: Mapping[str, tuple[str, datetime]],
                 via: Mapping[str, Any] | None = None) -> None:
        self.created, self.changed, self.removed = created, changed, removed
        self.via = dict(via or {})  # Icinga 2: the endpoint that answered, those that did not
        self.requests, self.duration_ms = requests, duration_ms
        self.repairs, self.not_expressible, self.present = repairs, not_expressible, present


def record_success(db: Session, sync_id: int, worker_id: str, now: datetime,
                   result: RunResult, before: Mapping[str, datetime], next_run_at: datetime
                   ) -> bool:
    """Store the outcome and release the lease; False if the lease was lost meanwhile."""
    row = db.get(SyncRow, sync_id, with_for_update=True)
    if row is None or row.leased_by != worker_id:
        return False
    _store_objects(db, sync_id, before, result.present)
    row.objects = len(result.present)
    row.repairs_total += len(result.repairs)
    if result.repairs:
        row.repairs = (list(result.repairs) + list(row.repairs or []))[:MAX_REPAIRS_SHOWN]
    row.not_expressible = result.not_expressible[:MAX_PROBLEMS_SHOWN]
    row.last_run = {"at": format_instant(now), "created": result.created,
                    "changed": result.changed, "removed": result.removed,
                    "requests": result.requests, "duration_ms": result.duration_ms,
                    **result.via}
    row.last_success_at = now
    row.failures = 0
    row.next_run_at = next_run_at
    row.lease_until = None
    row.leased_by = None
    return True


def record_failure(db: Session, sync_id: int, worker_id: str, now: datetime, error: str,
                   *, base: float = 1.0) -> bool:
    """Count the error and retry with backoff (doubling from ``base`` seconds, at most the
    sync's interval and 60 s); releases the lease."""
    row = db.get(SyncRow, sync_id, with_for_update=True)
    if row is None or row.leased_by != worker_id:
        return False
    row.failures += 1
    row.errors_total += 1
    row.last_error = error[:2000]
    row.last_error_at = now
    cap = max(1.0, min(60.0, float(row.interval_seconds)))
    row.next_run_at = now + timedelta(seconds=min(cap, base * 2 ** min(row.failures - 1, 10)))
    row.lease_until = None
    row.leased_by = None
    return True


def _instant(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def sync_status(db: Session, principal: Principal, sync_id: int, now: datetime
                ) -> dict[str, Any]:
    """The status the API, CLI and UI show: last success and error, objects, repairs, and
    the windows that cannot be expressed, with reasons."""
    row = db.scalar(select(SyncRow).where(SyncRow.workspace_id == principal.workspace_id,
                                          SyncRow.id == sync_id))
    if row is None:
        raise NotFound(f"no sync with id {sync_id}", field="id")
    return _status(row, now)


def sync_statuses(db: Session, principal: Principal, now: datetime) -> list[dict[str, Any]]:
    """Every sync of the workspace with its status (the UI's list)."""
    rows = db.scalars(select(SyncRow).where(SyncRow.workspace_id == principal.workspace_id)
                      .order_by(SyncRow.id))
    return [{**_status(row, now), "type": row.type,
             "url": row.url + (row.base_path if row.type == "alertmanager" else "")}
            for row in rows]


def sync_problems_of_window(db: Session, principal: Principal, window_id: int
                            ) -> list[dict[str, Any]]:
    """What the workspace's syncs could not express of one window: ``{sync, reason}``."""
    out: list[dict[str, Any]] = []
    rows = db.execute(select(SyncRow.name, SyncRow.not_expressible)
                      .where(SyncRow.workspace_id == principal.workspace_id)
                      .order_by(SyncRow.id))
    for name, problems in rows:
        out += [{"sync": name, "reason": p.get("reason", "")} for p in problems or []
                if p.get("window_id") == window_id]
    return out


def _status(row: SyncRow, now: datetime) -> dict[str, Any]:
    healthy = row.last_success_at is not None and row.failures == 0
    return {"id": row.id, "name": row.name, "healthy": healthy,
            "running": row.lease_until is not None and row.lease_until > now,
            "objects": row.objects, "last_run_at": _instant(row.last_run_at),
            "last_success_at": _instant(row.last_success_at),
            "last_error": row.last_error, "last_error_at": _instant(row.last_error_at),
            "consecutive_failures": row.failures, "errors_total": row.errors_total,
            "repairs_total": row.repairs_total, "next_run_at": _instant(row.next_run_at),
            "interval": format_seconds(row.interval_seconds),
            "last_run": dict(row.last_run or {}) or None,
            "repairs": list(row.repairs or []),
            "not_expressible": list(row.not_expressible or [])}
