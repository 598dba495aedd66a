"""The early read of ``quietly serve`` on SQLite (``storage.early_read``, issue 19).

A child process reads and decodes the windows while the server imports; the first load
takes its rows only if no connection has committed anything since the child's read
transaction (``PRAGMA data_version``). What it gives must be what the loader's own read gives
(every kind of window, the groups); any commit after the read — by another process, this
process, the ``quietly`` CLI, a schema change — must drop the rows for a read of the store;
a child that dies, stalls or talks nonsense must too. Decisions stay exact either way.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

from quietly.api.app import create_app
from quietly.core.engine import brute_force_decide
from quietly.core.entries import Entry
from quietly.core.model import Alert
from quietly.core.records import Role
from quietly.services.bootstrap import prepare_database
from quietly.services.decisions import DecisionService
from quietly.services.groups import load_all_groups
from quietly.services.index_load import entries_from_early, read_entries
from quietly.services.windows import load_all_windows
from quietly.settings import Settings
from quietly.storage import early_read
from quietly.storage.db import Database
from quietly.storage.early_read import MIN_BYTES, EarlyRead, sqlite_path
from tests.api.helpers import active_body, once, window_body
from tests.conftest import Tenant, make_tenant
from tests.services.test_index_load import _slots, _store
from tests.worker.processes import QUIETLY, launch_serve, wait_healthy

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def sqlite_url(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("the early read is for SQLite stores (PostgreSQL: the listener loads)")
    return database_url


def _path(url: str) -> str:
    found = sqlite_path(url)
    assert found is not None
    return found


def _read(url: str) -> EarlyRead:
    # (the test store may be small, and the machine running the tests busy)
    early = EarlyRead.start(url, min_bytes=0, need_free_core=False)
    assert early is not None
    assert early.wait_read(60)  # it has read: whatever commits now comes after
    return early


def _fresh(db: Database, at: datetime) -> DecisionService:
    service = DecisionService(db, at, expand_at_once=False)
    service.load(at)
    return service


def test_its_rows_are_what_the_store_read_gives(sqlite_url: str, db: Database,
                                                tenant: Tenant) -> None:
    made = _store(tenant)
    at = datetime.now(UTC)
    lo, hi = at - timedelta(hours=24), at + timedelta(hours=48)
    taken = _read(sqlite_url).take()
    assert taken is not None
    windows, groups = taken
    with db.read() as session:
        slow = read_entries(session)
        stored_groups = load_all_groups(session)
    fast = entries_from_early(windows)
    assert sorted(fast) == sorted(slow)
    assert {ws: [_slots(e.expanded(lo, hi)) for e in entries] for ws, entries in fast.items()} \
        == {ws: [_slots(e.expanded(lo, hi)) for e in entries] for ws, entries in slow.items()}
    mine = {e.id for e in fast[tenant.id]}
    assert mine == {v for k, v in made.items() if k != "deleted"}
    held: dict[int, dict[str, frozenset[str]]] = {}
    for workspace_id, name, members in groups:
        held.setdefault(workspace_id, {})[name] = members
    assert held == stored_groups


def _fields(entry: Entry) -> list[object]:
    """Every field; compiled conditions by their equalities and (weakly shared, so equal
    matchers give the same objects while both are held) predicates."""
    return [[(g.equalities, g.anchor, [id(t) for t in g.tests]) for g in entry.compiled]
            if name == "compiled" else getattr(entry, name) for name in Entry.FIELDS]


def test_each_of_its_forms_builds_the_entry_the_store_read_builds(
        sqlite_url: str, db: Database, tenant: Tenant) -> None:
    """Entry for entry, before expansion: the same class, every field (pending bounds,
    shared names, compiled conditions), from each of the child's three forms (one-time on
    targets only, other one-time, recurring) — all three present in this store, each form
    with every scope and cancelled."""
    _store(tenant)
    weekly = {"kind": "recurring", "timezone": "Europe/Berlin", "start_time": "02:00",
              "rrule": "FREQ=WEEKLY;BYDAY=MO", "end_time": "04:00"}
    labels = [[{"label": "env", "op": "=", "value": "prod"}]]
    start = datetime.now(UTC) - timedelta(minutes=30)
    for body in (
        window_body("r all", [], schedule=weekly, all_targets=True),
        window_body("r group", ["service:x"], schedule=weekly, groups=["tier"]),
        window_body("r labels", ["service:y", "service:x"], schedule=weekly, match=labels),
        window_body("r plain", ["service:y"], schedule=weekly),
        window_body("o labels", ["service:z"], schedule=once(start, start + timedelta(hours=2)),
                    match=labels),
        window_body("o group", [], schedule=once(start, start + timedelta(hours=2)),
                    groups=["tier"], effects=["drop"]),
    ):
        made = tenant.editor.post("/api/v1/windows", json=body)
        assert made.status_code == 201, made.text
        if body["name"] in ("r labels", "r plain", "o labels"):
            tenant.editor.post(f"/api/v1/windows/{made.json()['id']}/cancel") \
                .raise_for_status()
    taken = _read(sqlite_url).take()
    assert taken is not None
    windows, _ = taken
    assert {len(row) for row in windows} == {8, 10, 11}
    with db.read() as session:
        slow = read_entries(session)
    fast = entries_from_early(windows)
    assert sorted(fast) == sorted(slow)
    shared: dict[str, str] = {}  # one string for every window naming a target
    for workspace_id, entries in fast.items():
        expected = slow[workspace_id]
        assert [type(e) for e in entries] == [type(e) for e in expected]
        assert [_fields(e) for e in entries] == [_fields(e) for e in expected]
        for entry in entries:
            for name in entry.targets:
                assert name is shared.setdefault(name, name)
    assert len(shared) < sum(len(e.targets) for es in fast.values() for e in es)  # some shared


def test_a_service_loaded_from_it_decides_as_the_store_says(sqlite_url: str, db: Database,
                                                             tenant: Tenant) -> None:
    _store(tenant)
    at = datetime.now(UTC)
    with db.read() as session:
        stored = [r.to_window() for r in load_all_windows(session, tenant.id)]
    service = DecisionService(db, at)
    service.load(at, _read(sqlite_url))
    questions = [Alert(("service:a",)), Alert(("host:h3",)), Alert(("service:e",)),
                 Alert(("service:zzz",)), Alert((), {"env": "prod", "alertname": "DiskFull"}),
                 Alert((), {"team": "b"}), Alert(("service:c",)), Alert(("service:d",))]
    instants = [at + timedelta(minutes=m) for m in (0, 45, 24 * 60 + 5, 30 * 24 * 60)]
    expected = [brute_force_decide(stored, {"tier": frozenset({"service:e"})}, q, t)
                for q in questions for t in instants]
    before = [service.decide(tenant.id, q, t) for q in questions for t in instants]
    assert service.expanded.wait(60)
    after = [service.decide(tenant.id, q, t) for q in questions for t in instants]
    assert (service.early_used, before == expected, after == expected) == (True, True, True)


def _other_process_update(url: str) -> None:
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('UPDATE windows SET name = name || \"!\" "
            "WHERE id = (SELECT max(id) FROM windows)');"
            " c.commit()")
    subprocess.run([sys.executable, "-c", code, _path(url)], check=True, timeout=60)


def _other_process_schema_change(url: str) -> None:
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('CREATE TABLE early_read_probe (x)'); c.execute('DROP TABLE "
            "early_read_probe'); c.commit()")
    subprocess.run([sys.executable, "-c", code, _path(url)], check=True, timeout=60)


def _cli_creates_a_workspace(url: str) -> None:
    slug = f"early{os.getpid()}{datetime.now(UTC):%H%M%S%f}"
    subprocess.run([QUIETLY, "admin", "create-workspace", slug], check=True, timeout=120,
                   env={**os.environ, "QUIETLY_DATABASE_URL": url, "PYTHONTZPATH": ""},
                   capture_output=True)


WRITERS = [
    # (name, what commits after the child's read): each drops the early rows
    ("another process renames a window",
     lambda url, tenant: _other_process_update(url)),
    ("another process changes the schema, as a migration would",
     lambda url, tenant: _other_process_schema_change(url)),
    ("the quietly CLI creates a workspace",
     lambda url, tenant: _cli_creates_a_workspace(url)),
    ("this process creates a window through the API",
     lambda url, tenant: tenant.editor.post("/api/v1/windows",
                                            json=active_body("late")).raise_for_status()),
]


@pytest.mark.parametrize(("name", "write"), WRITERS, ids=[w[0] for w in WRITERS])
def test_a_commit_after_its_read_drops_its_rows(sqlite_url: str, db: Database, tenant: Tenant,
                                                name: str, write: object) -> None:
    tenant.editor.post("/api/v1/windows", json=active_body("before")).raise_for_status()
    early = _read(sqlite_url)
    write(sqlite_url, tenant)  # type: ignore[operator]
    at = datetime.now(UTC)
    service = DecisionService(db, at, expand_at_once=False)
    service.load(at, early)
    fresh = _fresh(db, at)
    assert (service.early_used, sorted(service.index_for(tenant.id).window_ids())) == (
        False, sorted(fresh.index_for(tenant.id).window_ids()))


def test_an_update_to_the_same_value_changes_nothing_and_keeps_its_rows(
        sqlite_url: str, db: Database, tenant: Tenant) -> None:
    # SQLite writes no page when a row's new bytes equal the old ones: the store is as read.
    tenant.editor.post("/api/v1/windows", json=active_body("same")).raise_for_status()
    early = _read(sqlite_url)
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('UPDATE windows SET name = name'); c.commit()")
    subprocess.run([sys.executable, "-c", code, _path(sqlite_url)], check=True, timeout=60)
    at = datetime.now(UTC)
    service = DecisionService(db, at, expand_at_once=False)
    service.load(at, early)
    assert (service.early_used, service.window_count()) == (True, _fresh(db, at).window_count())


def test_no_commit_keeps_its_rows_even_across_db_upgrade_at_the_heads(
        sqlite_url: str, db: Database, tenant: Tenant) -> None:
    tenant.editor.post("/api/v1/windows", json=active_body("kept")).raise_for_status()
    early = _read(sqlite_url)
    subprocess.run([QUIETLY, "db", "upgrade"], check=True, timeout=120, capture_output=True,
                   env={**os.environ, "QUIETLY_DATABASE_URL": sqlite_url, "PYTHONTZPATH": ""})
    at = datetime.now(UTC)
    service = DecisionService(db, at, expand_at_once=False)
    service.load(at, early)
    fresh = _fresh(db, at)
    assert (service.early_used, service.window_count()) == (True, fresh.window_count())


def _child(code: str) -> EarlyRead:
    """A child running ``code`` with ``SPOOL``, the descriptor of the file for its rows."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by take)
    fd = spool.fileno()
    return EarlyRead(subprocess.Popen([sys.executable, "-c", f"SPOOL = {fd}\n{code}"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      pass_fds=(fd,)), spool)


# A child's steps: write ``b`` (marshal's bytes) into the file, announce ``n`` bytes, wait for
# the check, answer ``a``.
_ROWS = "import marshal, os, sys; b = marshal.dumps(([], [])); "
_WRITE = "os.write(SPOOL, b); "
_SAY = "sys.stdout.buffer.write(len(b).to_bytes(8, 'big')); sys.stdout.buffer.flush(); "
_CHECKED = "sys.stdin.buffer.read(1); "

CHILDREN = [
    # (name, the child's program): none of them gives rows
    ("says nothing and exits", "pass"),
    ("writes text", "print('windows' * 100)"),
    ("announces more than it wrote", _ROWS + _WRITE + "sys.stdout.buffer.write((100)"
                                     ".to_bytes(8, 'big')); sys.stdout.buffer.flush(); "
                                     + _CHECKED + "sys.stdout.buffer.write(b'=')"),
    ("announces less than it wrote", _ROWS + _WRITE + "os.write(SPOOL, b'x'); " + _SAY
                                     + _CHECKED + "sys.stdout.buffer.write(b'=')"),
    ("announces rows and writes none", _ROWS + _SAY + _CHECKED
                                       + "sys.stdout.buffer.write(b'=')"),
    ("announces an absurd size", "import sys; sys.stdout.buffer.write((1 << 40)"
                                 ".to_bytes(8, 'big')); sys.stdout.buffer.flush()"),
    ("a blob that is not marshal",
     "import os, sys; b = b'abc'; " + _WRITE + _SAY + _CHECKED
     + "sys.stdout.buffer.write(b'=')"),
    ("a blob of something else, then 'current'",
     "import marshal, os, sys; b = marshal.dumps({'a': 1}); " + _WRITE + _SAY + _CHECKED
     + "sys.stdout.buffer.write(b'=')"),
    ("rows, then no answer to the check", _ROWS + _WRITE + _SAY + _CHECKED),
    ("rows, then 'changed'", _ROWS + _WRITE + _SAY + _CHECKED
     + "sys.stdout.buffer.write(b'!')"),
    ("stalls", "import time; time.sleep(60)"),
]


def test_a_child_that_does_it_all_right_gives_its_rows() -> None:
    """The harness above, with every step right: what the failing children are held to."""
    assert _child(_ROWS + _WRITE + _SAY + _CHECKED
                  + "sys.stdout.buffer.write(b'=')").take(timeout=10) == ([], [])


@pytest.mark.parametrize(("name", "code"), CHILDREN, ids=[c[0] for c in CHILDREN])
def test_a_child_that_fails_gives_nothing(name: str, code: str) -> None:
    assert _child(code).take(timeout=2) is None


def test_the_real_child_killed_gives_nothing_and_the_store_is_read(
        sqlite_url: str, db: Database, tenant: Tenant) -> None:
    tenant.editor.post("/api/v1/windows", json=active_body("kill")).raise_for_status()
    early = _read(sqlite_url)
    early._proc.kill()  # type: ignore[union-attr]
    at = datetime.now(UTC)
    service = DecisionService(db, at, expand_at_once=False)
    service.load(at, early)
    assert (service.early_used, service.window_count()) == (False, _fresh(db, at).window_count())


def test_a_store_without_the_tables_gives_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bare.db"
    sqlite3.connect(path).close()
    early = EarlyRead.start(f"sqlite:///{path}", min_bytes=0, need_free_core=False)
    assert early is not None
    assert early.take(timeout=30) is None


URLS = [
    # (name, URL, whether a child reads it)
    ("a SQLite file", "sqlite:///{file}", True),
    ("pysqlite spelled out", "sqlite+pysqlite:///{file}", True),
    ("a file not there yet (first start)", "sqlite:///{missing}", False),
    ("in memory", "sqlite:///:memory:", False),
    ("with options", "sqlite:///{file}?timeout=3", False),
    ("PostgreSQL", "postgresql+psycopg://quietly@127.0.0.1/quietly", False),
]


@pytest.mark.parametrize(("name", "url", "read"), URLS, ids=[u[0] for u in URLS])
def test_which_stores_it_reads(tmp_path: Path, name: str, url: str, read: bool) -> None:
    file = tmp_path / "store.db"
    sqlite3.connect(file).close()
    url = url.format(file=file, missing=tmp_path / "missing.db")
    assert (sqlite_path(url) is not None) == read


def test_a_small_store_is_read_by_the_app_itself(tmp_path: Path) -> None:
    path = tmp_path / "small.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE filler (x)")
        conn.execute("INSERT INTO filler VALUES (zeroblob(100000))")
    size = path.stat().st_size
    url = f"sqlite:///{path}"
    small = EarlyRead.start(url, min_bytes=size + 1, need_free_core=False)
    enough = EarlyRead.start(url, size, need_free_core=False)
    if enough is not None:
        enough.close()
    assert (small, enough is not None) == (None, True)


