"""Generated periods equal the native occurrences of the same schedule, across DST.

Service-level, with an explicit ``now`` (HTTP tests run at the real date). The team's zone is
Europe/Berlin; the transitions exercised:

- 2026-10-25 03:00 CEST → 02:00 CET (fold: 02:00-03:00 happens twice),
- 2027-03-28 02:00 CET → 03:00 CEST (gap: 02:00-03:00 does not exist).

For each, the periods generated for the next 7 days must be exactly the occurrences
``core.schedule`` gives for the definition on those days, and the definition's own
(post-horizon) occurrences must continue the series with no minute counted twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from tests.conftest import make_tenant

from quietly.compat.ohdear import generation
from quietly.compat.ohdear.convert import Definition
from quietly.core import lifecycle, schedule
from quietly.core.errors import Conflict
from quietly.core.model import Occurrence, OnceSchedule, RecurringSchedule
from quietly.core.records import Principal, Role
from quietly.core.timeutil import to_local
from quietly.services import windows, workspaces
from quietly.storage.db import Database


@pytest.fixture
def principal(db: Database) -> Principal:
    tenant = make_tenant(db, "http://unused", timezone="Europe/Berlin")
    with db.read() as session:
        found = workspaces.authenticate(session, tenant.keys[Role.EDITOR])
    assert found is not None
    return found


CASES = [
    # (now, definition, what it exercises)
    (datetime(2026, 10, 22, 12, tzinfo=UTC), Definition("daily", "02:00", "03:00"), "fold"),
    (datetime(2026, 10, 22, 12, tzinfo=UTC), Definition("daily", "23:00", "01:00"),
     "overnight over the fold"),
    (datetime(2026, 10, 20, 12, tzinfo=UTC),
     Definition("weekly", "01:30", "04:00", days_of_week=(0, 3)), "weekly Sunday over fold"),
    (datetime(2027, 3, 25, 12, tzinfo=UTC), Definition("daily", "02:30", "03:30"), "gap"),
    (datetime(2027, 3, 25, 12, tzinfo=UTC), Definition("daily", "22:00", "02:30"),
     "overnight into the gap"),
    (datetime(2027, 3, 25, 12, tzinfo=UTC),
     Definition("monthly", "02:00", "04:00", day_of_month=28), "monthly on the gap day"),
]


def _periods(db: Database, principal: Principal, parent_id: int,
             now: datetime) -> list[Occurrence]:
    with db.read() as session:
        found = generation.children(session, principal, parent_id, now)
    out = []
    for record in found:
        sched = record.fields.schedule
        assert isinstance(sched, OnceSchedule)
        out.append(Occurrence(sched.start, sched.end))
    return sorted(out, key=lambda o: o.start)


@pytest.mark.parametrize(("now", "definition", "label"), CASES, ids=[c[2] for c in CASES])
def test_generated_periods_are_the_native_occurrences(
        db: Database, principal: Principal, now: datetime, definition: Definition,
        label: str) -> None:
    with db.transaction() as session:
        parent = generation.create_recurring(session, principal, 7, "slot", definition, True,
                                             now)
    native = definition.to_schedule("Europe/Berlin", date(2000, 1, 1))
    today = to_local(now, "Europe/Berlin").date()
    expected = [o for o in generation.generated_occurrences(native, today, 7) if o.end > now]
    assert expected, label
    assert _periods(db, principal, parent.id, now) == expected
    # Cross-check against the plain expansion of the native schedule over those days.
    span = schedule.occurrences(native, now, now + timedelta(days=8))
    assert [o for o in span if o in expected] == expected

    # The definition continues the series after the generated days, without overlap.
    horizon = now + timedelta(days=21)
    own = lifecycle.window_occurrences(parent.to_window(), now, horizon)
    together = sorted(expected + own, key=lambda o: o.start)
    assert together == [o for o in schedule.occurrences(native, now, horizon) if o.end > now]
    assert isinstance(parent.fields.schedule, RecurringSchedule)
    assert parent.fields.schedule.starts_on == today + timedelta(days=7)


def test_regeneration_keeps_running_periods_and_replaces_future_ones(
        db: Database, principal: Principal) -> None:
    now = datetime(2026, 10, 22, 0, 30, tzinfo=UTC)  # 02:30 CEST: today's 02:00 period runs
    with db.transaction() as session:
        parent = generation.create_recurring(session, principal, 8, "slot",
                                             Definition("daily", "02:00", "03:00"), True, now)
    before = _periods(db, principal, parent.id, now)
    assert before[0].start < now < before[0].end
    with db.transaction() as session:
        generation.update_recurring(session, principal, parent, 8, "slot",
                                    Definition("daily", "05:00", "06:00"), True, now)
    after = _periods(db, principal, parent.id, now)
    assert after[0] == before[0]  # running: kept
    local = [to_local(o.start, "Europe/Berlin") for o in after[1:]]
    assert [(t.hour, t.minute) for t in local] == [(5, 0)] * 7
    assert after[-1].start.date() == date(2026, 10, 28)


def test_a_definition_governing_a_running_occurrence_cannot_change(
        db: Database, principal: Principal) -> None:
    now = datetime(2026, 10, 22, 10, tzinfo=UTC)  # 12:00 CEST, inside 11:00-13:00
    with db.transaction() as session:
        parent = generation.create_recurring(session, principal, 9, "slot",
                                             Definition("daily", "11:00", "13:00"), False, now)
    assert _periods(db, principal, parent.id, now) == []
    assert lifecycle.current_occurrence(parent.to_window(), now) is not None
    with pytest.raises(Conflict), db.transaction() as session:
        generation.update_recurring(session, principal, parent, 9, "slot",
                                    Definition("daily", "14:00", "15:00"), True, now)
    later = now + timedelta(hours=1, minutes=30)  # 13:30: after it, before 14:00
    with db.transaction() as session:
        generation.update_recurring(session, principal, parent, 9, "slot",
                                    Definition("daily", "14:00", "15:00"), True, later)
    assert len(_periods(db, principal, parent.id, later)) == 7


@pytest.mark.parametrize("generate_now", [True, False])
def test_daily_extension_keeps_7_days_generated_and_the_series_exact(
        db: Database, principal: Principal, generate_now: bool) -> None:
    """The daily job (``extend_all``) tops up to 7 days ahead, across the October fold."""
    start = datetime(2026, 10, 20, 12, tzinfo=UTC)
    definition = Definition("daily", "02:00", "03:00")
    with db.transaction() as session:
        parent = generation.create_recurring(session, principal, 10, "slot", definition,
                                             generate_now, start)
    later = start + timedelta(days=3)
    with db.transaction() as session:
        assert generation.extend_all(session, later) >= 3
    with db.read() as session:
        parent = windows.get_window(session, principal, parent.id)
    native = definition.to_schedule("Europe/Berlin", date(2000, 1, 1))
    generated = [o for o in _periods(db, principal, parent.id, later) if o.end > later]
    expected = [o for o in generation.generated_occurrences(native, date(2026, 10, 23), 7)
                if o.end > later]
    assert generated == expected
    assert parent.fields.vendor["ohdear"]["last_generated_until"] == "2026-10-29"
    horizon = later + timedelta(days=21)
    own = lifecycle.window_occurrences(parent.to_window(), later, horizon)
    together = sorted(generated + own, key=lambda o: o.start)
    assert together == [o for o in schedule.occurrences(native, later, horizon) if o.end > later]
    with db.transaction() as session:  # a second run the same day has nothing to do
        assert generation.extend_generation(session, principal, parent, later) == 0
