"""A definition changed without regeneration keeps governing, even when a stale copy of it
arrives after the change (the flake of ``test_update_without_regeneration_keeps_periods``).

On PostgreSQL every ``serve`` process refreshes its decision index from ``LISTEN``: the
listener reads each changed window from the store and hands it to the ``DecisionService`` a
moment later. The create of a recurring definition notifies; if the listener reads the
definition then, and the PUT that moves it from 04:00 to 06:00 commits (and updates the index
locally) before the listener hands its copy over, the copy from before the PUT used to replace
the new schedule until the PUT's own notification came through: a decision in between said
``deliver`` at 06:30. Here that interleaving is replayed deterministically, without threads.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from tests.conftest import make_tenant

from quietly.compat.ohdear import generation
from quietly.compat.ohdear.convert import Definition
from quietly.core.model import Alert, Verdict
from quietly.core.records import Principal, Role
from quietly.core.timeutil import to_local, to_utc
from quietly.services import windows, workspaces
from quietly.services.decisions import DecisionService
from quietly.services.windows import WindowChanged
from quietly.storage.db import Database

ZONE = "Europe/Berlin"
NOW = datetime(2027, 1, 11, 9, tzinfo=UTC)


@pytest.fixture
def principal(db: Database) -> Principal:
    tenant = make_tenant(db, "http://unused", timezone=ZONE)
    with db.read() as session:
        found = workspaces.authenticate(session, tenant.keys[Role.EDITOR])
    assert found is not None
    return found


def _at(day_offset: int, hour: int, minute: int) -> datetime:
    day = to_local(NOW, ZONE).date() + timedelta(days=day_offset)
    return to_utc(datetime.combine(day, time(hour, minute)), ZONE)


def test_a_copy_read_before_the_update_cannot_bring_the_old_schedule_back(
        db: Database, principal: Principal) -> None:
    monitor = 424242
    with db.transaction() as session:
        before = generation.create_recurring(session, principal, monitor, "slot",
                                             Definition("daily", "04:00", "05:00"), True, NOW)
    with db.transaction() as session:
        after = generation.update_recurring(session, principal, before, monitor, "later",
                                            Definition("daily", "06:00", "07:00"), False,
                                            NOW + timedelta(seconds=1))
    service = DecisionService(db, NOW)
    ws = principal.workspace_id
    service.on_event(WindowChanged(ws, after.id, after, "updated"))  # the PUT, locally
    service.on_event(WindowChanged(ws, before.id, before, "changed"))  # the listener, late
    alert = Alert(targets=(f"monitor:{monitor}",))
    assert service.decide(ws, alert, _at(20, 6, 30)).verdict is Verdict.MUTE
    assert service.decide(ws, alert, _at(20, 4, 30)).verdict is Verdict.DELIVER
    service.on_event(WindowChanged(ws, after.id, after, "changed"))  # the PUT's own notify
    assert service.decide(ws, alert, _at(20, 6, 30)).verdict is Verdict.MUTE


def test_every_change_stores_a_later_version_even_at_the_same_instant(
        db: Database, principal: Principal) -> None:
    """Oh Dear's create stores the definition, then its generation bookkeeping, at one ``now``;
    each copy must still be ordered after the previous one."""
    with db.transaction() as session:
        record = generation.create_recurring(session, principal, 77, "slot",
                                             Definition("daily", "04:00", "05:00"), True, NOW)
        created = record.created_at
        again = windows.update_window(session, principal, record.id, {"name": "renamed"}, NOW)
        cancelled = windows.cancel_window(session, principal, record.id, NOW)
    assert created < record.updated_at < again.updated_at < cancelled.updated_at
