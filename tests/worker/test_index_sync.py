"""No change is lost to a process's start-up, and a lost notification heals by itself
(issue 20, DESIGN §5), with real ``quietly serve`` processes: on PostgreSQL through
LISTEN/NOTIFY, on SQLite through the change feed (``worker.feed``).

- The start-up race: while one process writes (creates running windows, cancels some), another
  starts. Every change committed while it starts must reach it: its decisions, once
  ``/readyz`` says 200 and the writes have had a second to arrive, equal the writer's, for
  every target, cancelled windows included. The periodic check is off in that process, so
  this holds by the subscribe-then-load order alone.
- A lost notification: changes written to the store without ``NOTIFY`` (a window cancelled,
  a group's members replaced) reach a process through its periodic check, which counts them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import update

from quietly.api.native.convert import window_fields_from_create
from quietly.api.native.schemas import WindowCreate
from quietly.core.records import Principal, Role
from quietly.services import windows
from quietly.storage.db import Database
from quietly.storage.tables import GroupRow, WindowRow
from tests.conftest import Tenant
from tests.worker.conftest import iso, seconds_from_now
from tests.worker.processes import Proc, launch_serve, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _seed(db: Database, tenant: Tenant, count: int) -> None:
    """``count`` future windows, so that loading the index takes a while (as in production)."""
    now = datetime.now(UTC)
    principal = Principal(tenant.id, tenant.slug, tenant.timezone, Role.ADMIN, None, "seed")
    start = now + timedelta(days=400)
    with db.transaction() as session:
        for i in range(count):
            body = {"name": f"seed {i}", "targets": [f"seed:{i}"],
                    "schedule": {"kind": "once", "start": iso(start),
                                 "end": iso(start + timedelta(hours=1))}}
            fields = window_fields_from_create(WindowCreate.model_validate(body), "UTC")
            windows.create_window(session, principal, fields, now)


def _verdict(client: httpx.Client, target: str) -> str:
    response = client.get("/api/v1/decide", params={"target": target})
    assert response.status_code == 200, response.text
    verdict: str = response.json()["verdict"]
    return verdict


def _verdicts(client: httpx.Client, targets: list[str]) -> dict[str, str]:
    return {target: _verdict(client, target) for target in targets}


class Writer(threading.Thread):
    """Creates a running window every few milliseconds through one process and cancels every
    third one it created, until stopped."""

    def __init__(self, tenant: Tenant) -> None:
        super().__init__(daemon=True)
        self.client = tenant.editor
        self.targets: list[str] = []
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        made: list[int] = []
        while not self.halt.is_set():
            target = f"service:{uuid.uuid4().hex[:10]}"
            response = self.client.post("/api/v1/windows", json={
                "name": "race", "targets": [target],
                "schedule": {"kind": "once", "start": iso(seconds_from_now(-60)),
                             "end": iso(seconds_from_now(3600))}})
            if response.status_code != 201:
                self.errors.append(response.text)
                continue
            self.targets.append(target)
            made.append(response.json()["id"])
            if len(made) % 3 == 0:
                cancelled = self.client.post(f"/api/v1/windows/{made[-2]}/cancel")
                if cancelled.status_code != 200:
                    self.errors.append(cancelled.text)
            time.sleep(0.01)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Proc]]:
    procs: list[Proc] = []
    yield procs
    for proc in procs:
        proc.stop()


def test_a_process_starting_while_another_writes_misses_nothing(
        database_url: str, db: Database, tenant: Tenant, tmp_path: Path,
        started: list[Proc]) -> None:
    _seed(db, tenant, 1500)
    writer = Writer(tenant)
    writer.start()
    time.sleep(0.3)
    proc, base = launch_serve(database_url, tmp_path, tmp_path / "serve.log",
                              env={"QUIETLY_INDEX_CHECK_SECONDS": "0"})
    started.append(proc)
    ready = wait_ready(proc, base)
    time.sleep(1.5)  # writes go on through the other process
    writer.halt.set()
    writer.join(timeout=30)
    time.sleep(1.0)  # the last notifications arrive within a second
    newcomer = httpx.Client(base_url=base, timeout=30,
                            headers={"Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"})
    with newcomer:
        theirs = _verdicts(newcomer, writer.targets)
    ours = _verdicts(tenant.viewer, writer.targets)
    disagree = {target: (theirs[target], ours[target]) for target in ours
                if theirs[target] != ours[target]}
    assert (writer.errors, disagree, ready["checks"]) == (
        [], {}, {"database": "ok", "index": "ok", "changes": "ok"})
    assert len(set(ours.values())) == 2  # cancelled windows (deliver) and running ones (mute)


def test_the_periodic_check_repairs_a_lost_notification(
        database_url: str, db: Database, tenant: Tenant, tmp_path: Path,
        started: list[Proc]) -> None:
    proc, base = launch_serve(database_url, tmp_path, tmp_path / "serve.log",
                              env={"QUIETLY_INDEX_CHECK_SECONDS": "0.5"})
    started.append(proc)
    wait_ready(proc, base)
    window_target, member, newcomer = (f"service:{uuid.uuid4().hex[:10]}" for _ in range(3))
    group = "g-" + uuid.uuid4().hex[:8]
    assert tenant.editor.put(f"/api/v1/groups/{group}",
                             json={"targets": [member]}).status_code == 201
    made = tenant.editor.post("/api/v1/windows", json={
        "name": "lost", "targets": [window_target], "groups": [group],
        "schedule": {"kind": "once", "start": iso(seconds_from_now(-60)),
                     "end": iso(seconds_from_now(3600))}})
    assert made.status_code == 201, made.text
    client = httpx.Client(base_url=base, timeout=30,
                          headers={"Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"})
    targets = [window_target, member, newcomer]
    with client:
        _wait_for(client, targets, {window_target: "mute", member: "mute", newcomer: "deliver"})
        # Written behind the services' back: no NOTIFY, as if the notification were lost.
        now = datetime.now(UTC)
        with db.engine.begin() as conn:
            conn.execute(update(GroupRow).where(GroupRow.workspace_id == tenant.id,
                                                GroupRow.name == group)
                         .values(targets=[newcomer], updated_at=now))
            conn.execute(update(WindowRow).where(WindowRow.id == made.json()["id"])
                         .values(targets=[], updated_at=now))
        _wait_for(client, targets, {window_target: "deliver", member: "deliver",
                                    newcomer: "mute"})
        metrics = client.get("/metrics").text
    caught = sum(float(line.split()[-1]) for line in metrics.splitlines()
                 if line.startswith("quietly_index_catchups_total "))
    assert caught >= 2  # the window and the group


def _wait_for(client: httpx.Client, targets: list[str], expected: dict[str, str]) -> None:
    """Poll until the process decides as ``expected`` (a liveness bound, not a timing claim:
    the check runs every half second)."""
    deadline = time.monotonic() + 20
    while (seen := _verdicts(client, targets)) != expected:
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)
