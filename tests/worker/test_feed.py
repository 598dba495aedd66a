"""The change feed on SQLite (``worker.feed``): another process's index follows every kind of
window and group change through the ``changes`` rows alone, skips its own, and reloads when
rows it had not read are gone.

The other process is a second ``Database`` on the same file with its own decision service,
as a second ``serve`` has; its feed is driven by hand (``follow``), with the safety net off,
so that nothing but the feed can bring a change. Writers write feed rows only while another
process follows the file (``changefeed.Followers``, a POSIX lock of each follower: per
process), so a child process holding a follower's lock stands for the other process's
presence. Real processes sharing a file are in ``test_scale_out.py``,
``test_index_sync.py`` and ``test_reuse_port.py``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import make_url

from quietly.core.model import Alert, Verdict
from quietly.services.decisions import DecisionService
from quietly.storage.changefeed import Followers
from quietly.storage.db import Database
from quietly.worker.feed import ChangeFeed
from tests.conftest import Tenant
from tests.worker.conftest import iso, make_window, seconds_from_now

pytestmark = pytest.mark.skipif(bool(os.environ.get("QUIETLY_TEST_DATABASE_URL")),
                                reason="the change feed is SQLite's (PostgreSQL notifies)")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Recording(ChangeFeed):
    """A feed that also keeps what it applied."""

    applied: list[set[str]]

    def apply(self, payloads: set[str]) -> None:
        self.applied.append(set(payloads))
        super().apply(payloads)


@dataclass
class Other:
    """Another ``serve`` process's store, index and feed."""

    db: Database
    decisions: DecisionService
    feed: _Recording
    path: str
    closed: list[object] = field(default_factory=list)

    def verdict(self, tenant: Tenant, target: str) -> Verdict:
        return self.decisions.decide(tenant.id, Alert(targets=(target,)), _utcnow()).verdict

    def rows(self) -> list[tuple[int, str]]:
        with sqlite3.connect(self.path) as conn:
            return conn.execute("SELECT id, payload FROM changes ORDER BY id").fetchall()


# A process that follows a file's feed and waits: joins, says so, and holds on until its
# standard input closes (or it is killed).
_FOLLOW = ("import sys; from quietly.storage.changefeed import Followers; "
           "Followers.of(sys.argv[1]).join(); print('joined', flush=True); sys.stdin.read()")


