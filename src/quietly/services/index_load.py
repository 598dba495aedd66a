"""Reading every live window into the decision index, fast (issue 19).

Start-up (and a reload after an outage) puts every live window into the index. Through the
ORM (``windows.load_all_windows``: a ``WindowRow`` per window, then a ``WindowRecord`` with
every field, then a ``Window``, then an entry) that took most of a 50,000-window start. Here
one Core statement reads only the columns decisions need, with no result processing (JSON as
text, instants as the driver gives them), and each row becomes an ``Entry`` directly:

- JSON texts are decoded by msgspec (a tenth of ``json.loads``'s time on these small texts;
  ``json.loads`` takes over for anything msgspec refuses, so the result is what JSON says);
- texts that repeat from window to window (effects, group lists, condition groups, recurring
  schedules) are decoded once per distinct text, and equal condition groups share one
  compiled form;
- a one-time window's interval is its two instants, cut at its cancellation;
- a recurring window is filed *pending* and expanded afterwards, in the background
  (``DecisionIndex.expand``): until then the rules answer for it, exactly.

What comes out is what ``Entry.of(record.to_window())`` gives for the same row (the tests
compare both on every kind of window, on SQLite and PostgreSQL).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from quietly.core import lifecycle
from quietly.core.codec import match_from_json, schedule_from_json
from quietly.core.entries import Entry, Names, Scope, distinct_names, names
from quietly.core.intervals import instant, micros
from quietly.core.matching import CompiledGroup, compile_groups
from quietly.core.model import ConditionGroup, Effect, RecurringSchedule, Verdict
from quietly.storage.early_read import json_micros as _json_micros
from quietly.storage.early_read import loads as _loads
from quietly.storage.tables import WindowRow
from quietly.storage.types import SQLiteInstant, micros_from_sqlite

__all__ = ["entries_from_early", "read_entries"]

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


def _target_list(text: str) -> list[str]:
    """A stored target list, ``["kind:id", "kind:id"]`` with any spacing and escapes."""
    loaded: list[str] = _loads(text)
    return loaded


class _Decoder:
    """Row values to entry parts, decoding each distinct repeated text once."""

    def __init__(self) -> None:
        self._verdicts: dict[str, Verdict] = {}
        self._schedules: dict[str, RecurringSchedule] = {}
        self._groups: dict[str, Names] = {"[]": ()}
        self._matches: dict[str, tuple[tuple[ConditionGroup, ...],
                                       tuple[CompiledGroup, ...]]] = {"[]": ((), ())}

    def verdict(self, text: str) -> Verdict:
        found = self._verdicts.get(text)
        if found is None:
            effects = [Effect(e) for e in _loads(text)]
            found = self._verdicts[text] = lifecycle.strongest_verdict(effects)
        return found

    def groups(self, text: str) -> Names:
        found = self._groups.get(text)
        if found is None:
            found = self._groups[text] = names(_loads(text))
        return found

    def match(self, text: str) -> tuple[tuple[ConditionGroup, ...], tuple[CompiledGroup, ...]]:
        found = self._matches.get(text)
        if found is None:
            match = match_from_json(_loads(text))
            found = self._matches[text] = (match, tuple(compile_groups(match)))
        return found

    def scope(self, targets: Names, groups: str, all_targets: Any, match: str) -> Scope:
        match_of, compiled = self.match(match)
        return (targets, self.groups(groups), bool(all_targets), match_of, compiled)

    def entry(self, row: Any) -> Entry:
        wid, _, updated, cancelled, all_targets, schedule, targets, groups, match, effects = row
        targets_of = names(_target_list(targets)) if targets != "[]" else ()
        # (SQLite hands instants over as the stored integers: no call for those.)
        version = updated if type(updated) is int else _stored_micros(updated)
        cut = cancelled if cancelled is None or type(cancelled) is int \
            else _stored_micros(cancelled)
        verdict = self.verdict(effects)
        recurring = self._schedules.get(schedule)
        if recurring is None:
            data = _loads(schedule)
            if data["kind"] == "once":
                start, end = _json_micros(data["start"]), _json_micros(data["end"])
                if groups == "[]" and match == "[]" and not all_targets:
                    return Entry.once_on_targets(wid, version, verdict, targets_of, start,
                                                 end, cut)
                return Entry.once(wid, version, verdict, self.scope(
                    targets_of, groups, all_targets, match), start, end, cut)
            recurring = self.recurring(schedule, data)
        scope = self.scope(targets_of, groups, all_targets, match)
        return Entry.recurring(wid, version, verdict, scope, recurring,
                               None if cut is None else instant(cut))

    def recurring(self, text: str, data: dict[str, Any]) -> RecurringSchedule:
        """The schedule of a recurring window's stored ``text`` (decoded as ``data``), one
        object per distinct text (schedules are immutable; the index shares equal ones)."""
        data["timezone"] = sys.intern(data["timezone"])  # one string per zone, index-wide
        found = schedule_from_json(data)
        assert isinstance(found, RecurringSchedule)
        self._schedules[text] = found
        return found


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


def entries_from_early(windows: list[tuple[Any, ...]]) -> dict[int, list[Entry]]:
    """``read_entries`` of the rows a ``storage.early_read`` child read and pre-decoded
    (its three forms: every window's distinct target names, a one-time window's instants;
    groups, conditions and recurring schedules as stored, decoded here once per text)."""
    decoder = _Decoder()
    out: dict[int, list[Entry]] = {}
    verdict, scope, once = decoder.verdict, decoder.scope, Entry.once_on_targets
    schedules = decoder._schedules
    for row in windows:
        workspace_id = row[1]
        found = out.get(workspace_id)
        if found is None:
            found = out[workspace_id] = []
        wid, _, updated, cancelled, effects, targets = row[:6]
        version = updated if type(updated) is int else _stored_micros(updated)
        cut = cancelled if cancelled is None or type(cancelled) is int \
            else _stored_micros(cancelled)
        size = len(row)
        if size == _EARLY_ONCE:
            found.append(once(wid, version, verdict(effects), distinct_names(targets),
                              row[6], row[7], cut))
        elif size == _EARLY_SCOPED_ONCE:
            start, end, all_targets, groups, match = row[6:]
            found.append(Entry.once(wid, version, verdict(effects), scope(
                distinct_names(targets), groups, all_targets, match), start, end, cut))
        else:
            all_targets, groups, match, schedule = row[6:]
            recurring = schedules.get(schedule)
            if recurring is None:
                recurring = decoder.recurring(schedule, _loads(schedule))
            found.append(Entry.recurring(wid, version, verdict(effects), scope(
                distinct_names(targets), groups, all_targets, match), recurring,
                None if cut is None else instant(cut)))
    return out


# The lengths of early_read's forms of a one-time window on targets only, of any other
# one-time window (a recurring one's has ten items).
_EARLY_ONCE, _EARLY_SCOPED_ONCE = 8, 11