LOADS = [
    # (name, cores, /proc/loadavg's text or None when it cannot be read, the last minute's
    # load average, whether a child is started)
    ("alone, 2 cores", 2, "0.20 0.10 0.05 1/310 4242", 0.2, True),
    ("alone right after a busy minute", 2, "3.50 2.10 1.00 1/310 4242", 3.5, True),
    ("another task running, 2 cores", 2, "0.40 0.30 0.20 2/310 4242", 0.4, False),
    ("saturated, 2 cores", 2, "7.00 7.00 7.00 8/310 4242", 7.0, False),
    ("one core", 1, "0.00 0.00 0.00 1/90 4242", 0.0, False),
    ("8 cores, 6 others running", 8, "7.00 7.00 7.00 7/900 4242", 7.0, True),
    ("8 cores, 7 others running", 8, "7.00 7.00 7.00 8/900 4242", 7.0, False),
    ("unreadable: the minute's average, idle", 2, None, 0.2, True),
    ("unreadable: the minute's average, both busy", 2, None, 2.0, False),
    ("garbled: the minute's average", 2, "nonsense", 1.5, True),
]


@pytest.mark.parametrize(("name", "cores", "loadavg", "load", "started"), LOADS,
                         ids=[c[0] for c in LOADS])
def test_it_starts_only_while_a_core_is_free(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, cores: int,
        loadavg: str | None, load: float, started: bool) -> None:
    path = tmp_path / "store.db"
    sqlite3.connect(path).close()
    stat = tmp_path / "loadavg"
    if loadavg is not None:
        stat.write_text(loadavg + "\n")
    monkeypatch.setattr(early_read, "_LOADAVG", str(stat))
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    early = EarlyRead.start(f"sqlite:///{path}", min_bytes=0)
    if early is not None:
        early.close()
    assert (early is not None) == started


