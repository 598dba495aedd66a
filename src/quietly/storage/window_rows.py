"""A new window's row on SQLite in one pass: ``fields_to_columns`` and the insert's row
encoder (``storage.bulk``) fused, for the bulk create.

``insert_rows`` of ``fields_to_columns`` builds a 34-key dict a window, then reads it back
key by key through a generated encoder calling a function for each JSON, instant and
boolean column. Here one generated function of the window's fields gives its parameters
straight away, in the statement's order, each encoded as ``insert_rows`` encodes it (the
same function for each column where one is called; empty lists, the effects and the
condition groups of a window without any written as their constant text). The batch's
shared values (workspace, author, the request's ``now``) are encoded once, by the caller.
``tests/storage/test_window_rows.py`` holds the parameters equal to ``insert_rows``' for any
fields.
"""

from __future__ import annotations

import functools
import operator
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import msgspec

from quietly.core.codec import match_to_json
from quietly.core.model import Effect, OnceSchedule, Schedule
from quietly.core.records import WindowFields
from quietly.storage.bulk import (
    _bool_int,
    _json_text,
    _sqlite_execute,
    _sqlite_plan,
    driver_execute,
)
from quietly.storage.mappers import _effect_values, schedule_columns
from quietly.storage.tables import WindowRow
from quietly.storage.types import sqlite_instant

__all__ = [
    "CREATED_COLUMNS",
    "JSON_ROWS",
    "WindowRowEncoder",
    "insert_create_audit_json",
    "insert_jobs_json",
    "insert_targets_json",
    "insert_window_params",
    "is_plain",
    "plain_params",
    "window_encoder",
]

# The columns a new window's row is inserted with: every column but ``cancelled_at`` and
# ``archived_at`` (None for a new window: left out, the row stores NULL either way, as
# ``insert_rows`` leaves them out).
CREATED_COLUMNS = frozenset(c.name for c in WindowRow.__table__.c) - {"cancelled_at",
                                                                      "archived_at"}

def _bool(value: str) -> str:
    """A boolean column's expression: ``_bool_int``'s answer, inline for ``True`` and
    ``False`` (five calls a window saved)."""
    return f"(1 if {value} is True else 0 if {value} is False else _b({value}))"


# Each column as an expression of ``f`` (the fields), ``id_``, ``first``, ``last``,
# ``state`` and the batch's encoded ``ws``, ``by``, ``created``, ``updated``.
_EXPRESSIONS = {
    "id": "id_",
    "workspace_id": "ws",
    "name": "f.name",
    "description": "f.description",
    "schedule": "_schedule_text(f.schedule)",
    "targets": "_json(sorted(set(f.targets)) if len(f.targets) > 1 else list(f.targets))",
    "groups": "_json(sorted(set(f.groups))) if f.groups else '[]'",
    "match": "_json(_match(f.match)) if f.match else '[]'",
    "all_targets": _bool("f.all_targets"),
    "effects": "_effects(f.effects)",
    "notify_channels": "_json(list(f.notify_channels)) if f.notify_channels else '[]'",
    "notify_start_minutes_before": "f.notify_start_minutes_before",
    "notify_end_minutes_before": "f.notify_end_minutes_before",
    "notification_message": "f.notification_message",
    "resolve_on_end": _bool("f.resolve_on_end"),
    "reroute_on_end": _bool("f.reroute_on_end"),
    "escalation_targets": ("_json(list(f.escalation_targets)) if f.escalation_targets "
                           "else '[]'"),
    "incident_id": "f.incident_id",
    "lead": "'null' if f.lead is None else _json(f.lead)",
    "publish_to_status_page": _bool("f.publish_to_status_page"),
    "show_in_sidebar": _bool("f.show_in_sidebar"),
    "origin": "f.origin",
    "vendor": "'{}' if f.vendor.__class__ is dict and not f.vendor else _json(f.vendor)",
    "parent_id": "f.parent_id",
    "key": "f.key",
    "managed_source": "f.managed_source",
    "state": "state",
    "first_start": "_instant(first)",
    "last_end": "_instant(last)",
    "created_by": "by",
    "created_at": "created",
    "updated_at": "updated",
}

WindowRowEncoder = Callable[[WindowFields, int, datetime | None, datetime | None, str, int, Any,
                             int | None, int | None], list[Any]]


