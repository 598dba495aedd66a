"""The loop writer of plain creates (issue #19, ``storage.loopwriter``): units grouped on the
event loop share a commit, each gets its own result or error, nothing is answered before its
commit, a locked database is waited for off the loop, and a plain create writes the rows a
create through the session writes."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from quietly.api.native.create_fastpath import _PUBLIC, answer
from quietly.core.errors import Unavailable, ValidationError
from quietly.core.model import (
    ConditionGroup,
    Matcher,
    MatcherOp,
    OnceSchedule,
    RecurringSchedule,
    SimpleRule,
)
from quietly.core.records import Principal, Role, WindowFields
from quietly.services import windows, workspaces
from quietly.services.serialize import window_to_json
from quietly.storage.db import Database, DbTimeouts, write_deadline
from quietly.storage.loopwriter import LoopWriter, RawTx
from quietly.storage.tables import AuditRow, WindowJobRow, WindowRow, WindowTargetRow


@pytest.fixture
def writer(db: Database) -> Any:
    if not LoopWriter.usable(db):
        pytest.skip("the loop writer is for SQLite files")
    made = LoopWriter(db)
    yield made
    made.close()


@pytest.fixture(scope="module")
def principal(db: Database) -> Principal:
    slug = "lw-" + uuid.uuid4().hex[:10]
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, slug, name=slug, timezone="UTC",
                                         now=datetime.now(UTC))
    return Principal(workspace_id=ws.id, workspace_slug=slug, workspace_timezone="UTC",
                     role=Role.EDITOR, key_id=None, key_name="editor")


def _fields(name: str, **extra: Any) -> WindowFields:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    values: dict[str, Any] = {"schedule": OnceSchedule(start, start + timedelta(hours=1)),
                              "targets": (f"service:{name}",)}
    values.update(extra)
    return WindowFields(name=name, **values)


def _windows_named(db: Database, *names: str) -> list[str]:
    with db.read() as session:
        return sorted(session.scalars(select(WindowRow.name).where(WindowRow.name.in_(names))))


def test_units_submitted_together_commit_as_one_group(db: Database, writer: LoopWriter,
                                                      principal: Principal) -> None:
    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:8]
    names = [f"g{tag}-{i}" for i in range(5)]

    async def run() -> list[Any]:
        units = [windows.plain_create(principal, _fields(n), now) for n in names]
        return await asyncio.gather(*(writer.run(u) for u in units if u is not None))

    groups = writer.groups
    records = asyncio.run(run())
    assert ([r.fields.name for r in records], writer.groups - groups,
            _windows_named(db, *names)) == (names, 1, names)


def test_a_failing_unit_fails_alone(db: Database, writer: LoopWriter,
                                    principal: Principal) -> None:
    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:8]

    def broken(tx: RawTx) -> None:
        tx.execute("INSERT INTO no_such_table VALUES (1)")

    async def run() -> list[Any]:
        good = windows.plain_create(principal, _fields(f"a{tag}"), now)
        other = windows.plain_create(principal, _fields(f"b{tag}"), now)
        assert good is not None
        assert other is not None
        return await asyncio.gather(writer.run(good), writer.run(broken), writer.run(other),
                                    return_exceptions=True)

    outcomes = asyncio.run(run())
    assert ([type(o).__name__ for o in outcomes], _windows_named(db, f"a{tag}", f"b{tag}")) \
        == (["WindowRecord", "OperationalError", "WindowRecord"], [f"a{tag}", f"b{tag}"])


def test_the_index_hears_of_a_create_before_its_answer(db: Database, writer: LoopWriter,
                                                       principal: Principal) -> None:
    heard: list[int] = []
    db.subscribe(lambda event: heard.append(getattr(event, "window_id", -1)))
    unit = windows.plain_create(principal, _fields(f"h{uuid.uuid4().hex[:8]}"),
                                datetime.now(UTC))
    assert unit is not None

    async def run() -> tuple[int, list[int]]:
        future = writer.run(unit)
        record = await future
        return record.id, list(heard)

    window_id, heard_then = asyncio.run(run())
    assert heard_then[-1:] == [window_id]


def _hold_the_write_lock(db: Database) -> tuple[threading.Thread, threading.Event]:
    """A thread holding SQLite's write lock (BEGIN IMMEDIATE) until the event is set (30 s at
    most); returns once it holds it."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.transaction() as session:
            session.execute(text("SELECT 1"))
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    return holder, release


def test_a_locked_database_is_waited_for_off_the_loop(db: Database, writer: LoopWriter,
                                                      principal: Principal) -> None:
    name = f"l{uuid.uuid4().hex[:8]}"
    unit = windows.plain_create(principal, _fields(name), datetime.now(UTC))
    assert unit is not None
    holder, release = _hold_the_write_lock(db)

    async def run() -> tuple[int, bool]:
        future = writer.run(unit)
        ticks = 0
        while ticks < 20:  # the loop keeps running while the write waits for the lock
            await asyncio.sleep(0.005)
            ticks += 1
        waiting = not future.done()
        release.set()
        await future
        return ticks, waiting

    ticks, waiting = asyncio.run(run())
    holder.join(10)
    assert (ticks, waiting, _windows_named(db, name)) == (20, True, [name])