def test_this_machine_s_run_queue_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ``/proc/loadavg`` exists (Linux) its run queue decides, not the minute's
    average: on one core this process is the task that takes it."""
    if not os.path.exists("/proc/loadavg"):
        pytest.skip("no /proc/loadavg")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # would say "free"
    assert early_read.core_free() is False


def test_the_app_takes_its_rows_at_start_up(sqlite_url: str, settings: Settings,
                                            db: Database, tenant: Tenant) -> None:
    from fastapi.testclient import TestClient

    made = tenant.editor.post("/api/v1/windows", json=active_body("app", ["service:early"]))
    made.raise_for_status()
    app = create_app(settings, database=db, early=_read(sqlite_url))
    with TestClient(app) as client:
        used = app.state.quietly.decisions.early_used
        decided = client.get("/api/v1/decide", params={"target": "service:early"},
                             headers={"Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"})
    assert (used, decided.status_code, decided.json()["verdict"],
            decided.json()["windows"]) == (True, 200, "mute", [made.json()["id"]])


def test_quietly_serve_decides_from_the_early_read_and_sees_a_later_write(
        sqlite_url: str, tmp_path: Path) -> None:
    """The real ``quietly serve`` on a store over the size floor (with the child when the
    machine has a core to spare): a window stored before the start decides; a change made by
    another process after a stop decides at the next start."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    store = prepare_database(Settings(database_url=url))
    with sqlite3.connect(_path(url)) as conn:  # past ``MIN_BYTES``
        conn.execute("CREATE TABLE filler (x)")
        conn.execute("INSERT INTO filler VALUES (zeroblob(?))", (MIN_BYTES + 1,))
    proc, base = launch_serve(url, tmp_path, tmp_path / "serve.log")
    try:
        wait_healthy(proc, base)
        tenant = make_tenant(store, base)
        first = tenant.editor.post("/api/v1/windows", json=active_body("a", ["service:x"]))
        first.raise_for_status()
        tenant.close()
    finally:
        proc.stop()
    answers = []
    for round_ in range(2):
        proc, base = launch_serve(url, tmp_path, tmp_path / "serve.log")
        try:
            wait_healthy(proc, base)
            with httpx.Client(base_url=base, timeout=30, headers={
                    "Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"}) as client:
                answers.append(client.get("/api/v1/decide",
                                          params={"target": "service:x"}).json()["windows"])
        finally:
            proc.stop()
        if round_ == 0:  # another process cancels it while no server runs
            code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("
                    "'UPDATE windows SET cancelled_at = 0 WHERE id = ?', (int(sys.argv[2]),));"
                    " c.commit()")
            subprocess.run([sys.executable, "-c", code, _path(url), str(first.json()["id"])],
                           check=True, timeout=60)
    store.dispose()
    assert answers == [[first.json()["id"]], []]


@pytest.mark.parametrize(("name", "later", "free"), [
    ("a task that ran for an instant", "0.30 0.20 0.10 1/310 4242", True),
    ("still busy at every look", "0.30 0.20 0.10 2/310 4242", False),
], ids=lambda v: v if isinstance(v, str) and not v[0].isdigit() else "")
def test_a_task_running_for_an_instant_does_not_make_the_cores_busy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, later: str,
        free: bool) -> None:
    stat = tmp_path / "loadavg"
    stat.write_text("0.30 0.20 0.10 2/310 4242\n")  # at the first look: another task runs
    looks: list[float] = []

    def pause(seconds: float) -> None:  # between looks the run queue changes
        looks.append(seconds)
        stat.write_text(later + "\n")

    monkeypatch.setattr(early_read, "_LOADAVG", str(stat))
    monkeypatch.setattr(early_read.time, "sleep", pause)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert early_read.core_free() is free
    assert looks == ([0.001] if free else [0.001] * (early_read._LOOKS - 1))
