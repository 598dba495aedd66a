"""``storage.window_rows``: a new window's row built in one pass from its fields equals the
row ``insert_rows`` builds from ``fields_to_columns`` (the bulk create's general path, still
PostgreSQL's), parameter for parameter and, stored, value and SQL type; and the bulk
create's record of the fields without their columns (``windows._stored_fields``) is
``_as_stored``'s."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, text

from quietly.core.model import (
    ConditionGroup,
    Effect,
    Matcher,
    MatcherOp,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    SimpleRule,
)
from quietly.core.records import WindowFields
from quietly.services.windows import _as_stored, _stored_fields
from quietly.storage.bulk import _sqlite_plan, insert_rows
from quietly.storage.db import Database
from quietly.storage.mappers import fields_to_columns
from quietly.storage.tables import WindowRow
from quietly.storage.types import sqlite_instant
from quietly.storage.window_rows import (
    CREATED_COLUMNS,
    _instant,
    _plain_sql,
    insert_window_params,
    is_plain,
    plain_params,
    window_encoder,
)
from tests.storage.helpers import (
    drop_workspaces,
    new_workspaces,
    next_window_id,
    stored_windows,
)

TABLE: Any = WindowRow.__table__
_BASE = datetime(2031, 6, 1, 22, 0, 0, 123456, tzinfo=UTC)

_instants = st.builds(
    lambda minutes, micros, zone: (_BASE + timedelta(minutes=minutes, microseconds=micros)
                                   ).astimezone(zone),
    st.integers(-10**6, 10**6), st.sampled_from([0, 1, 999_999]),
    st.sampled_from([UTC, ZoneInfo("UTC"), ZoneInfo("Europe/Berlin"),
                     timezone(timedelta(hours=-3, minutes=-30))]))
_once = st.builds(OnceSchedule, _instants, _instants,
                  st.sampled_from([None, "Europe/Berlin", "UTC"]))
_recurring = st.sampled_from([
    RecurringSchedule(timezone="Europe/Berlin", rule=SimpleRule(every="weekly",
                                                                days_of_week=("tue",)),
                      start_time=time(22, 0), end_time=time(2, 0), starts_on=date(2031, 1, 1)),
    RecurringSchedule(timezone="UTC", rule=RRuleRule("FREQ=DAILY"), start_time=time(1, 30),
                      duration=timedelta(hours=1), starts_on=date(2031, 1, 1), count=5),
])
_storable = st.one_of(st.text(max_size=6), st.sampled_from(["service:a", "service:b", "é"]))
# A lone surrogate: JSON columns take msgspec's refusal path (a text column cannot store it).
_words = st.one_of(_storable, st.just("lone \ud800 surrogate"))
_match = st.sampled_from([(), (ConditionGroup((
    Matcher("env", MatcherOp.ONE_OF, values=("a", "b")), Matcher("team", MatcherOp.EQ,
                                                                 value="x"))),)])
_documents = st.one_of(st.just({}), st.dictionaries(st.text(max_size=3), st.one_of(
    st.integers(), st.text(max_size=3), st.none()), max_size=2))


def _fields(words: st.SearchStrategy[str]) -> st.SearchStrategy[WindowFields]:
    maybe_text = st.one_of(st.none(), words)
    return st.builds(
        WindowFields,
        name=words, schedule=st.one_of(_once, _recurring), description=maybe_text,
        targets=st.lists(words, max_size=4).map(tuple),
        groups=st.lists(words, max_size=3).map(tuple), match=_match,
        all_targets=st.booleans(),
        effects=st.lists(st.sampled_from(Effect), max_size=3).map(tuple),
        notify_channels=st.lists(st.one_of(words, st.integers(0, 9)), max_size=2).map(tuple),
        notify_start_minutes_before=st.one_of(st.none(), st.integers(0, 600)),
        notify_end_minutes_before=st.one_of(st.none(), st.integers(0, 600)),
        notification_message=maybe_text, resolve_on_end=st.booleans(),
        reroute_on_end=st.booleans(),
        escalation_targets=st.lists(words, max_size=2).map(tuple),
        incident_id=maybe_text, lead=st.one_of(st.none(), _documents),
        publish_to_status_page=st.booleans(), show_in_sidebar=st.booleans(),
        origin=st.sampled_from(["native", "pagertree"]), vendor=_documents,
        parent_id=st.one_of(st.none(), st.integers(1, 10**12)), key=maybe_text,
        managed_source=maybe_text)


fields_strategy = _fields(_words)
_derived = st.tuples(st.one_of(st.none(), _instants), st.one_of(st.none(), _instants),
                     st.sampled_from(["scheduled", "active", "completed"]))


def _general(fields: WindowFields, window_id: int, first: datetime | None,
             last: datetime | None, state: str, now: datetime) -> dict[str, Any]:
    """The parameters ``insert_rows`` binds for the row ``_new_window`` builds, by name."""
    columns = fields_to_columns(fields)
    columns.update(id=window_id, workspace_id=3, created_by="key:k", created_at=now,
                   updated_at=now, cancelled_at=None, archived_at=None, first_start=first,
                   last_end=last, state=state)
    plan = _sqlite_plan(TABLE, frozenset(columns))
    return dict(zip(plan._order, plan.encode(columns), strict=True))


def _typed(params: dict[str, Any]) -> dict[str, tuple[type, Any]]:
    return {name: (type(value), value) for name, value in params.items()}


@settings(max_examples=400, deadline=None)
@given(fields=fields_strategy, window_id=st.integers(1, 10**12), derived=_derived,
       now=_instants)
def test_the_fused_row_is_the_row_insert_rows_binds(
        fields: WindowFields, window_id: int,
        derived: tuple[datetime | None, datetime | None, str], now: datetime) -> None:
    first, last, state = derived
    stamp = sqlite_instant(now)
    fused = window_encoder()(fields, window_id, first, last, state, 3, "key:k", stamp, stamp)
    order = _sqlite_plan(TABLE, CREATED_COLUMNS)._order
    general = _general(fields, window_id, first, last, state, now)
    # cancelled_at and archived_at: None, left out of the statement by both.
    assert (general.pop("cancelled_at"), general.pop("archived_at")) == (None, None)
    assert _typed(dict(zip(order, fused, strict=True))) == _typed(general)


@settings(max_examples=400, deadline=None)
@given(fields=fields_strategy)
def test_the_stored_fields_without_columns_are_as_stored(fields: WindowFields) -> None:
    assert _stored_fields(fields) == _as_stored(fields, fields_to_columns(fields))


@pytest.mark.parametrize("targets", [(), ("a",), ("a", "b"), ("b", "a"), ("a", "a"),
                                     ("a", "b", "b")])
def test_stored_fields_table(targets: tuple[str, ...]) -> None:
    fields = WindowFields(name="w", schedule=OnceSchedule(_BASE, _BASE + timedelta(hours=1)),
                          targets=targets, groups=targets)
    stored = _stored_fields(fields)
    assert stored.targets == stored.groups == tuple(sorted(set(targets)))
    assert (stored is fields) == (list(targets) == sorted(set(targets)))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(_fields(_storable), _derived), min_size=1, max_size=8),
       now=_instants)
def test_the_stored_rows_are_insert_rows_rows(
        db: Database, batch: list[tuple[WindowFields, Any]], now: datetime) -> None:
    """Stored through each path into the windows table: equal rows, value and SQL type, the
    ids apart (runs of rows with differing None columns included)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the fused row is SQLite's")
    # Two workspaces (a key is unique within one); the rows name workspaces that exist
    # (the foreign key); parent_id names no window (deferred foreign keys).
    made = new_workspaces(db, "rows", now)
    fused_ws, general_ws = made
    batch = [(f if f.key is None else f.with_changes(key=f"k{i}"), derived)  # unique keys
             for i, (f, derived) in enumerate(batch)]
    stamp = sqlite_instant(now)
    encode = window_encoder()
    try:
        with db.transaction() as session:
            conn = session.connection()
            session.execute(text("PRAGMA defer_foreign_keys = ON"))
            first_id = next_window_id(conn)
            n = len(batch)
            insert_window_params(conn, [
                encode(f, first_id + i, a, b, s, fused_ws, "key:k", stamp, stamp)
                for i, (f, (a, b, s)) in enumerate(batch)])
            rows = []
            for i, (f, (a, b, s)) in enumerate(batch):
                columns = fields_to_columns(f)
                columns.update(id=first_id + n + i, workspace_id=general_ws,
                               created_by="key:k", created_at=now, updated_at=now,
                               cancelled_at=None, archived_at=None, first_start=a, last_end=b,
                               state=s)
                rows.append(columns)
            insert_rows(conn, TABLE, rows)
            stored = stored_windows(conn, first_id)
            assert [r[0] for r in stored] == [fused_ws] * n + [general_ws] * n
            assert [r[2:] for r in stored[:n]] == [r[2:] for r in stored[n:]]
            session.execute(delete(TABLE).where(TABLE.c.id >= first_id))
    finally:
        drop_workspaces(db, made)