def _schedule_text(schedule: Schedule) -> str:
    """``_json_text(schedule_columns(schedule))``: a one-time schedule in ``datetime.UTC``
    encoded in one msgspec call, instants included (``schedule_columns`` encodes each
    instant with the same encoder, then the dict of their texts: the same text, as an
    instant's text needs no escape)."""
    if type(schedule) is OnceSchedule and schedule.start.tzinfo is UTC \
            and schedule.end.tzinfo is UTC:
        try:
            return _ENCODE({"kind": "once", "start": schedule.start, "end": schedule.end,
                            "timezone": schedule.timezone}).decode()
        except (UnicodeEncodeError, TypeError):
            pass
    return _json_text(schedule_columns(schedule))


_ENCODE = msgspec.json.Encoder().encode


def _effects(effects: tuple[Effect, ...]) -> str:
    """The effects column's text, remembered for each tuple seen (a few dozen at most)."""
    text = _EFFECTS_TEXT.get(effects)
    if text is None:
        text = _EFFECTS_TEXT.setdefault(effects, _json_text(list(_effect_values(effects))))
    return text


_EFFECTS_TEXT: dict[tuple[Effect, ...], str] = {}


@functools.cache
def window_encoder() -> WindowRowEncoder:
    """``encode(fields, id_, first, last, state, ws, by, created, updated)``: the encoded
    parameters of a new window's row in the order of ``insert_window_params``' statement;
    ``created`` and ``updated`` are already encoded (``sqlite_instant``), ``ws`` and ``by``
    bound as they are."""
    plan = _sqlite_plan(WindowRow.__table__, CREATED_COLUMNS)
    items = ", ".join(_EXPRESSIONS[name] for name in plan._order)
    source = (f"def encode(f, id_, first, last, state, ws, by, created, updated):\n"
              f"    return [{items}]\n")
    namespace: dict[str, Any] = {
        "_json": _json_text, "_schedule_text": _schedule_text, "_match": match_to_json,
        "_b": _bool_int, "_effects": _effects, "_instant": sqlite_instant}
    exec(source, namespace)  # noqa: S102 - the text is built above from constants only
    encode: WindowRowEncoder = namespace["encode"]
    return encode


def insert_window_params(conn: Any, params: list[list[Any] | tuple[Any, ...]]) -> None:
    """Insert new windows' rows given as ``window_encoder``'s parameters (lists) or
    ``plain_params``' (tuples), SQLite only, as ``insert_rows`` inserts them, in order: the
    lists one ``executemany`` per run of rows with the same None columns, each without them;
    the tuples one per run with or without a description (``_plain_sql``)."""
    plan = _sqlite_plan(WindowRow.__table__, CREATED_COLUMNS)
    first = 0
    for i in range(1, len(params) + 1):
        if i < len(params) and _kind(params[i]) == _kind(params[first]):
            continue
        run, kind = params[first:i], _kind(params[first])
        if kind == _GENERAL:
            _sqlite_execute(conn, plan, run)  # type: ignore[arg-type]
        else:
            driver_execute(conn, _plain_sql(kind == _PLAIN_DESCRIBED), run, many=True)
        first = i


_GENERAL, _PLAIN_DESCRIBED, _PLAIN = 0, 1, 2


def _kind(params: list[Any] | tuple[Any, ...]) -> int:
    if params.__class__ is list:
        return _GENERAL
    return _PLAIN_DESCRIBED if len(params) == len(_PLAIN_PARAMS) else _PLAIN


# A plain window: every field but its name, description, one-time schedule and targets at
# its default (a common create's, ``create_fastpath.common_fields``; most windows of a bulk
# create). Its row's other columns are the same for every such window, so its insert names
# them as literals (their text as ``window_encoder`` gives it for such a window) and binds
# only what differs: a third of the parameters, no search for None columns.
# ``tests/storage/test_window_rows.py`` stores plain rows both ways and compares.
_PLAIN_FIELDS = tuple(f for f in WindowFields.__dataclass_fields__
                      if f not in ("name", "description", "schedule", "targets"))
_plain_rest = operator.attrgetter(*_PLAIN_FIELDS)
_PLAIN_REST = _plain_rest(WindowFields(name="", schedule=OnceSchedule(
    datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC))))


