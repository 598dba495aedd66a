"""Claiming outbox rows: concurrent claimers never share a row nor exceed their limit, and an
expired lease is taken over (STACK.md trap 3; run on PostgreSQL to exercise SKIP LOCKED)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from quietly.services.deliveries import Outcome, RetryPolicy, claim_due, record_outcome
from quietly.services.outbox import Message, enqueue
from quietly.storage.db import Database
from quietly.storage.tables import OutboxRow
from tests.conftest import Tenant


def _fill(db: Database, tenant: Tenant, count: int, due: datetime) -> str:
    tag = uuid.uuid4().hex[:8]
    with db.transaction() as session:
        for i in range(count):
            message = Message(workspace_id=tenant.id, kind="test.claim", key=f"{tag}:{i}",
                              body={}, due_at=due)
            assert enqueue(session, message, 0, due)
            assert not enqueue(session, message, 0, due)  # the key is taken: ignored
    return tag


def _mine(db: Database, tag: str) -> list[OutboxRow]:
    with db.read() as session:
        return list(session.scalars(select(OutboxRow).where(
            OutboxRow.dedupe_key.like(f"{tag}:%"))))


def test_concurrent_claimers_split_the_rows_without_overlap(db: Database,
                                                            tenant: Tenant) -> None:
    past = datetime.now(UTC) - timedelta(days=3650)  # due before anything else in the DB
    tag = _fill(db, tenant, 60, past)
    ids = {row.id for row in _mine(db, tag)}
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        for _ in range(10):
            with db.transaction() as session:
                got = claim_due(session, name, datetime.now(UTC), timedelta(minutes=5), 4)
            assert len(got) <= 4
            with lock:
                claimed.extend(m.id for m in got if m.id in ids)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [i for i, n in Counter(claimed).items() if n > 1] == []
    assert set(claimed) == ids


def test_an_expired_lease_is_taken_over_and_the_first_owner_cannot_undo_it(
        db: Database, tenant: Tenant) -> None:
    past = datetime.now(UTC) - timedelta(days=3651)
    tag = _fill(db, tenant, 1, past)
    [row] = _mine(db, tag)
    now = datetime.now(UTC)
    with db.transaction() as session:
        first = [m for m in claim_due(session, "first", now, timedelta(seconds=1), 50)
                 if m.id == row.id]
    with db.transaction() as session:
        early = [m for m in claim_due(session, "second", now, timedelta(seconds=30), 50)
                 if m.id == row.id]
    later = now + timedelta(seconds=2)
    with db.transaction() as session:
        second = [m for m in claim_due(session, "second", later, timedelta(seconds=30), 50)
                  if m.id == row.id]
    policy = RetryPolicy()
    with db.transaction() as session:
        ok = record_outcome(session, second[0], "second", Outcome(200, None, False, 5), later,
                            policy)
        lost = record_outcome(session, first[0], "first", Outcome(500, "HTTP 500", True, 5),
                              later, policy)
    [after] = _mine(db, tag)
    assert (len(first), len(early), len(second), ok, lost, after.status, after.attempts) == (
        1, 0, 1, "delivered", "lost", "delivered", 2)
    assert first[0].event_id == second[0].event_id


def test_finished_messages_are_purged_after_the_retention(db: Database,
                                                          tenant: Tenant) -> None:
    from quietly.services.deliveries import purge_finished

    old = datetime(2001, 1, 1, tzinfo=UTC)
    tag = _fill(db, tenant, 3, old)
    rows = _mine(db, tag)
    with db.transaction() as session:
        for row, status in zip(rows, ("delivered", "failed", "pending"), strict=True):
            session.get(OutboxRow, row.id).status = status  # type: ignore[union-attr]
    with db.transaction() as session:
        purge_finished(session, datetime(2001, 1, 2, tzinfo=UTC))
    assert [r.status for r in _mine(db, tag)] == ["pending"]
