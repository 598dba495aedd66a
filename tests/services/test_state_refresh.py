"""The ticker's state refresh reads only what may have changed (issue 19).

Each serving process re-derives stored window states on its ticker so that listing stays
right without a worker. It must move every state at its transition, and a quiet tick must
not rebuild windows whose state cannot have changed (that walk cost seconds with tens of
thousands of windows, inside a write transaction).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from quietly.services.state_refresh import StateRefresher
from quietly.storage.db import Database
from quietly.storage.tables import WindowRow
from tests.api.helpers import now, once, window_body
from tests.conftest import Tenant

_S = timedelta(seconds=1)


def _state(db: Database, window_id: int) -> str:
    with db.transaction() as session:
        return session.scalar(select(WindowRow.state).where(WindowRow.id == window_id)) or ""


def _refresh(db: Database, refresher: StateRefresher, at: datetime) -> int:
    return refresher.refresh(db, at)


def test_one_time_window_moves_at_its_transitions_and_quiet_ticks_skip_it(
        db: Database, tenant: Tenant) -> None:
    start = now() + timedelta(hours=1)
    end = start + timedelta(hours=1)
    made = tenant.admin.post("/api/v1/windows", json=window_body(schedule=once(start, end)))
    assert made.status_code == 201, made.text
    wid = made.json()["id"]
    refresher = StateRefresher()

    # First tick: a window yet to start is not rebuilt (its row says scheduled, its first
    # start is still to come: nothing can change before then), nor on later quiet ticks.
    _refresh(db, refresher, start - _S)
    assert wid not in refresher.evaluated
    assert _state(db, wid) == "scheduled"
    _refresh(db, refresher, start - _S)
    assert wid not in refresher.evaluated

    _refresh(db, refresher, start)  # due at its start
    assert wid in refresher.evaluated
    assert _state(db, wid) == "active"
    _refresh(db, refresher, end - _S)
    assert wid not in refresher.evaluated
    assert _state(db, wid) == "active"

    _refresh(db, refresher, end)
    assert _state(db, wid) == "completed"
    _refresh(db, refresher, end + _S)  # completed: no longer live, never read again
    assert wid not in refresher.evaluated


def test_a_written_window_is_rebuilt_on_the_next_tick(db: Database, tenant: Tenant) -> None:
    start = now() + timedelta(hours=2)
    made = tenant.admin.post("/api/v1/windows",
                             json=window_body(schedule=once(start, start + timedelta(hours=1))))
    wid = made.json()["id"]
    refresher = StateRefresher()
    _refresh(db, refresher, now())
    _refresh(db, refresher, now())
    assert wid not in refresher.evaluated

    # Made a daily window whose occurrence began five minutes ago: re-read on the next tick.
    earlier = now() - timedelta(minutes=5)
    moved = tenant.admin.patch(f"/api/v1/windows/{wid}", json={"schedule": {
        "kind": "recurring", "timezone": "UTC", "every": "daily",
        "start_time": f"{earlier:%H:%M}", "duration": "PT1H",
        "starts_on": f"{earlier - timedelta(days=1):%Y-%m-%d}"}})
    assert moved.status_code == 200, moved.text
    _refresh(db, refresher, now())
    assert wid in refresher.evaluated
    assert _state(db, wid) == "active"


def test_recurring_window_alternates_and_a_cancelled_one_leaves(
        db: Database, tenant: Tenant) -> None:
    made = tenant.admin.post("/api/v1/windows", json=window_body(schedule={
        "kind": "recurring", "timezone": "Europe/Berlin", "every": "daily",
        "start_time": "02:00", "end_time": "04:00", "starts_on": "2030-03-29"}))
    assert made.status_code == 201, made.text
    wid = made.json()["id"]
    refresher = StateRefresher()
    # 2030-03-31 is the spring-forward day in Berlin: 02:00 does not exist, the occurrence
    # starts at 03:00 CEST (01:00Z) and ends at 04:00 CEST (02:00Z).
    day_before = datetime.fromisoformat("2030-03-30T00:59:59+00:00")
    _refresh(db, refresher, day_before)
    assert _state(db, wid) == "scheduled"
    for at, state in [("2030-03-30T01:00:00+00:00", "active"),   # 02:00 CET
                      ("2030-03-30T02:59:59+00:00", "active"),
                      ("2030-03-30T03:00:00+00:00", "scheduled"),  # 04:00 CET
                      ("2030-03-31T00:59:59+00:00", "scheduled"),
                      ("2030-03-31T01:00:00+00:00", "active"),   # 03:00 CEST, after the gap
                      ("2030-03-31T02:00:00+00:00", "scheduled")]:
        _refresh(db, refresher, datetime.fromisoformat(at))
        assert _state(db, wid) == state, at
    quiet = datetime.fromisoformat("2030-03-31T12:00:00+00:00")
    _refresh(db, refresher, quiet)
    _refresh(db, refresher, quiet)
    assert wid not in refresher.evaluated

    cancelled = tenant.admin.post(f"/api/v1/windows/{wid}/cancel")
    assert cancelled.status_code in (200, 204), cancelled.text
    _refresh(db, refresher, now() + timedelta(seconds=5))
    assert _state(db, wid) == "cancelled"


def test_a_running_one_time_window_is_not_rebuilt_until_its_end(
        db: Database, tenant: Tenant) -> None:
    start = now() - timedelta(minutes=10)
    end = now() + timedelta(hours=1)
    made = tenant.admin.post("/api/v1/windows", json=window_body(schedule=once(start, end)))
    assert made.status_code == 201, made.text
    wid = made.json()["id"]
    daily = tenant.admin.post("/api/v1/windows", json=window_body(schedule={
        "kind": "recurring", "timezone": "UTC", "every": "daily", "start_time": "00:00",
        "end_time": "23:59", "starts_on": "2020-01-01"}))
    assert daily.status_code == 201, daily.text
    refresher = StateRefresher()

    # First tick of a process: the running one-time window's row says active, and its one
    # occurrence is [first_start, last_end): nothing to evaluate. A started recurring
    # window is evaluated.
    _refresh(db, refresher, now())
    assert (wid in refresher.evaluated, daily.json()["id"] in refresher.evaluated) == (
        False, True)
    assert _state(db, wid) == "active"
    _refresh(db, refresher, end - _S)
    assert wid not in refresher.evaluated
    _refresh(db, refresher, end)  # due at its end
    assert (wid in refresher.evaluated, _state(db, wid)) == (True, "completed")


def test_a_row_behind_its_one_time_schedule_is_evaluated(db: Database, tenant: Tenant) -> None:
    # Stored "scheduled" although it has started (no tick ran since): evaluated, made active.
    start = now() + timedelta(hours=1)
    end = start + timedelta(hours=1)
    made = tenant.admin.post("/api/v1/windows", json=window_body(schedule=once(start, end)))
    wid = made.json()["id"]
    refresher = StateRefresher()
    _refresh(db, refresher, start + _S)
    assert (wid in refresher.evaluated, _state(db, wid)) == (True, "active")