def is_plain(f: WindowFields) -> bool:
    """Whether ``plain_params`` may encode ``f``'s row: a one-time schedule, every field
    but the name, description, schedule and targets equal to its default (the vendor an
    empty ``dict``, as ``window_encoder`` tests it)."""
    return f.schedule.__class__ is OnceSchedule and _plain_rest(f) == _PLAIN_REST \
        and f.vendor.__class__ is dict
# The bound columns, in this order (``description`` left out, NULL, when None).
_PLAIN_PARAMS = ("id", "workspace_id", "name", "description", "schedule", "targets", "state",
                 "first_start", "last_end", "created_by", "created_at", "updated_at")


def plain_params(f: WindowFields, id_: int, first: datetime, last: datetime, state: str,
                 ws: int, by: Any, created: int | None, updated: int | None
                 ) -> tuple[Any, ...]:
    """``window_encoder()``'s parameters of a plain window (``is_plain(f)``) for
    ``_plain_sql``'s statement: the columns of ``_PLAIN_PARAMS``, each encoded as
    ``window_encoder`` encodes it."""
    targets = f.targets
    text = _json_text(sorted(set(targets)) if len(targets) > 1 else list(targets))
    if f.description is None:
        return (id_, ws, f.name, _schedule_text(f.schedule), text, state, _instant(first),
                _instant(last), by, created, updated)
    return (id_, ws, f.name, f.description, _schedule_text(f.schedule), text, state,
            _instant(first), _instant(last), by, created, updated)


def _instant(value: datetime) -> int | None:
    """``sqlite_instant`` of an instant, without its check for a naive one when it is in
    ``datetime.UTC`` (the derived columns of a one-time window always are): the same
    integer, ``(value - epoch) // 1 µs`` written out (``timedelta`` floor division makes
    and divides big integers)."""
    if value.tzinfo is UTC:
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return sqlite_instant(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@functools.cache
def _plain_sql(described: bool) -> str:
    """The insert of a plain window's row: ``_PLAIN_PARAMS`` bound (``description`` only
    when ``described``), every other column of ``CREATED_COLUMNS`` a literal: its value
    in the parameters ``window_encoder`` gives a plain window (None: left out, NULL)."""
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC)
    template = WindowFields(name="n", schedule=OnceSchedule(start, end))
    assert is_plain(template)
    plan = _sqlite_plan(WindowRow.__table__, CREATED_COLUMNS)
    values = dict(zip(plan._order, window_encoder()(
        template, 1, start, end, "scheduled", 1, "a", 0, 0), strict=True))
    names = [n for n in _PLAIN_PARAMS if described or n != "description"]
    literals = {n: v for n, v in values.items() if n not in _PLAIN_PARAMS and v is not None}
    columns = names + sorted(literals)
    text = ", ".join(["?"] * len(names) + [_literal(literals[n]) for n in sorted(literals)])
    quoted = ", ".join(f'"{n}"' for n in columns)
    # Column names and literals from the table and the encoder, no caller's text.
    return f"INSERT INTO windows ({quoted}) VALUES ({text})"  # noqa: S608


def _literal(value: Any) -> str:
    """An SQL literal of ``value`` (an integer or a text), stored as binding it stores it
    (the column's affinity applies to both alike)."""
    if value.__class__ is int:
        return str(value)
    assert value.__class__ is str, value
    return "'" + value.replace("'", "''") + "'"


# The rows beside a new window (its targets, its worker job, its create audit entry) as one
# statement each reading a JSON array with ``json_each`` (SQLite's JSON functions are built
# in from 3.38 unless a build leaves them out: ``_json_functions`` asks). ``sqlite3``'s
# ``executemany`` binds, steps and resets the statement once a row, about half of these
# small rows' insert; here SQLite walks the array itself. The values are those
# ``insert_values`` binds (ids, ``sqlite_instant`` integers, the texts), so the rows stored
# are the same, value and type (``tests/storage/test_side_rows.py`` stores both ways and
# compares); each function says False, having written nothing, when its rows are not of
# the form it takes, and the caller then inserts them with ``insert_values``.
JSON_ROWS = sqlite3.sqlite_version_info >= (3, 38, 0)


