"""``storage.window_rows``' rows beside a new window, read by SQLite from one JSON array
(``insert_targets_json``, ``insert_jobs_json``, ``insert_create_audit_json``): stored, the
same rows as ``insert_values`` stores, value and SQL type, in the same order; and where they
cannot take the rows (a target JSON would escape, a lone surrogate, ids that are not
consecutive), they say so having written nothing. ``create_windows`` stores the same rows
with them as without them (``JSON_ROWS`` off: the ``executemany`` path)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from quietly.core.model import OnceSchedule
from quietly.core.records import Principal, Role, WindowFields
from quietly.services import windows
from quietly.storage import window_rows
from quietly.storage.bulk import insert_values
from quietly.storage.db import Database
from quietly.storage.tables import AuditRow, WindowJobRow, WindowTargetRow
from quietly.storage.types import sqlite_instant
from quietly.storage.window_rows import (
    insert_create_audit_json,
    insert_jobs_json,
    insert_targets_json,
)
from tests.storage.helpers import new_workspaces, scratch_workspaces

NOW = datetime(2031, 6, 1, 22, 0, 0, 123456, tzinfo=UTC)
_FN = settings(max_examples=60, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])

# Texts with what JSON escapes (quote, backslash, control characters), non-ASCII, astral
# characters and (rarely) a lone surrogate, which neither path can store.
_texts = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["service:a", 'x"y', "a\\b", "tab\tx", "é:ü", "\U0001f600", "\x7f",
                     "line\u2028sep", "lone \ud800"]))

# Instants from year 1 to 9999, in zones other than UTC too (stored as UTC microseconds).
_instants = st.builds(lambda at, zone: at.replace(tzinfo=UTC).astimezone(zone),
                      st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
                      st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]))


@pytest.fixture
def sqlite_db(db: Database) -> Database:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the JSON rows are SQLite's")
    if not window_rows.JSON_ROWS:
        pytest.skip("SQLite before 3.38: no JSON functions built in")
    return db


@pytest.fixture
def two_workspaces(db: Database) -> Iterator[tuple[int, int]]:
    with scratch_workspaces(db, "side", NOW) as made:
        yield made[0], made[1]


def _kept_workspaces(db: Database) -> tuple[int, int]:
    """Two new workspaces whose windows stay: ``create_windows`` publishes its windows to
    the session's decision index, and a window removed behind the index's back would leave
    its entry there for a later window given the same id (SQLite reuses the largest id)."""
    made = new_workspaces(db, "side", NOW)
    return made[0], made[1]


def _rows(conn: Connection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(text(sql), params).all()]


def _scratch(db: Database, body: Any) -> None:
    """Run ``body(conn)`` in a transaction whose rows are all removed before its commit
    (foreign keys deferred: the rows name windows that do not exist)."""
    with db.transaction() as session:
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
        conn = session.connection()
        try:
            body(conn)
        finally:
            for table in ("window_targets", "window_jobs"):
                conn.execute(text(f"DELETE FROM {table} WHERE window_id >= 10000000"))


def _targets_table() -> Any:
    return WindowTargetRow.__table__


@_FN
@given(targets=st.one_of(
    st.lists(_texts.map(lambda t: (t,)), min_size=1, max_size=6),  # one each: its own array
    st.lists(st.lists(_texts, max_size=3, unique=True).map(tuple), min_size=1, max_size=6)),
       gap=st.booleans())
def test_targets_as_insert_values_stores_them(
        sqlite_db: Database, two_workspaces: tuple[int, int],
        targets: list[tuple[str, ...]], gap: bool) -> None:
    """Any targets, one or several a window, ids consecutive or not: the same rows, or False
    and nothing written (a lone surrogate, which ``insert_values`` refuses too)."""
    json_ws, general_ws = two_workspaces
    ids = [10_000_000 + i * (2 if gap else 1) for i in range(len(targets))]
    lone = any("\ud800" in t for names in targets for t in names)

    def body(conn: Connection) -> None:
        taken = insert_targets_json(conn, ids, targets, json_ws)
        stored = _rows(conn, "SELECT count(*) FROM window_targets WHERE workspace_id = :w",
                       w=json_ws)
        if lone:
            assert not taken
            assert stored == [(0,)]
            with pytest.raises(UnicodeEncodeError):
                insert_values(conn, _targets_table(), ("window_id", "target", "workspace_id"),
                              [(i + 1_000_000, t, general_ws)
                               for i, names in zip(ids, targets, strict=True) for t in names])
            return
        if not taken:  # an escape: nothing written, and the general path stores them
            assert stored == [(0,)]
            assert any(c in '"\\' or c < " " for names in targets for t in names for c in t)
            return
        insert_values(conn, _targets_table(), ("window_id", "target", "workspace_id"),
                      [(i + 1_000_000, t, general_ws)
                       for i, names in zip(ids, targets, strict=True) for t in names])
        query = ("SELECT window_id - :off, typeof(window_id), target, typeof(target), "
                 "hex(target), typeof(workspace_id) FROM window_targets "
                 "WHERE workspace_id = :w ORDER BY window_id, target")
        mine = _rows(conn, query, w=json_ws, off=0)
        assert mine == _rows(conn, query, w=general_ws, off=1_000_000)
        assert len(mine) == sum(len(names) for names in targets)

    _scratch(sqlite_db, body)


def test_targets_with_escapes_are_not_taken(sqlite_db: Database,
                                            two_workspaces: tuple[int, int]) -> None:
    """A quote, a backslash or a control character would be escaped in JSON: not taken."""
    for target in ('a"b', "a\\b", "a\nb", "a\x00b"):
        def body(conn: Connection, target: str = target) -> None:
            assert not insert_targets_json(conn, [10_000_000], [(target,)], two_workspaces[0])
            assert not insert_targets_json(conn, [10_000_000, 10_000_001],
                                           [("ok:1", target), ("ok:2",)], two_workspaces[0])
            assert _rows(conn, "SELECT count(*) FROM window_targets WHERE workspace_id = :w",
                         w=two_workspaces[0]) == [(0,)]
        _scratch(sqlite_db, body)


@_FN
@given(done=st.lists(_instants, min_size=1, max_size=6), due=_instants)
def test_jobs_as_insert_values_stores_them(
        sqlite_db: Database, two_workspaces: tuple[int, int], done: list[datetime],
        due: datetime) -> None:
    json_ws, general_ws = two_workspaces
    ids = [10_000_000 + i for i in range(len(done))]

    def body(conn: Connection) -> None:
        assert insert_jobs_json(conn, ids, json_ws, [sqlite_instant(d) for d in done],
                                sqlite_instant(due))
        insert_values(conn, WindowJobRow.__table__,
                      ("window_id", "workspace_id", "done_until", "next_due_at"),
                      [(i + 1_000_000, general_ws, d, due) for i, d in zip(ids, done,
                                                                            strict=True)],
                      nulls=False)
        query = ("SELECT window_id - :off, typeof(window_id), done_until, typeof(done_until), "
                 "next_due_at, typeof(next_due_at) FROM window_jobs WHERE workspace_id = :w "
                 "ORDER BY window_id")
        mine = _rows(conn, query, w=json_ws, off=0)
        assert mine == _rows(conn, query, w=general_ws, off=1_000_000)
        assert len(mine) == len(done)

    _scratch(sqlite_db, body)


def test_jobs_need_consecutive_ids(sqlite_db: Database,
                                   two_workspaces: tuple[int, int]) -> None:
    def body(conn: Connection) -> None:
        for ids in ([10_000_000, 10_000_002], [10_000_001, 10_000_000], []):
            assert not insert_jobs_json(conn, ids, two_workspaces[0], [1] * len(ids), 1)
        assert _rows(conn, "SELECT count(*) FROM window_jobs WHERE workspace_id = :w",
                     w=two_workspaces[0]) == [(0,)]
    _scratch(sqlite_db, body)


@_FN
@given(ids=st.lists(st.integers(1, 2**62), min_size=1, max_size=6, unique=True),
       actor=st.sampled_from(["key:bench", "user:é", 'a"b\\c']),
       at=_instants)
def test_audit_as_insert_values_stores_it(
        sqlite_db: Database, two_workspaces: tuple[int, int], ids: list[int], actor: str,
        at: datetime) -> None:
    """Any ids (not only consecutive), in their order: the same entries, ids given in turn."""
    json_ws, general_ws = two_workspaces
    with sqlite_db.transaction() as session:
        conn = session.connection()
        assert insert_create_audit_json(conn, ids, json_ws, sqlite_instant(at), actor)
        insert_values(conn, AuditRow.__table__, windows._AUDIT_COLUMNS,
                      [(general_ws, at, actor, "create", "window", str(i)) for i in ids])
        columns = [c.name for c in AuditRow.__table__.c if c.name not in ("id",
                                                                          "workspace_id")]
        query = ("SELECT " + ", ".join(f'"{c}", typeof("{c}")' for c in columns)
                 + " FROM audit_log WHERE workspace_id = :w ORDER BY id")
        mine = _rows(conn, query, w=json_ws)
        assert mine == _rows(conn, query, w=general_ws)
        assert [r[columns.index("object_id") * 2] for r in mine] == [str(i) for i in ids]
        conn.execute(text("DELETE FROM audit_log WHERE workspace_id IN (:a, :b)"),
                     {"a": json_ws, "b": general_ws})


# create_windows both ways: one-time windows, some running at NOW (their job starts at
# their start), one target or several, some targets sorted differently from how they came.
_window = st.builds(
    lambda i, start, length, targets: WindowFields(
        name=f"w{i}", schedule=OnceSchedule(NOW + timedelta(minutes=start),
                                            NOW + timedelta(minutes=start + length), None),
        targets=targets),
    st.integers(0, 99), st.integers(-120, 120), st.integers(121, 600),
    st.lists(st.sampled_from(["service:a", "service:b", "host:é", "db:x"]), min_size=1,
             max_size=3, unique=True).map(tuple))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(_window, min_size=1, max_size=6), one_each=st.booleans())
def test_create_windows_stores_the_same_rows_either_way(
        db: Database, batch: list[WindowFields], one_each: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The targets, jobs and audit entries of a batch stored with the JSON rows and without
    (``JSON_ROWS`` off), each in its workspace: equal, value and SQL type, ids apart (on
    PostgreSQL both are the general path)."""
    if one_each:
        batch = [f.with_changes(targets=f.targets[:1]) for f in batch]
    kept_workspaces = _kept_workspaces(db)
    made: list[list[int]] = []
    for ws_id, on in zip(kept_workspaces, (True, False), strict=True):
        monkeypatch.setattr(window_rows, "JSON_ROWS", on and window_rows.JSON_ROWS)
        principal = Principal(ws_id, "side", "UTC", Role.EDITOR, None, "key:side")
        with db.transaction() as session:
            made.append([r.id for r in windows.create_windows(session, principal, batch,
                                                              NOW)])
    with db.transaction() as session:
        conn = session.connection()

        def stored(ws_id: int, first: int) -> list[list[tuple[Any, ...]]]:
            return [
                _rows(conn, "SELECT window_id - :f, target, workspace_id = :w "
                            "FROM window_targets WHERE workspace_id = :w "
                            "ORDER BY window_id, target", w=ws_id, f=first),
                _rows(conn, "SELECT window_id - :f, workspace_id = :w, done_until, "
                            "next_due_at FROM window_jobs j WHERE workspace_id = :w "
                            "ORDER BY window_id", w=ws_id, f=first),
                _rows(conn, "SELECT at, actor, action, object_type, "
                            "CAST(object_id AS INTEGER) - :f, before, after "
                            "FROM audit_log WHERE workspace_id = :w AND object_type = 'window' "
                            "ORDER BY id", w=ws_id, f=first),
            ]

        typed = db.engine.dialect.name == "sqlite"
        one, other = (stored(ws, ids[0]) for ws, ids in zip(kept_workspaces, made,
                                                            strict=True))
        assert one == other
        assert len(one[0]) == sum(len(set(f.targets)) for f in batch)
        assert len(one[1]) == len(one[2]) == len(batch)
        if typed:
            types = ("SELECT group_concat(typeof(target) || typeof(workspace_id)) "
                     "FROM window_targets WHERE workspace_id = :w",
                     "SELECT group_concat(typeof(done_until) || typeof(next_due_at)) "
                     "FROM window_jobs WHERE workspace_id = :w",
                     "SELECT group_concat(typeof(at) || typeof(actor) || typeof(object_id) "
                     "|| typeof(before) || typeof(after)) FROM audit_log WHERE workspace_id = :w")
            for query in types:
                assert _rows(conn, query, w=kept_workspaces[0]) == _rows(
                    conn, query, w=kept_workspaces[1])


def test_without_json_functions_nothing_is_taken(
        sqlite_db: Database, two_workspaces: tuple[int, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A SQLite library without its JSON functions: every function says False, writing
    nothing (the caller's ``insert_values`` stores the rows); the probe itself is true
    here."""
    assert window_rows._json_functions()
    monkeypatch.setattr(window_rows, "_json_functions", lambda: False)

    def body(conn: Connection) -> None:
        ws = two_workspaces[0]
        assert not insert_targets_json(conn, [10_000_000], [("service:a",)], ws)
        assert not insert_jobs_json(conn, [10_000_000], ws, [1], 1)
        assert not insert_create_audit_json(conn, [10_000_000], ws, 1, "key:k")
        for table in ("window_targets", "window_jobs", "audit_log"):
            assert _rows(conn, f"SELECT count(*) FROM {table} WHERE workspace_id = :w",
                         w=ws) == [(0,)]
    _scratch(sqlite_db, body)