def test_a_lock_held_past_the_lock_timeout_fails_the_unit_and_writes_nothing(
        db: Database, principal: Principal) -> None:
    """The writer waits for another writer's lock as long as the engine's ``busy_timeout``
    (``DbTimeouts.lock_ms``), asking again and again, and no longer."""
    if not LoopWriter.usable(db):
        pytest.skip("the loop writer is for SQLite files")
    impatient = Database(db.url, DbTimeouts(lock_ms=150))
    writer = LoopWriter(impatient)
    name = f"t{uuid.uuid4().hex[:8]}"
    unit = windows.plain_create(principal, _fields(name), datetime.now(UTC))
    assert unit is not None
    holder, release = _hold_the_write_lock(db)

    async def run() -> BaseException | None:
        try:
            await writer.run(unit)
        except sqlite3.OperationalError as exc:
            return exc
        finally:
            release.set()
        return None

    try:
        failed = asyncio.run(run())
    finally:
        release.set()
        holder.join(10)
        writer.close()
        impatient.dispose()
    assert (isinstance(failed, sqlite3.OperationalError), _windows_named(db, name)) == (
        True, [])
    assert getattr(failed, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


def test_a_unit_past_its_deadline_is_refused_and_not_written(
        db: Database, writer: LoopWriter, principal: Principal) -> None:
    name = f"d{uuid.uuid4().hex[:8]}"
    unit = windows.plain_create(principal, _fields(name), datetime.now(UTC))
    assert unit is not None

    async def run() -> BaseException | None:
        with write_deadline(-1):
            future = writer.run(unit)
        try:
            await future
        except Unavailable as exc:
            return exc
        return None

    assert (type(asyncio.run(run())), _windows_named(db, name)) == (Unavailable, [])


def test_plain_create_refuses_what_create_window_refuses(principal: Principal) -> None:
    now = datetime.now(UTC)
    ended = OnceSchedule(now - timedelta(hours=2), now - timedelta(hours=1))
    with pytest.raises(ValidationError) as caught:
        windows.plain_create(principal, _fields("x", schedule=ended), now)
    assert caught.value.field == "schedule.end"
    needs_lookup = [_fields("x", groups=("web",)), _fields("x", notify_channels=("ops",))]
    assert [windows.plain_create(principal, f, now) for f in needs_lookup] == [None, None]


def _stored(db: Database, window_id: int) -> dict[str, Any]:
    """Every row a create wrote for ``window_id``, without what differs between two
    creates (ids, names, instants of the request)."""
    with db.read() as session:
        row = session.get(WindowRow, window_id)
        assert row is not None
        columns = {c.name: getattr(row, c.key) for c in WindowRow.__table__.columns
                   if c.name not in ("id", "name", "targets", "created_at", "updated_at",
                                     "first_start", "last_end")}
        job = session.get(WindowJobRow, window_id)
        assert job is not None
        targets = list(session.scalars(select(WindowTargetRow.target)
                                       .where(WindowTargetRow.window_id == window_id)))
        entry = session.scalars(select(AuditRow).where(
            AuditRow.object_id == str(window_id), AuditRow.object_type == "window")).one()
        return {"window": columns, "targets": sorted(targets),
                "job": (job.workspace_id, job.done_until, job.next_due_at),
                "audit": (entry.workspace_id, entry.at, entry.action, entry.actor,
                          entry.object_type, entry.before, entry.after)}


@pytest.mark.parametrize("extra", [
    {},
    {"description": "d", "match": (ConditionGroup((Matcher("env", MatcherOp.EQ, "prod"),)),)},
    {"schedule": RecurringSchedule(timezone="Europe/Paris", rule=SimpleRule(
        every="weekly", days_of_week=("mon",)), start_time=datetime(2026, 1, 1, 2).time(),
        duration=timedelta(hours=1))},
    {"targets": ("service:b", "host:a", "service:c")},
    {"targets": (), "all_targets": True},
], ids=["once", "match", "recurring", "three-targets", "all-targets"])
def test_a_plain_create_stores_what_create_window_stores(
        db: Database, writer: LoopWriter, principal: Principal, extra: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    fields = _fields(f"p{uuid.uuid4().hex[:8]}", **extra)
    unit = windows.plain_create(principal, fields, now)
    assert unit is not None
    heard: list[Any] = []
    db.subscribe(heard.append)

    async def run() -> Any:
        return await writer.run(unit)

    plain = asyncio.run(run())
    with db.transaction() as session:
        routed = windows.create_window(session, principal, fields, now)
    assert _stored(db, plain.id) == _stored(db, routed.id)
    # The same event as the session's create, its record and window with the new id.
    mine = next(e for e in heard if getattr(e, "window_id", None) == plain.id)
    theirs = next(e for e in heard if getattr(e, "window_id", None) == routed.id)
    assert (mine.record, mine.window, mine.action) == (plain, plain.to_window(), "created")
    assert (theirs.record, theirs.window) == (routed, routed.to_window())
    assert window_to_json(plain, now) | {"id": 0} == window_to_json(routed, now) | {"id": 0}
    # The answer: the response model's JSON, encoded as it is when it has the model's shape.
    assert answer(plain, now) == _PUBLIC.dump_json(_PUBLIC.validate_python(
        window_to_json(plain, now)))


def test_many_creates_at_once_are_all_written(db: Database, writer: LoopWriter,
                                              principal: Principal) -> None:
    """More creates at once than a group takes (256): every one written, ids distinct."""
    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:8]
    names = [f"m{tag}-{i:03}" for i in range(300)]

    async def run() -> list[Any]:
        units = [windows.plain_create(principal, _fields(n), now) for n in names]
        return await asyncio.gather(*(writer.run(u) for u in units if u is not None))

    groups = writer.groups
    records = asyncio.run(run())
    assert (len({r.id for r in records}), _windows_named(db, *names),
            writer.groups - groups) == (300, names, 2)


def test_submit_answers_in_the_commits_own_turn(db: Database, writer: LoopWriter,
                                                principal: Principal) -> None:
    """``submit``'s callback comes right after the commit and the index, in the writer's
    turn of the loop (no further turn), each with its own result or error, in one group with
    units of ``run``."""
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    heard: list[int] = []
    db.subscribe(lambda event: heard.append(getattr(event, "window_id", -1)))

    def broken(tx: RawTx) -> None:
        tx.execute("INSERT INTO no_such_table VALUES (1)")

    async def run() -> tuple[list[Any], Any, int]:
        got: list[Any] = []
        turns = [0]

        def done(result: Any, error: BaseException | None) -> None:
            got.append((turns[0], result.fields.name if result else None,
                        type(error).__name__ if error else None,
                        result is not None and result.id in heard))

        def tick() -> None:
            turns[0] += 1
            asyncio.get_running_loop().call_soon(tick)

        asyncio.get_running_loop().call_soon(tick)
        groups = writer.groups
        first = windows.plain_create(principal, _fields(f"s{tag}-1"), now)
        second = windows.plain_create(principal, _fields(f"s{tag}-2"), now)
        assert first is not None
        assert second is not None
        writer.submit(first, None, done)
        writer.submit(broken, None, done)
        via_run = writer.run(second)
        record = await via_run
        return got, record.fields.name, writer.groups - groups

    got, via_run, groups = asyncio.run(run())
    assert (got, via_run, groups) == (
        [(1, f"s{tag}-1", None, True), (1, None, "OperationalError", False)], f"s{tag}-2", 1)
    assert _windows_named(db, f"s{tag}-1", f"s{tag}-2") == [f"s{tag}-1", f"s{tag}-2"]


def test_submit_after_close_and_pending_at_close_are_refused(db: Database,
                                                             principal: Principal) -> None:
    if not LoopWriter.usable(db):
        pytest.skip("the loop writer is for SQLite files")
    name = f"c{uuid.uuid4().hex[:8]}"
    unit = windows.plain_create(principal, _fields(name), datetime.now(UTC))
    assert unit is not None
    got: list[Any] = []

    async def run() -> None:
        writer = LoopWriter(db)
        writer.submit(unit, None, lambda r, e: got.append((r, type(e).__name__)))
        writer.close()  # before the writer's turn: nothing of it written
        writer.submit(unit, None, lambda r, e: got.append((r, type(e).__name__)))
        await asyncio.sleep(0)

    asyncio.run(run())
    assert (got, _windows_named(db, name)) == ([(None, "Unavailable")] * 2, [])


def test_a_failing_callback_does_not_stop_the_others(db: Database, writer: LoopWriter,
                                                     principal: Principal) -> None:
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    got: list[str] = []

    def fails(_result: Any, _error: BaseException | None) -> None:
        raise RuntimeError("boom")

    async def run() -> None:
        first = windows.plain_create(principal, _fields(f"f{tag}-1"), now)
        second = windows.plain_create(principal, _fields(f"f{tag}-2"), now)
        assert first is not None
        assert second is not None
        writer.submit(first, None, fails)
        writer.submit(second, None, lambda r, e: got.append(r.fields.name))
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(run())
    assert got == [f"f{tag}-2"]
    assert _windows_named(db, f"f{tag}-1", f"f{tag}-2") == [f"f{tag}-1", f"f{tag}-2"]
