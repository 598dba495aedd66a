"""The native JSON of a window (API responses, the audit log's before/after, exports)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from quietly.core import lifecycle, schedule
from quietly.core.codec import format_instant, match_to_json, schedule_to_json
from quietly.core.model import Occurrence, OnceSchedule, State
from quietly.core.records import WindowFields, WindowRecord

__all__ = ["managed_by", "occurrence_to_json", "window_to_json"]


def managed_by(source: str | None, key: str | None) -> dict[str, str] | None:
    """``{"source", "key"}`` of an object an apply manages; None for one made by hand."""
    if source is None or key is None:
        return None
    return {"source": source, "key": key}


def occurrence_to_json(occurrence: Occurrence | None) -> dict[str, str] | None:
    if occurrence is None:
        return None
    return {"start": format_instant(occurrence.start), "end": format_instant(occurrence.end)}


def _instant(value: datetime | None) -> str | None:
    return format_instant(value) if value else None


def window_to_json(record: WindowRecord, now: datetime) -> dict[str, Any]:
    """Every field of the window, plus its state and occurrences as of ``now``."""
    f = record.fields
    once = f.schedule
    if type(once) is OnceSchedule and once.start.tzinfo is UTC and once.end.tzinfo is UTC \
            and record.cancelled_at is None and record.archived_at is None:
        return _once_to_json(record, once, now)
    return _any_to_json(record, now)


def _any_to_json(record: WindowRecord, now: datetime) -> dict[str, Any]:
    """``window_to_json`` of any window, its state and occurrences asked of ``lifecycle``."""
    f = record.fields
    window = record.to_window()
    # lifecycle.state_at asks for these two: asked once, the state read from them as it does.
    current = lifecycle.current_occurrence(window, now)
    following = lifecycle.next_occurrence(window, now)
    if window.cancelled_at is not None and window.cancelled_at <= now:
        state = State.CANCELLED
    else:
        state = State.ACTIVE if current is not None else State.SCHEDULED \
            if following is not None else State.COMPLETED
    return {
        "id": record.id,
        "name": f.name,
        "description": f.description,
        "schedule": schedule_to_json(f.schedule),
        **_fields_json(f),
        "state": state.value,
        "current_occurrence": occurrence_to_json(current),
        "next_occurrence": occurrence_to_json(following),
        "human_schedule": schedule.human_schedule(f.schedule),
        "created_by": record.created_by,
        "created_at": _instant(record.created_at),
        "updated_at": _instant(record.updated_at),
        "cancelled_at": _instant(record.cancelled_at),
        "archived_at": _instant(record.archived_at),
    }


def _once_to_json(record: WindowRecord, once: OnceSchedule, now: datetime) -> dict[str, Any]:
    """``window_to_json`` of a one-time window in UTC, neither cancelled nor archived (what
    every create answers), read straight off its two instants: its one occurrence is
    ``[start, end)``, current while it contains ``now``, next when it starts at or after
    ``now`` (both at ``start``), and each instant is formatted once
    (``tests/services/test_window_json.py`` holds the two readings equal)."""
    f = record.fields
    start, end = once.start, once.end
    start_text, end_text = _utc_text(start), _utc_text(end)
    current = {"start": start_text, "end": end_text} if start <= now < end else None
    following = {"start": start_text, "end": end_text} if start >= now else None
    state = _ACTIVE if current is not None else _SCHEDULED if following is not None \
        else _COMPLETED
    created_at = _utc_text(record.created_at)
    updated_at = created_at if record.updated_at is record.created_at \
        else _utc_text(record.updated_at)
    return {
        "id": record.id,
        "name": f.name,
        "description": f.description,
        "schedule": {"kind": "once", "start": start_text, "end": end_text,
                     "timezone": once.timezone},
        **_fields_json(f),
        "state": state,
        "current_occurrence": current,
        "next_occurrence": following,
        "human_schedule": schedule.human_schedule(once),
        "created_by": record.created_by,
        "created_at": created_at,
        "updated_at": updated_at,
        "cancelled_at": None,
        "archived_at": None,
    }


def _fields_json(f: WindowFields) -> dict[str, Any]:
    """The members of a window's JSON between its schedule and its state, in order."""
    return {
        "targets": sorted(f.targets),
        "groups": sorted(f.groups),
        "match": match_to_json(f.match),
        "all_targets": f.all_targets,
        "effects": [e.value for e in f.effects],
        "notify_channels": list(f.notify_channels),
        "notify_start_minutes_before": f.notify_start_minutes_before,
        "notify_end_minutes_before": f.notify_end_minutes_before,
        "notification_message": f.notification_message,
        "resolve_on_end": f.resolve_on_end,
        "reroute_on_end": f.reroute_on_end,
        "escalation_targets": list(f.escalation_targets),
        "incident_id": f.incident_id,
        "lead": f.lead,
        "publish_to_status_page": f.publish_to_status_page,
        "show_in_sidebar": f.show_in_sidebar,
        "origin": f.origin,
        "key": f.key,
        "managed_by": managed_by(f.managed_source, f.key),
    }


def _utc_text(value: datetime) -> str:
    """``format_instant(value)``; an instant in ``datetime.UTC`` written by msgspec's encoder,
    the same text for a fifth of the cost (``storage.mappers.schedule_columns`` does the same;
    ``tests/services/test_stored_form.py``)."""
    if value.tzinfo is UTC:
        return _ENCODE(value)[1:-1].decode()
    return format_instant(value)


_ENCODE = msgspec.json.Encoder().encode
_ACTIVE, _SCHEDULED, _COMPLETED = (State.ACTIVE.value, State.SCHEDULED.value,
                                   State.COMPLETED.value)
