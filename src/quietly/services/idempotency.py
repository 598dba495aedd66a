"""``Idempotency-Key``: a retried create gets the first answer, never a second object.

A key belongs to the credential that sent it (its SHA-256: no authentication needed to
scope it) and names one request (method, path, query and body, hashed). ``claim`` records
the key before the request runs, so two concurrent tries cannot both create; ``finish``
stores the answer, ``release`` forgets a key whose request failed in a way a retry may fix.
Keys are kept ``RETENTION`` (24 h).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quietly.storage.tables import IdempotencyRow

__all__ = ["RETENTION", "Claim", "Outcome", "claim", "finish", "purge", "release"]

RETENTION = timedelta(hours=24)
# A claim with no answer after this long was abandoned (its process died): a retry takes it.
ABANDONED_AFTER = timedelta(minutes=5)


class Outcome(enum.Enum):
    NEW = "new"  # run the request, then finish or release
    REPLAY = "replay"  # answer with the stored response
    MISMATCH = "mismatch"  # the key was used for another request: 422
    IN_PROGRESS = "in_progress"  # the first request is still running: 409


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: Outcome
    status: int | None = None
    content_type: str | None = None
    body: bytes | None = None


def claim(db: Session, scope: str, key: str, fingerprint: str, now: datetime) -> Claim:
    """Record ``key`` for this request, or say what its earlier use means now."""
    try:
        with db.begin_nested():
            db.add(IdempotencyRow(scope=scope, key=key, fingerprint=fingerprint, status=None,
                                  content_type=None, body=None, created_at=now))
        return Claim(Outcome.NEW)
    except IntegrityError:
        pass
    row = db.scalars(select(IdempotencyRow).where(IdempotencyRow.scope == scope,
                                                  IdempotencyRow.key == key)
                     .with_for_update()).one()
    expired = row.created_at < now - RETENTION
    abandoned = row.status is None and row.created_at < now - ABANDONED_AFTER
    if expired or (abandoned and row.fingerprint == fingerprint):
        row.fingerprint, row.status, row.content_type, row.body = fingerprint, None, None, None
        row.created_at = now
        return Claim(Outcome.NEW)
    if row.fingerprint != fingerprint:
        return Claim(Outcome.MISMATCH)
    if row.status is None:
        return Claim(Outcome.IN_PROGRESS)
    return Claim(Outcome.REPLAY, row.status, row.content_type, row.body)


def finish(db: Session, scope: str, key: str, status: int, content_type: str | None,
           body: bytes) -> None:
    db.execute(update(IdempotencyRow)
               .where(IdempotencyRow.scope == scope, IdempotencyRow.key == key)
               .values(status=status, content_type=content_type, body=body))


def release(db: Session, scope: str, key: str) -> None:
    db.execute(delete(IdempotencyRow).where(IdempotencyRow.scope == scope,
                                            IdempotencyRow.key == key,
                                            IdempotencyRow.status.is_(None)))


def purge(db: Session, now: datetime) -> int:
    """Forget keys older than ``RETENTION``; returns how many."""
    result = db.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at
                                                     < now - RETENTION))
    return int(getattr(result, "rowcount", 0) or 0)