@functools.cache
def _json_functions() -> bool:
    """Whether the SQLite library has the JSON functions (a build may leave them out), asked
    once, of a throwaway in-memory database, at the first bulk create."""
    try:
        with closing(sqlite3.connect(":memory:")) as probe:
            row = probe.execute("SELECT ? + key, value ->> 1 FROM json_each(?)",
                                (1, '[[1, "a"]]')).fetchone()
    except sqlite3.Error:
        return False
    return bool(row == (1, "a"))


def _json_rows() -> bool:
    return JSON_ROWS and _json_functions()

_TARGETS_ONE_EACH = ("INSERT INTO window_targets (window_id, target, workspace_id) "
                     "SELECT ? + key, value, ? FROM json_each(?)")
_TARGETS_PAIRS = ("INSERT INTO window_targets (window_id, target, workspace_id) "
                  "SELECT value ->> 0, value ->> 1, ? FROM json_each(?)")
_JOBS = ("INSERT INTO window_jobs (window_id, workspace_id, done_until, next_due_at) "
         "SELECT ? + key, ?, value, ? FROM json_each(?)")
_AUDIT = ("INSERT INTO audit_log (workspace_id, at, actor, action, object_type, object_id) "
          "SELECT ?, ?, ?, ?, ?, CAST(value AS TEXT) FROM json_each(?)")
# Far below SQLite's longest text (10^9 bytes): a batch's arrays are a few MB at most.
_MAX_TEXT = 100_000_000


def _consecutive(ids: Sequence[int]) -> bool:
    """``ids`` are ``first, first + 1, …`` (a bulk create's, ``windows._new_window_ids``)."""
    return bool(ids) and ids[-1] - ids[0] == len(ids) - 1 \
        and list(ids) == list(range(ids[0], ids[0] + len(ids)))


def _array(values: list[Any]) -> str | None:
    """``values`` as a JSON array SQLite reads back as exactly these values, or None: every
    string copied as it is (no escape: a backslash in the text would be one), integers as
    digits."""
    try:
        text = _ENCODE(values)
    except (UnicodeEncodeError, TypeError):
        return None  # a lone surrogate: the general path says what it says
    if b"\\" in text or len(text) > _MAX_TEXT:
        return None
    return text.decode()


def insert_targets_json(conn: Any, ids: Sequence[int], targets: Sequence[tuple[str, ...]],
                        workspace_id: int) -> bool:
    """``insert_values`` of the rows ``(id, target, workspace_id)`` for each target of each
    window (``targets[i]`` are the targets of window ``ids[i]``), in that order, on SQLite;
    False (nothing written) when a target needs an escape in JSON. One target a window
    (most windows) with consecutive ids is the shortest array: the targets alone."""
    if not _json_rows():
        return False
    if all(len(names) == 1 for names in targets) and _consecutive(ids):
        text = _array([names[0] for names in targets])
        if text is None:
            return False
        driver_execute(conn, _TARGETS_ONE_EACH, (ids[0], workspace_id, text))
        return True
    text = _array([(window_id, target) for window_id, names in zip(ids, targets, strict=True)
                   for target in names])
    if text is None:
        return False
    if text != "[]":
        driver_execute(conn, _TARGETS_PAIRS, (workspace_id, text))
    return True


def insert_jobs_json(conn: Any, ids: Sequence[int], workspace_id: int,
                     done_until: list[int | None], due: int | None) -> bool:
    """``insert_values`` of the jobs ``(ids[i], workspace_id, done_until[i], due)`` (all
    encoded already, ``sqlite_instant``), on SQLite; False (nothing written) when the ids
    are not consecutive."""
    if not _json_rows() or not _consecutive(ids):
        return False
    text = _array(done_until)
    if text is None:
        return False
    driver_execute(conn, _JOBS, (ids[0], workspace_id, due, text))
    return True


def insert_create_audit_json(conn: Any, ids: Sequence[int], workspace_id: int,
                             at: int | None, actor: str) -> bool:
    """``insert_values`` of the create audit entries ``(workspace_id, at, actor, "create",
    "window", str(id))`` of windows ``ids`` (``at`` encoded already), in that order, on
    SQLite; False (nothing written) if it cannot."""
    if not _json_rows() or not ids:
        return False
    text = _array(list(ids))
    if text is None:
        return False
    driver_execute(conn, _AUDIT, (workspace_id, at, actor, "create", "window", text))
    return True
