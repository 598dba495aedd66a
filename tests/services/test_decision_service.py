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


def test_a_batch_of_changes_decides_as_the_same_changes_one_by_one() -> None:
    """``WindowsChanged`` (a bulk create, a batch of notifications) is filed in one write
    per run of windows, deletions and stale copies keeping their place."""
    from datetime import timedelta

    from quietly.core.model import Effect, OnceSchedule
    from quietly.core.records import WindowFields, WindowRecord
    from quietly.services.windows import WindowsChanged

    now = datetime.now(UTC)

    def record(window_id: int, workspace: int, target: str) -> WindowRecord:
        return WindowRecord(
            id=window_id, workspace_id=workspace, created_by=None, created_at=now,
            updated_at=now, fields=WindowFields(
                name="w", targets=(target,), effects=(Effect.MUTE,),
                schedule=OnceSchedule(now - timedelta(minutes=1), now + timedelta(hours=1))))

    changes = (
        WindowChanged(1, 1, record(1, 1, "service:a"), "created"),
        WindowChanged(1, 2, record(2, 1, "service:b"), "created"),
        WindowChanged(2, 3, record(3, 2, "service:a"), "created"),
        WindowChanged(1, 2, None, "deleted"),
        WindowChanged(1, 2, record(2, 1, "service:b"), "changed"),  # late copy: stays gone
        WindowChanged(1, 4, record(4, 1, "service:c"), "created"),
    )
    one_by_one = DecisionService(Database("sqlite://"), now)
    for change in changes:
        one_by_one.on_event(change)
    batched = DecisionService(Database("sqlite://"), now)
    batched.on_event(WindowsChanged(changes))

    def decided(service: DecisionService) -> list[tuple[int, ...]]:
        return [service.decide(ws, Alert(targets=(t,)), now).windows
                for ws in (1, 2) for t in ("service:a", "service:b", "service:c")]

    assert (decided(batched), decided(batched) == decided(one_by_one)) == (
        [(1,), (), (4,), (3,), (), ()], True)
