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
import sqlite3
from collections.abc import Callable, Sequence
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


def insert_window_params(conn: Any, params: list[list[Any]]) -> None:
    """Insert new windows' rows given as ``window_encoder``'s parameters (SQLite only), as
    ``insert_rows`` inserts them: one ``executemany`` per run of rows with the same None
    columns, each without them."""
    _sqlite_execute(conn, _sqlite_plan(WindowRow.__table__, CREATED_COLUMNS), params)


# The rows beside a new window (its targets, its worker job, its create audit entry) as one
# statement each reading a JSON array with ``json_each`` (SQLite's JSON functions are built
# in from 3.38): ``sqlite3``'s ``executemany`` binds, steps and resets the statement once a
# row, about half of these small rows' insert; here SQLite walks the array itself. The
# values are those ``insert_values`` binds (ids, ``sqlite_instant`` integers, the texts), so
# the rows stored are the same, value and type (``tests/storage/test_side_rows.py`` stores
# both ways and compares); each function says False, having written nothing, when its rows
# are not of the form it takes, and the caller then inserts them with ``insert_values``.
JSON_ROWS = sqlite3.sqlite_version_info >= (3, 38, 0)

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
    if not JSON_ROWS:
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
    if not JSON_ROWS or not _consecutive(ids):
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
    if not JSON_ROWS or not ids:
        return False
    text = _array(list(ids))
    if text is None:
        return False
    driver_execute(conn, _AUDIT, (workspace_id, at, actor, "create", "window", text))
    return True
