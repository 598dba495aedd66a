"""Migration 0013 on SQLite: instants from text to integer microseconds, and back.

A store at 0012 keeps every instant as the text SQLAlchemy's SQLite ``DATETIME`` wrote
("YYYY-MM-DD HH:MM:SS.ffffff", UTC); the tests write exactly that text (SQLAlchemy's own
bind processor renders it), upgrade, and read the same instants back. Downgrading to 0012
writes the same text again. PostgreSQL keeps ``timestamptz`` and 0013 leaves it alone; these
tests use SQLite files of their own whatever the suite's database.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from alembic import command
from sqlalchemy.dialects import sqlite as sqlite_dialect

from quietly.api.app import create_app
from quietly.api.server import server_config
from quietly.core.records import Role
from quietly.services import workspaces
from quietly.services.bootstrap import prepare_database
from quietly.settings import Settings
from quietly.storage.db import Database
from quietly.storage.migrate import alembic_config, upgrade
from quietly.storage.types import instant_from_sqlite, sqlite_instant
from tests.api.helpers import active_body, window_body
from tests.conftest import _free_port, serving

_OLD_BIND = sqlite_dialect.DATETIME().bind_processor(sqlite_dialect.dialect())


def old_text(at: datetime) -> str:
    """An instant as a store at 0012 held it (``UTCDateTime`` over SQLite's ``DATETIME``)."""
    assert _OLD_BIND is not None
    found: str = _OLD_BIND(at.astimezone(UTC).replace(tzinfo=None))
    return found


# Instants the text form must survive, each with the why.
SAMPLES = [
    datetime(2026, 12, 6, 17, 35, 8, 608_252, tzinfo=UTC),    # an ordinary one
    datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),  # before the epoch: negative
    datetime.min.replace(tzinfo=UTC),                         # the first datetime
    datetime.max.replace(tzinfo=UTC),                         # the last
    datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC),           # a leap day, 1 µs
    datetime(2026, 3, 29, 0, 59, 59, 999_500, tzinfo=UTC),    # rounds up in milliseconds
]


