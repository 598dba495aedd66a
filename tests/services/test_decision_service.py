"""DecisionService: reloads never lose a change committed while they read the store."""

from __future__ import annotations

from datetime import UTC, datetime

from quietly.core.engine import DecisionIndex
from quietly.core.model import Alert
from quietly.services.decisions import DecisionService
from quietly.services.windows import WindowChanged, load_all_windows
from quietly.storage.db import Database
from tests.api.helpers import active_body
from tests.conftest import Tenant


def _record(db: Database, tenant: Tenant, target: str) -> WindowChanged:
    made = tenant.editor.post("/api/v1/windows", json=active_body(targets=[target])).json()
    with db.read() as session:
        record = next(r for r in load_all_windows(session, tenant.id) if r.id == made["id"])
    return WindowChanged(tenant.id, record.id, record, "created")


def test_reloads_replay_changes_made_while_they_read(db: Database, tenant: Tenant) -> None:
    first = _record(db, tenant, "service:first")
    second = _record(db, tenant, "service:second")
    now = datetime.now(UTC)

    class Racing(DecisionService):
        """Its snapshot misses the changes committed while it reads; one reload overlaps."""

        reads = 0

        def _read_store(self, at: datetime) -> dict[int, DecisionIndex]:
            self.reads += 1
            if self.reads == 1:
                self.on_event(first)
                self.load(at)  # an overlapping reload (listener and health probe)
                self.on_event(second)
            return {}

    service = Racing(db, now)
    service.load(now)

    def held(target: str) -> tuple[int, ...]:
        return service.decide(tenant.id, Alert(targets=(target,)), now).windows

    assert (held("service:first"), held("service:second"), service._pending) == (
        (first.window_id,), (second.window_id,), None)


def test_a_copy_arriving_after_the_delete_does_not_bring_the_window_back() -> None:
    from datetime import UTC, datetime, timedelta

    from quietly.core.model import Alert, Effect, OnceSchedule, Verdict
    from quietly.core.records import WindowFields, WindowRecord
    from quietly.services.decisions import DecisionService
    from quietly.services.windows import WindowChanged
    from quietly.storage.db import Database

    now = datetime.now(UTC)
    record = WindowRecord(
        id=7, workspace_id=1, created_by=None, created_at=now, updated_at=now,
        fields=WindowFields(name="w", targets=("service:a",), effects=(Effect.MUTE,),
                            schedule=OnceSchedule(now - timedelta(minutes=1),
                                                  now + timedelta(hours=1))))
    service = DecisionService(Database("sqlite://"), now)
    service.on_event(WindowChanged(1, 7, record, "created"))
    service.on_event(WindowChanged(1, 7, None, "deleted"))
    service.on_event(WindowChanged(1, 7, record, "updated"))  # the late, stale copy
    assert service.decide(1, Alert(targets=("service:a",)), now).verdict is Verdict.DELIVER