# Plain windows (``window_rows.is_plain``): a name, perhaps a description, a one-time
# schedule and targets, everything else at its default; and near misses, one field off its
# default (some by a value equal to the default: ``0`` for ``False``, which both paths store
# as 0), besides any fields at all.
_plain = st.builds(
    lambda name, description, schedule, targets: WindowFields(
        name=name, description=description, schedule=schedule, targets=targets),
    _storable, st.one_of(st.none(), _storable), _once,
    st.lists(_storable, max_size=4).map(tuple))
_NEAR = [{"all_targets": 0}, {"show_in_sidebar": 1}, {"resolve_on_end": True},
         {"effects": tuple(Effect)}, {"effects": ()},
         {"groups": ("g",)}, {"lead": {}}, {"vendor": {"a": 1}}, {"origin": "pagertree"},
         {"parent_id": 7}, {"key": "k"}, {"notify_start_minutes_before": 0},
         {"escalation_targets": ("service:x",)}, {"publish_to_status_page": True}]
_near = st.builds(lambda f, change: f.with_changes(**change), _plain, st.sampled_from(_NEAR))
_mixed = st.one_of(_plain, _plain, _near, _fields(_storable))


def test_plain_windows_are_told_apart() -> None:
    base = WindowFields(name="w", schedule=OnceSchedule(_BASE, _BASE + timedelta(hours=1)),
                        targets=("service:a",))
    assert is_plain(base)
    assert is_plain(base.with_changes(description="d", targets=()))
    for change in _NEAR:
        assert is_plain(base.with_changes(**change)) == (change in ({"all_targets": 0},
                                                                    {"show_in_sidebar": 1}))
    assert not is_plain(base.with_changes(vendor=MappingProxyType({})))