@contextmanager
def follower_elsewhere(database_path: str) -> Iterator[subprocess.Popen[bytes]]:
    """Another process following the feed of ``database_path`` while the block runs."""
    child = subprocess.Popen([sys.executable, "-c", _FOLLOW, database_path],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONTZPATH": ""})
    assert child.stdout is not None
    assert child.stdin is not None
    try:
        assert child.stdout.readline() == b"joined\n"
        yield child
    finally:
        child.stdin.close()
        child.wait(timeout=30)
        child.stdout.close()


def _path(database_url: str) -> str:
    path = make_url(database_url).database
    assert path is not None
    return path


@pytest.fixture
def other(database_url: str) -> Iterator[Other]:
    path = _path(database_url)
    with follower_elsewhere(path):
        yield from _other(database_url, path)


def _other(database_url: str, path: str) -> Iterator[Other]:
    database = Database(database_url)
    decisions = DecisionService(database, _utcnow())
    decisions.subscribe()
    feed = _Recording(database, decisions, _utcnow, path, check_seconds=0)
    feed.applied = []
    feed.mark()  # as ``serve`` does: the mark, then the load
    decisions.load(_utcnow())
    yield Other(database, decisions, feed, path)
    feed.stop()
    database.dispose()


def _running(**extra: object) -> dict[str, object]:
    return {"name": "w-" + uuid.uuid4().hex[:8],
            "schedule": {"kind": "once", "start": iso(seconds_from_now(-60)),
                         "end": iso(seconds_from_now(600))}, **extra}


def _new_target() -> str:
    return f"service:{uuid.uuid4().hex[:10]}"


def test_every_kind_of_change_reaches_the_other_index_through_the_feed(
        tenant: Tenant, other: Other) -> None:
    a, b, c, member = (_new_target() for _ in range(4))
    editor = tenant.editor

    def follow_then(*expected: tuple[str, Verdict]) -> None:
        before = [(target, other.verdict(tenant, target)) for target, _ in expected]
        assert other.feed.follow() > 0
        assert [(target, other.verdict(tenant, target)) for target, _ in expected] == list(
            expected), before

    made = editor.post("/api/v1/windows", json=_running(targets=[a]))  # the create fast path
    assert made.status_code == 201, made.text
    follow_then((a, Verdict.MUTE))
    batch = editor.post("/api/v1/windows/batch", json={"windows": [_running(targets=[b])]})
    assert batch.status_code == 201, batch.text
    follow_then((b, Verdict.MUTE))
    moved = editor.patch(f"/api/v1/windows/{made.json()['id']}", json={"targets": [c]})
    assert moved.status_code == 200, moved.text
    follow_then((a, Verdict.DELIVER), (c, Verdict.MUTE))
    assert editor.post(f"/api/v1/windows/{made.json()['id']}/cancel").status_code == 200
    follow_then((c, Verdict.DELIVER))
    group = "g-" + uuid.uuid4().hex[:8]
    assert editor.put(f"/api/v1/groups/{group}", json={"targets": []}).status_code == 201
    grouped = editor.post("/api/v1/windows", json=_running(groups=[group]))
    assert grouped.status_code == 201, grouped.text
    assert editor.put(f"/api/v1/groups/{group}", json={"targets": [member]}).status_code == 200
    follow_then((member, Verdict.MUTE))
    assert editor.put(f"/api/v1/groups/{group}", json={"targets": []}).status_code == 200
    follow_then((member, Verdict.DELIVER))
    started = editor.post("/api/v1/maintenance/start", json={"targets": [a],
                                                             "duration": "PT10M"})
    assert started.status_code == 201, started.text
    follow_then((a, Verdict.MUTE))
    assert editor.delete(f"/api/v1/windows/{started.json()['id']}").status_code == 204
    follow_then((a, Verdict.DELIVER))
    assert other.feed.reloads == 0


def test_nothing_committed_costs_a_look_and_reads_nothing(tenant: Tenant, other: Other) -> None:
    assert other.feed.follow() == 0  # nothing since the mark
    assert other.feed.follow() == 0
    # A commit that changes no window or group: looked at, no row read, nothing applied.
    assert tenant.editor.post("/api/v1/alerts", json={"alerts": [
        {"labels": {"alertname": "Feed"}, "targets": [_new_target()]}]}).status_code == 200
    assert (other.feed.follow(), other.feed.applied) == (0, [])


def test_a_process_skips_its_own_changes(tenant: Tenant, other: Other) -> None:
    """Its own writes reach its index as events of its own commits; the rows they left in the
    feed are read past, not loaded again."""
    target, theirs = _new_target(), _new_target()
    from quietly.api.native.convert import window_fields_from_create
    from quietly.api.native.schemas import WindowCreate
    from quietly.core.records import Principal, Role
    from quietly.services import windows

    principal = Principal(tenant.id, tenant.slug, tenant.timezone, Role.ADMIN, None, "other")
    fields = window_fields_from_create(WindowCreate.model_validate(_running(targets=[target])),
                                       "UTC")
    with other.db.transaction() as session:
        mine = windows.create_window(session, principal, fields, _utcnow())
    assert other.verdict(tenant, target) is Verdict.MUTE  # its own event, at once
    # Its own row is read past; nobody else has written: the safety net stays off.
    assert (other.feed.follow(), other.feed.applied, other.feed.others_seen) == (1, [], False)
    made = tenant.editor.post("/api/v1/windows", json=_running(targets=[theirs]))
    assert made.status_code == 201, made.text
    assert (other.feed.follow(), other.feed.others_seen) == (1, True)
    assert other.feed.applied == [{f"w:{tenant.id}:{made.json()['id']}"}]
    assert f"w:{tenant.id}:{mine.id}" in [payload for _, payload in other.rows()]


def test_rows_pruned_before_they_were_read_reload_the_index(
        tenant: Tenant, other: Other) -> None:
    targets = [_new_target() for _ in range(3)]
    for target in targets:
        assert tenant.editor.post("/api/v1/windows",
                                  json=_running(targets=[target])).status_code == 201
    newest = other.rows()[-1][0]
    assert other.feed.prune(_utcnow() + timedelta(days=1)) >= 2
    assert [row_id for row_id, _ in other.rows()] == [newest]  # the newest always stays
    assert [other.verdict(tenant, t) for t in targets] == [Verdict.DELIVER] * 3
    other.feed.follow()
    assert (other.feed.reloads, [other.verdict(tenant, t) for t in targets]) == (
        1, [Verdict.MUTE] * 3)
    after = _new_target()  # and it follows on from there, row by row
    assert tenant.editor.post("/api/v1/windows", json=_running(targets=[after])).status_code \
        == 201
    assert (other.feed.follow(), other.feed.reloads, other.verdict(tenant, after)) == (
        1, 1, Verdict.MUTE)
    assert other.rows()[-1][0] == newest + 1  # ids only grow


def test_a_feed_that_went_back_reloads_the_index(tenant: Tenant, other: Other) -> None:
    """A store restored from a backup holds fewer rows than the process read: it reloads."""
    made = make_window(tenant.editor, seconds_from_now(-60), seconds_from_now(600), [],
                       targets=[_new_target()])
    assert other.feed.follow() == 1
    with sqlite3.connect(other.path) as conn:
        conn.execute("DELETE FROM changes")
    other.feed.follow()
    assert other.feed.reloads == 1
    assert tenant.editor.delete(f"/api/v1/windows/{made['id']}").status_code == 204
    assert (other.feed.follow(), other.verdict(tenant, made["targets"][0])) == (
        1, Verdict.DELIVER)


def _rows(path: str) -> int:
    with sqlite3.connect(path) as conn:
        count: int = conn.execute("SELECT count(*) FROM changes").fetchone()[0]
        return count


def test_a_writer_writes_rows_only_while_another_process_follows(
        tenant: Tenant, database_url: str) -> None:
    """This test process's server follows its own file: alone it writes no rows, whatever
    the path (the create fast path, a batch, a group); with a follower elsewhere, one each."""
    path = _path(database_url)

    def write_three() -> int:
        before = _rows(path)
        for body in (_running(targets=[_new_target()]),):
            assert tenant.editor.post("/api/v1/windows", json=body).status_code == 201
        assert tenant.editor.post("/api/v1/windows/batch", json={
            "windows": [_running(targets=[_new_target()])]}).status_code == 201
        assert tenant.editor.put(f"/api/v1/groups/g-{uuid.uuid4().hex[:8]}",
                                 json={"targets": []}).status_code == 201
        return _rows(path) - before

    assert write_three() == 0
    with follower_elsewhere(path) as child:
        assert write_three() == 3
        child.send_signal(signal.SIGKILL)  # killed: the kernel lets go of its lock
        child.wait(timeout=30)
        assert write_three() == 0


def test_followers_are_other_processes_holding_the_lock(tmp_path: Path) -> None:
    path = str(tmp_path / "f.db")
    mine = Followers.of(path)
    assert (Followers.of(path) is mine, mine.others()) == (True, False)
    assert mine.join()
    assert mine.others() is False  # its own lock is not another process's
    with follower_elsewhere(path):
        assert mine.others() is True
    assert mine.others() is False
    # Asking did not cost this process its own lock: another process sees it.
    asked = subprocess.run(
        [sys.executable, "-c", "import sys; from quietly.storage.changefeed import Followers; "
         "print(Followers.of(sys.argv[1]).others())", path],
        capture_output=True, text=True, timeout=60, check=True)
    assert asked.stdout.strip() == "True"


def test_followers_cannot_be_told_without_the_file(tmp_path: Path) -> None:
    """A folder where the lock file cannot be made: writers, unable to tell, write rows."""
    blocked = Followers(str(tmp_path / "missing" / "f.db"))
    assert (blocked.join(), blocked.others()) == (False, True)


_JOIN_THEN_COUNT = (
    "import sqlite3, sys; from quietly.storage.changefeed import Followers; "
    "Followers.of(sys.argv[1]).join(); print('joined', flush=True); "
    "conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30); "
    "conn.execute('BEGIN IMMEDIATE'); conn.execute('COMMIT'); "
    "print(conn.execute('SELECT count(*) FROM t').fetchone()[0], flush=True)")


def test_joining_waits_for_the_writes_that_asked_before(tmp_path: Path) -> None:
    """A write that found no follower and is still open when a process joins has committed
    before that process passes the write lock (and so loads after it): the joiner counts
    its row."""
    path = str(tmp_path / "j.db")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    assert Followers.of(path).others() is False  # asked inside its transaction: alone
    writer.execute("INSERT INTO t VALUES (1)")
    joiner = subprocess.Popen([sys.executable, "-c", _JOIN_THEN_COUNT, path],
                              stdout=subprocess.PIPE, text=True)
    assert joiner.stdout is not None
    assert joiner.stdout.readline() == "joined\n"
    assert Followers.of(path).others() is True  # every later write writes its rows
    writer.execute("COMMIT")
    assert (joiner.stdout.readline(), joiner.wait(timeout=60)) == ("1\n", 0)
    joiner.stdout.close()
    writer.close()


# -- a property: whatever the other processes did, one look at the feed brings this one's
# decisions to what a fresh load of the store decides ---------------------------------------

_TARGETS = [f"service:p{i}" for i in range(4)]
_GROUPS = ["pg0", "pg1"]

_ops = st.lists(st.one_of(
    st.tuples(st.just("create"), st.sampled_from(_TARGETS), st.sampled_from([None, *_GROUPS]),
              st.booleans()),
    st.tuples(st.just("batch"), st.lists(st.sampled_from(_TARGETS), min_size=1, max_size=3)),
    st.tuples(st.just("move"), st.integers(0, 50), st.sampled_from(_TARGETS)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("members"), st.sampled_from(_GROUPS),
              st.lists(st.sampled_from(_TARGETS), max_size=2, unique=True)),
    st.tuples(st.just("prune")),
    st.tuples(st.just("look")),
), min_size=1, max_size=12)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_ops)
@example(ops=[("create", "service:p0", "pg0", True), ("members", "pg0", ["service:p1"])])
@example(ops=[("create", "service:p2", None, True), ("look",), ("prune",), ("cancel", 0)])
def test_after_a_look_the_index_decides_as_a_fresh_load(tenant: Tenant, database_url: str,
                                                       ops: list[tuple[Any, ...]]) -> None:
    """Examples share the workspace (what earlier ones left stays): the comparison holds
    whatever the store holds."""
    path = _path(database_url)
    editor = tenant.editor
    for group in _GROUPS:  # groups exist before windows name them
        assert editor.put(f"/api/v1/groups/{group}", json={"targets": []}).status_code in (
            200, 201)
    with follower_elsewhere(path):
        for other in _other(database_url, path):
            made: list[int] = []
            for op in ops:
                _do(editor, other, made, op)
            other.feed.follow()
            fresh = DecisionService(other.db, _utcnow())
            fresh.load(_utcnow())
            alerts = [(target, other.verdict(tenant, target),
                       fresh.decide(tenant.id, Alert(targets=(target,)), _utcnow()).verdict)
                      for target in _TARGETS]
            assert [a[1] for a in alerts] == [a[2] for a in alerts], (ops, alerts)


def _do(editor: Any, other: Other, made: list[int], op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "create":
        _, target, group, running = op
        body = _running(targets=[target], groups=[group] if group else [])
        if not running:
            body["schedule"] = {"kind": "once", "start": iso(seconds_from_now(3600)),
                                "end": iso(seconds_from_now(7200))}
        answer = editor.post("/api/v1/windows", json=body)
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    elif kind == "batch":
        answer = editor.post("/api/v1/windows/batch", json={
            "windows": [_running(targets=[t]) for t in op[1]]})
        assert answer.status_code == 201, answer.text
        made.extend(answer.json()["ids"])
    elif kind in ("move", "cancel", "delete") and made:
        window = made[op[1] % len(made)]
        if kind == "move":
            editor.patch(f"/api/v1/windows/{window}", json={"targets": [op[2]]})
        elif kind == "cancel":
            editor.post(f"/api/v1/windows/{window}/cancel")
        else:
            editor.delete(f"/api/v1/windows/{window}")
    elif kind == "members":
        assert editor.put(f"/api/v1/groups/{op[1]}", json={"targets": op[2]}).status_code \
            == 200
    elif kind == "prune":
        other.feed.prune(_utcnow() + timedelta(days=1))
    elif kind == "look":
        other.feed.follow()
