"""Reading every live window into the decision index, fast (issue 19).

Start-up (and a reload after an outage) puts every live window into the index. Through the
ORM (``windows.load_all_windows``: a ``WindowRow`` per window, then a ``WindowRecord`` with
every field, then a ``Window``, then an entry) that took most of a 50,000-window start. Here
one Core statement reads only the columns decisions need, with no result processing (JSON as
text, instants as the driver gives them), and each row becomes an ``Entry`` directly:

- texts that repeat from window to window (effects, group lists, condition groups) are
  decoded once per distinct text, and equal condition groups share one compiled form;
- a one-time window's interval is its two instants, cut at its cancellation;
- a recurring window is filed *pending* and expanded afterwards, in the background
  (``DecisionIndex.expand``): until then the rules answer for it, exactly.

What comes out is what ``Entry.of(record.to_window())`` gives for the same row (the tests
compare both on every kind of window, on SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from quietly.core import lifecycle
from quietly.core.codec import match_from_json, schedule_from_json
from quietly.core.entries import Entry, Names, names
from quietly.core.intervals import instant, micros
from quietly.core.matching import CompiledGroup, compile_groups
from quietly.core.model import ConditionGroup, Effect, RecurringSchedule, Verdict
from quietly.storage.tables import WindowRow
from quietly.storage.types import SQLiteInstant, micros_from_sqlite

__all__ = ["read_entries"]

_T = WindowRow.__table__
_RAW = NullType()  # no result processing: the driver's value as it is


def _statement() -> Any:
    c = _T.c
    return (
        select(c.id, c.workspace_id, type_coerce(c.updated_at, _RAW),
               type_coerce(c.cancelled_at, _RAW), type_coerce(c.all_targets, _RAW),
               cast(c.schedule, Text), cast(c.targets, Text), cast(c.groups, Text),
               cast(c.match, Text), cast(c.effects, Text))
        .where(c.archived_at.is_(None))
        .order_by(c.id)
    )


def _stored_micros(value: datetime | SQLiteInstant | None) -> int | None:
    """An instant column as the driver gives it (SQLite: the stored form,
    ``storage.types.sqlite_instant``; PostgreSQL: an aware datetime), in microseconds since
    the epoch."""
    if isinstance(value, datetime):
        return micros(value)
    return micros_from_sqlite(value)


def _json_micros(value: str) -> int:
    """An RFC 3339 instant of a schedule's JSON in microseconds since the epoch."""
    found = datetime.fromisoformat(value)
    return micros(found if found.tzinfo is not None else found.replace(tzinfo=UTC))


def _target_list(text: str) -> list[str]:
    """A stored target list, ``["kind:id", "kind:id"]`` (or without the spaces, as the bulk
    create writes it), split without a JSON parse: with no backslash in the text no string
    in it holds an escaped quote, so its quotes only delimit the names — whatever the
    spacing around the commas. Anything else (an escape) goes through ``json.loads``."""
    if text.startswith('["') and text.endswith('"]') and "\\" not in text:
        return text.split('"')[1::2]
    loaded: list[str] = json.loads(text)
    return loaded


class _Decoder:
    """Row values to entry parts, decoding each distinct repeated text once."""

    def __init__(self) -> None:
        self._verdicts: dict[str, Verdict] = {}
        self._groups: dict[str, Names] = {"[]": ()}
        self._matches: dict[str, tuple[tuple[ConditionGroup, ...],
                                       tuple[CompiledGroup, ...]]] = {"[]": ((), ())}

    def verdict(self, text: str) -> Verdict:
        found = self._verdicts.get(text)
        if found is None:
            effects = [Effect(e) for e in json.loads(text)]
            found = self._verdicts[text] = lifecycle.strongest_verdict(effects)
        return found

    def groups(self, text: str) -> Names:
        found = self._groups.get(text)
        if found is None:
            found = self._groups[text] = names(json.loads(text))
        return found

    def match(self, text: str) -> tuple[tuple[ConditionGroup, ...], tuple[CompiledGroup, ...]]:
        found = self._matches.get(text)
        if found is None:
            match = match_from_json(json.loads(text))
            found = self._matches[text] = (match, tuple(compile_groups(match)))
        return found

    def entry(self, row: Any) -> Entry:
        wid, _, updated, cancelled, all_targets, schedule, targets, groups, match, effects = row
        targets_of = names(_target_list(targets)) if targets != "[]" else ()
        match_of, compiled = self.match(match)
        scope = (targets_of, self.groups(groups), bool(all_targets), match_of, compiled)
        version = _stored_micros(updated)
        cut = _stored_micros(cancelled)
        data = json.loads(schedule)
        verdict = self.verdict(effects)
        if data["kind"] == "once":
            return Entry.once(wid, version, verdict, scope, _json_micros(data["start"]),
                              _json_micros(data["end"]), cut)
        data["timezone"] = sys.intern(data["timezone"])
        recurring = schedule_from_json(data)
        assert isinstance(recurring, RecurringSchedule)
        return Entry.recurring(wid, version, verdict, scope, recurring,
                               None if cut is None else instant(cut))


def read_entries(db: Session) -> dict[int, list[Entry]]:
    """Every live (not archived) window as a compact index entry, by workspace id, in id
    order; recurring ones pending (see the module docstring)."""
    decoder = _Decoder()
    out: dict[int, list[Entry]] = {}
    for row in db.execute(_statement()):
        workspace_id = row[1]
        found = out.get(workspace_id)
        if found is None:
            found = out[workspace_id] = []
        found.append(decoder.entry(row))
    return out