@settings(max_examples=300, deadline=None)
@given(fields=_plain, window_id=st.integers(1, 10**12), derived=_derived, now=_instants)
def test_the_plain_row_is_the_fused_row(
        fields: WindowFields, window_id: int,
        derived: tuple[datetime | None, datetime | None, str], now: datetime) -> None:
    """``plain_params`` and ``_plain_sql``'s literals give every column the fused row
    gives, value and type."""
    first, last, state = derived
    first, last = first or _BASE, last or _BASE
    stamp = sqlite_instant(now)
    fused = dict(zip(_sqlite_plan(TABLE, CREATED_COLUMNS)._order, window_encoder()(
        fields, window_id, first, last, state, 3, "key:k", stamp, stamp), strict=True))
    plain = plain_params(fields, window_id, first, last, state, 3, "key:k", stamp, stamp)
    sql = _plain_sql(fields.description is not None)
    names = [n.strip('"') for n in sql.split("(")[1].split(")")[0].split(", ")]
    literals = sql.split("VALUES (")[1].rstrip(")").split(", ")[len(plain):]
    given_ = dict(zip(names, plain, strict=False))
    assert _typed(given_) == _typed({n: fused[n] for n in given_})
    assert {n for n, v in fused.items() if v is not None} == set(names)
    assert len(literals) == len(names) - len(plain)


@settings(max_examples=400, deadline=None)
@given(at=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
       zone=st.sampled_from([UTC, ZoneInfo("UTC"), timezone(timedelta(hours=-3))]))
def test_the_quick_instant_is_sqlite_instant(at: datetime, zone: Any) -> None:
    value = at.replace(tzinfo=zone)
    assert _instant(value) == sqlite_instant(value)
    assert type(_instant(value)) is int


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(_mixed, _derived), min_size=1, max_size=8), now=_instants)
def test_plain_rows_are_stored_as_fused_rows(
        db: Database, batch: list[tuple[WindowFields, Any]], now: datetime) -> None:
    """A batch of plain windows, near misses and any windows, stored as the bulk create
    stores them (``plain_params`` where ``is_plain``, runs of each statement in order) and
    all by the fused encoder: equal rows, value and SQL type, ids apart."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plain row is SQLite's")
    made = new_workspaces(db, "plain", now)
    plain_ws, fused_ws = made
    batch = [(f if f.key is None else f.with_changes(key=f"k{i}"),
              (a or _BASE, b or _BASE, s) if is_plain(f) else (a, b, s))
             for i, (f, (a, b, s)) in enumerate(batch)]
    stamp = sqlite_instant(now)
    encode = window_encoder()
    try:
        with db.transaction() as session:
            conn = session.connection()
            session.execute(text("PRAGMA defer_foreign_keys = ON"))
            first_id = next_window_id(conn)
            n = len(batch)
            insert_window_params(conn, [
                plain_params(f, first_id + i, a, b, s, plain_ws, "key:k", stamp, stamp)
                if is_plain(f) else
                encode(f, first_id + i, a, b, s, plain_ws, "key:k", stamp, stamp)
                for i, (f, (a, b, s)) in enumerate(batch)])
            insert_window_params(conn, [
                encode(f, first_id + n + i, a, b, s, fused_ws, "key:k", stamp, stamp)
                for i, (f, (a, b, s)) in enumerate(batch)])
            stored = stored_windows(conn, first_id)
            assert [(r[0], r[1]) for r in stored] == (
                [(plain_ws, first_id + i) for i in range(n)]
                + [(fused_ws, first_id + n + i) for i in range(n)])
            assert [r[2:] for r in stored[:n]] == [r[2:] for r in stored[n:]]
            session.execute(delete(TABLE).where(TABLE.c.id >= first_id))
    finally:
        drop_workspaces(db, made)
