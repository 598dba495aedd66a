"""The change listener: another process's index follows window and group changes.

``apply`` is what a notification triggers (tested on every backend); the real LISTEN path is
tested on PostgreSQL with a second, independent decision service standing in for another
``serve`` process.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from quietly.core.model import Alert, Verdict
from quietly.services.decisions import DecisionService
from quietly.storage.db import Database
from quietly.storage.mappers import window_record_from_columns, window_record_from_row
from quietly.storage.tables import WindowRow
from quietly.worker.listener import ChangeListener, _window_columns
from tests.conftest import Tenant
from tests.worker.conftest import make_window, seconds_from_now


def _utcnow() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def other_process(database_url: str) -> Iterator[tuple[DecisionService, ChangeListener]]:
    database = Database(database_url)
    decisions = DecisionService(database, _utcnow())
    decisions.load(_utcnow())
    listener = ChangeListener(database, decisions, _utcnow)
    yield decisions, listener
    listener.stop(timeout=30)  # before dispose: no pooled connection may stay checked out
    database.dispose()


def _verdict(decisions: DecisionService, tenant: Tenant, target: str) -> Verdict:
    return decisions.decide(tenant.id, Alert(targets=(target,)), _utcnow()).verdict


def test_apply_loads_changed_windows_and_groups(
        tenant: Tenant, other_process: tuple[DecisionService, ChangeListener]) -> None:
    decisions, listener = other_process
    target, member = f"service:{uuid.uuid4().hex[:8]}", f"host:{uuid.uuid4().hex[:8]}"
    made = tenant.editor.post("/api/v1/maintenance/start",
                              json={"targets": [target], "duration": "PT10M"}).json()
    assert tenant.editor.put("/api/v1/groups/lg", json={"targets": []}).status_code == 201
    grouped = make_window(tenant.editor, seconds_from_now(-5), seconds_from_now(600), [],
                          targets=[], groups=["lg"])
    listener.apply({f"w:{tenant.id}:{grouped['id']}"})
    tenant.editor.put("/api/v1/groups/lg", json={"targets": [member]})
    assert (_verdict(decisions, tenant, target),
            _verdict(decisions, tenant, member)) == (Verdict.DELIVER, Verdict.DELIVER)
    listener.apply({f"w:{tenant.id}:{made['id']}", f"g:{tenant.id}:lg", "junk", "w:x:1"})
    assert (_verdict(decisions, tenant, target),
            _verdict(decisions, tenant, member)) == (Verdict.MUTE, Verdict.MUTE)
    tenant.editor.delete(f"/api/v1/windows/{made['id']}")
    listener.apply({f"w:{tenant.id}:{made['id']}"})
    assert _verdict(decisions, tenant, target) is Verdict.DELIVER


@pytest.mark.skipif(not os.environ.get("QUIETLY_TEST_DATABASE_URL"),
                    reason="LISTEN/NOTIFY needs PostgreSQL")
def test_notifications_reach_another_index_within_a_second(
        tenant: Tenant, other_process: tuple[DecisionService, ChangeListener]) -> None:
    decisions, listener = other_process
    listener.start()
    assert listener.listening.wait(10)
    target = f"service:{uuid.uuid4().hex[:8]}"
    made = tenant.editor.post("/api/v1/maintenance/start",
                              json={"targets": [target], "duration": "PT10M"})
    assert made.status_code == 201
    written = time.monotonic()
    while _verdict(decisions, tenant, target) is not Verdict.MUTE:
        assert time.monotonic() - written < 1.0
        time.sleep(0.02)


def test_catch_up_reloads_what_no_notification_brought(
        tenant: Tenant, other_process: tuple[DecisionService, ChangeListener]) -> None:
    """The safety net, called directly (no LISTEN): the other index is told nothing, and a
    check finds each change — a new window, a group's new members, a deleted window — once."""
    decisions, listener = other_process
    target, member = f"service:{uuid.uuid4().hex[:8]}", f"host:{uuid.uuid4().hex[:8]}"
    assert listener.catch_up() == 0
    made = tenant.editor.post("/api/v1/maintenance/start",
                              json={"targets": [target], "duration": "PT10M"}).json()
    assert tenant.editor.put("/api/v1/groups/cg", json={"targets": [member]}).status_code == 201
    grouped = make_window(tenant.editor, seconds_from_now(-5), seconds_from_now(600), [],
                          targets=[], groups=["cg"])
    found = listener.catch_up(), listener.catch_up()
    verdicts = _verdict(decisions, tenant, target), _verdict(decisions, tenant, member)
    tenant.editor.delete(f"/api/v1/windows/{made['id']}")
    tenant.editor.delete(f"/api/v1/windows/{grouped['id']}")
    assert (found, verdicts, listener.catch_up(), _verdict(decisions, tenant, target)) == (
        (3, 0), (Verdict.MUTE, Verdict.MUTE), 2, Verdict.DELIVER)


@pytest.mark.skipif(not os.environ.get("QUIETLY_TEST_DATABASE_URL"),
                    reason="LISTEN/NOTIFY needs PostgreSQL")