def _instant_columns(conn: sqlite3.Connection) -> dict[str, list[tuple[str, bool]]]:
    """Every ``DATETIME`` column of every table, with whether it may be NULL."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    found: dict[str, list[tuple[str, bool]]] = {}
    for table in tables:
        cols = [(r[1], not r[3]) for r in conn.execute(f"PRAGMA table_info({table})")
                if r[2] == "DATETIME"]
        if cols:
            found[table] = cols
    return found


def _filler(kind: str, k: int) -> Any:
    if kind.startswith(("INTEGER", "BIGINT", "BOOLEAN", "SMALLINT")):
        return k + 1
    if kind == "JSON":
        return "[]"
    if kind == "BLOB":
        return None
    return f"v{k}"


def _store_at_0012(path: Path) -> None:
    """A store at 0012 (its three branches) with one row per sample in every table that
    has instants; NULL too where a column allows it."""
    db = Database(f"sqlite:///{path}")
    try:
        for head in ("0012", "0002", "0003"):
            upgrade(db.engine, head)
    finally:
        db.dispose()
    with sqlite3.connect(path) as conn:  # foreign keys off: rows of unrelated filler
        for table, cols in _instant_columns(conn).items():
            info = list(conn.execute(f"PRAGMA table_info({table})"))
            instants = dict(cols)
            for k in range(len(SAMPLES) + 1):
                values = []
                for _, name, kind, *_ in info:
                    if name not in instants:
                        values.append(_filler(kind, k))
                    elif k < len(SAMPLES):
                        values.append(old_text(SAMPLES[(k + len(name)) % len(SAMPLES)]))
                    else:
                        values.append(None if instants[name] else old_text(SAMPLES[0]))
                names = ", ".join(f'"{r[1]}"' for r in info)
                conn.execute(f"INSERT INTO {table} ({names}) VALUES "
                             f"({', '.join('?' * len(info))})", values)


def _raw_instants(path: Path) -> dict[tuple[str, str, int], Any]:
    """Every stored instant value, by (table, column, rowid); not the change feed's (0014,
    after this migration: its rows are gone with it)."""
    out: dict[tuple[str, str, int], Any] = {}
    with sqlite3.connect(path) as conn:
        for table, cols in _instant_columns(conn).items():
            if table == "changes":
                continue
            for col, _ in cols:
                for rowid, value in conn.execute(f'SELECT rowid, "{col}" FROM {table}'):
                    out[(table, col, rowid)] = value
    return out


def _migrate(path: Path, revision: str, *, down: bool = False) -> None:
    db = Database(f"sqlite:///{path}")
    try:
        if down:
            command.downgrade(alembic_config(db.engine), revision)
        else:
            upgrade(db.engine, revision)
    finally:
        db.dispose()


def test_upgrade_reads_every_instant_back_and_downgrade_writes_the_same_text(
        tmp_path: Path) -> None:
    path = tmp_path / "at-0012.db"
    _store_at_0012(path)
    before = _raw_instants(path)
    assert (len(before) > 100, {type(v) for v in before.values()}) == (True, {str, type(None)})

    _migrate(path, "heads")
    after = _raw_instants(path)
    assert after.keys() == before.keys()
    assert {k: instant_from_sqlite(v) for k, v in after.items()} == {
        k: None if v is None else datetime.fromisoformat(v).replace(tzinfo=UTC)
        for k, v in before.items()}

    _migrate(path, "0012", down=True)
    assert _raw_instants(path) == before


def test_sql_orders_and_compares_converted_instants(tmp_path: Path) -> None:
    path = tmp_path / "at-0012.db"
    _store_at_0012(path)
    _migrate(path, "heads")
    cut = sqlite_instant(datetime(2000, 1, 1, tzinfo=UTC))
    with sqlite3.connect(path) as conn:
        ordered = [r[0] for r in conn.execute(
            "SELECT created_at FROM windows ORDER BY created_at")]
        early = [r[0] for r in conn.execute(
            "SELECT created_at FROM windows WHERE created_at < ? ORDER BY created_at", (cut,))]
    instants = [instant_from_sqlite(v) for v in ordered]
    assert (instants == sorted(instants), [instant_from_sqlite(v) for v in early]) == (
        True, sorted(s for s in (*SAMPLES, SAMPLES[0]) if s < datetime(2000, 1, 1, tzinfo=UTC)))


def test_other_text_is_parsed_and_what_is_no_instant_stops_the_upgrade(
        tmp_path: Path) -> None:
    """Text 0012's code never wrote (no fraction, an offset, a T) still names an instant;
    anything else stops the upgrade, naming the value, and changes nothing."""
    path = tmp_path / "at-0012.db"
    _store_at_0012(path)
    odd = {"2026-12-06 17:35:08": datetime(2026, 12, 6, 17, 35, 8, tzinfo=UTC),
           "2026-12-06T18:35:08.5+01:00": datetime(2026, 12, 6, 17, 35, 8, 500_000,
                                                   tzinfo=UTC),
           "2026-12-06 17:35:08.123": datetime(2026, 12, 6, 17, 35, 8, 123_000, tzinfo=UTC)}
    with sqlite3.connect(path) as conn:
        for i, value in enumerate(odd, start=1):
            conn.execute("UPDATE windows SET updated_at = ? WHERE rowid = ?", (value, i))
        conn.execute("UPDATE audit_log SET at = 'yesterday' WHERE rowid = 2")
    before = _raw_instants(path)
    with pytest.raises(RuntimeError, match=r"audit_log\.at \(rowid 2\) holds 'yesterday'"):
        _migrate(path, "heads")
    assert _raw_instants(path) == before

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit_log SET at = ? WHERE rowid = 2", (old_text(SAMPLES[0]),))
    _migrate(path, "heads")
    with sqlite3.connect(path) as conn:
        got = [instant_from_sqlite(r[0]) for r in conn.execute(
            "SELECT updated_at FROM windows WHERE rowid <= 3 ORDER BY rowid")]
    assert got == list(odd.values())


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[tuple[Path, httpx.Client, httpx.Client]]:
    """A store at head written by the app itself (windows, a cancel, an update, alerts,
    an outbox), served, with an editor's and an admin's client."""
    settings = Settings(data_dir=tmp_path, run_worker=False, access_log=False,
                        webhook_allow_private=True, cookie_secure=False)
    db = prepare_database(settings)
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, "m13-" + uuid.uuid4().hex[:6], name="m",
                                         timezone="Europe/Berlin", now=now)
        keys = {role: workspaces.create_key(session, ws.id, name=role.value, role=role,
                                            now=now)[1] for role in (Role.EDITOR, Role.ADMIN)}
    port = _free_port()
    config = server_config(create_app(settings, database=db), host="127.0.0.1", port=port,
                           log_level="warning", lifespan="on")
    url = f"http://127.0.0.1:{port}"
    with serving(config), \
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys[Role.EDITOR]}"}
                         ) as editor, \
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys[Role.ADMIN]}"}
                         ) as admin:
        yield next(tmp_path.glob("*.db")), editor, admin
    db.dispose()


def test_a_store_the_app_wrote_survives_downgrade_and_upgrade(
        app_store: tuple[Path, httpx.Client, httpx.Client]) -> None:
    path, editor, admin = app_store
    channel = admin.post("/api/v1/channels", json={
        "name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/hook"}).json()
    made = [editor.post("/api/v1/windows", json=body).json() for body in (
        active_body("running", ["service:a"]),
        window_body("later", ["service:b"], notify_channels=[channel["name"]]),
        window_body("weekly", ["service:c"], schedule={
            "kind": "recurring", "timezone": "Europe/Berlin", "rrule": "FREQ=WEEKLY;BYDAY=SU",
            "start_time": "02:00", "end_time": "04:00"}))]
    assert editor.post(f"/api/v1/windows/{made[0]['id']}/cancel").status_code == 200
    assert editor.patch(f"/api/v1/windows/{made[1]['id']}",
                        json={"name": "later, renamed"}).status_code == 200
    assert editor.post("/api/v1/alerts", json={"alerts": [
        {"labels": {"alertname": "Down", "service": "b"}, "targets": ["service:b"],
         "starts_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}]}
    ).status_code == 200

    def seen() -> list[Any]:
        answers = [editor.get(p) for p in (
            "/api/v1/windows", "/api/v1/windows?state=cancelled",
            "/api/v1/windows?target=service:b", f"/api/v1/windows/{made[1]['id']}",
            "/api/v1/audit", "/api/v1/alerts")]
        assert [a.status_code for a in answers] == [200] * 6
        return [a.json() for a in answers]

    shown = seen()
    _keys_use_recorded(path)  # written off the request path: not under the migration
    stored, targets = _raw_instants(path), _targets(path)
    assert ({type(v) for v in stored.values()} <= {int, type(None)}, targets[0],
            len(targets[1])) == (True, False, 3)

    _migrate(path, "0012", down=True)
    assert (_raw_instants(path), _targets(path)) == (
        {k: v if v is None else old_text(instant_from_sqlite(v)) for k, v in stored.items()},
        (True, targets[1]))
    _migrate(path, "heads")
    assert (_raw_instants(path), _targets(path), seen()) == (stored, targets, shown)


def _keys_use_recorded(path: Path) -> None:
    """Wait until the server has written both keys' ``last_used_at`` (``KeyUsage`` writes it
    from a thread of its own, once a minute per key at most): a write landing after the
    downgrade stored an instant in the new form in the old schema."""
    for _ in range(400):
        with sqlite3.connect(path) as conn:
            if conn.execute("SELECT count(*) FROM api_keys WHERE last_used_at IS NULL"
                            ).fetchone()[0] == 0:
                return
        time.sleep(0.025)
    raise AssertionError("the server did not record the keys' use within 10 s")


def _targets(path: Path) -> tuple[bool, list[tuple[Any, ...]]]:
    """Whether ``window_targets`` has a rowid (not since 0013), and its rows."""
    with sqlite3.connect(path) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'window_targets'"
                           ).fetchone()[0]
        rows = conn.execute("SELECT * FROM window_targets ORDER BY window_id, target")
        return "WITHOUT ROWID" not in sql, rows.fetchall()