def test_a_batch_reaches_another_index_in_one_notification(
        tenant: Tenant, other_process: tuple[DecisionService, ChangeListener]) -> None:
    """``POST /api/v1/windows/batch`` sends one NOTIFY naming its ids as ranges; the other
    process loads every window of it."""
    decisions, listener = other_process
    listener.start()
    assert listener.listening.wait(10)
    prefix = uuid.uuid4().hex[:8]
    bodies = [{"name": f"b{i}", "targets": [f"service:{prefix}-{i}"],
               "schedule": {"kind": "once", "start": seconds_from_now(-5).isoformat(),
                            "end": seconds_from_now(600).isoformat()}} for i in range(300)]
    made = tenant.editor.post("/api/v1/windows/batch", json={"windows": bodies})
    assert made.status_code == 201, made.text
    written = time.monotonic()
    while any(_verdict(decisions, tenant, f"service:{prefix}-{i}") is not Verdict.MUTE
              for i in (0, 150, 299)):
        assert time.monotonic() - written < 2.0
        time.sleep(0.02)
    assert [_verdict(decisions, tenant, f"service:{prefix}-{i}") for i in range(300)] == [
        Verdict.MUTE] * 300


def test_apply_reads_a_batch_payload(
        tenant: Tenant, other_process: tuple[DecisionService, ChangeListener]) -> None:
    decisions, listener = other_process
    prefix = uuid.uuid4().hex[:8]
    bodies = [{"name": f"b{i}", "targets": [f"service:{prefix}-{i}"],
               "schedule": {"kind": "once", "start": seconds_from_now(-5).isoformat(),
                            "end": seconds_from_now(600).isoformat()}} for i in range(5)]
    ids = tenant.editor.post("/api/v1/windows/batch", json={"windows": bodies}).json()["ids"]
    listener.apply({f"w:{tenant.id}:{ids[0]}-{ids[2]},{ids[4]}"})
    assert [_verdict(decisions, tenant, f"service:{prefix}-{i}") for i in range(5)] == [
        Verdict.MUTE, Verdict.MUTE, Verdict.MUTE, Verdict.DELIVER, Verdict.MUTE]


def test_a_change_that_arrives_during_the_grace_is_not_counted_missed(
        tenant: Tenant, other_process: tuple[DecisionService, ChangeListener]) -> None:
    """What the check finds behind is looked at again after a moment (its own commits reach
    a process's index just after they commit, and notifications may be on their way): only
    what is still behind then counts as missed. The second drain brings the change here."""
    decisions, listener = other_process
    assert listener.catch_up() == 0
    target = f"service:{uuid.uuid4().hex[:8]}"
    made = tenant.editor.post("/api/v1/maintenance/start",
                              json={"targets": [target], "duration": "PT10M"}).json()
    drains: list[int] = []

    def arrives_late() -> None:
        drains.append(1)
        if len(drains) == 2:
            listener.apply({f"w:{tenant.id}:{made['id']}"})

    assert (listener.catch_up(arrives_late), len(drains),
            _verdict(decisions, tenant, target)) == (0, 2, Verdict.MUTE)
    other = f"service:{uuid.uuid4().hex[:8]}"
    tenant.editor.post("/api/v1/maintenance/start", json={"targets": [other],
                                                         "duration": "PT10M"})
    assert (listener.catch_up(lambda: None), _verdict(decisions, tenant, other)) == (
        1, Verdict.MUTE)


def test_the_followers_reading_of_a_window_is_the_orms(tenant: Tenant, db: Database) -> None:
    """``apply`` reads windows with Core and decodes their JSON itself: the records are those
    the ORM reads, for windows using every JSON column."""
    bodies = [
        {"name": "plain", "targets": ["service:a"],
         "schedule": {"kind": "once", "start": "2030-01-01T00:00:00Z",
                      "end": "2030-01-01T01:00:00Z"}},
        {"name": "recurring ✓", "description": "\u00e9\u4e2d\U0001f600", "all_targets": True,
         "schedule": {"kind": "recurring", "timezone": "Europe/Berlin",
                      "rrule": "FREQ=WEEKLY;BYDAY=SU", "start_time": "02:00",
                      "end_time": "04:00"},
         "match": [[{"label": "env", "op": "=~", "value": "prod|stage"}]],
         "effects": ["mute", "suppress_incidents"]},
        {"name": "cron", "groups": ["lg-json"], "targets": ["host:b", "host:c"],
         "schedule": {"kind": "recurring", "timezone": "Australia/Lord_Howe",
                      "cron": "0 */6 * * *", "duration": "PT30M"}},
    ]
    assert tenant.editor.put("/api/v1/groups/lg-json", json={"targets": []}).status_code in (
        200, 201)
    ids = []
    for body in bodies:
        made = tenant.editor.post("/api/v1/windows", json=body)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    with db.read() as session:
        by_orm = {row.id: window_record_from_row(row) for row in session.scalars(
            select(WindowRow).where(WindowRow.id.in_(ids)))}
        by_core = _window_columns(session, ids)
    assert {i: window_record_from_columns(i, by_core[i]) for i in ids} == by_orm
