"""PagerTree shapes ↔ quietly windows (``to_fields``, ``to_changes``, ``from_record``).

A PagerTree window is one-time, covers integrations (``integration:<id>`` targets) and drops
their incoming requests (effect ``drop``). The zone name exactly as sent (a Rails name such as
"Eastern Time (US & Canada)") is kept in ``vendor["pagertree"]["time_zone"]`` and echoed back;
the schedule stores its IANA equivalent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from quietly.compat.pagertree.schemas import MaintenanceWindowCreate, MaintenanceWindowUpdate
from quietly.compat.pagertree.zones import resolve_zone
from quietly.core import lifecycle, schedule
from quietly.core.codec import check_instant_range
from quietly.core.errors import ValidationError
from quietly.core.model import Effect, Occurrence, OnceSchedule
from quietly.core.records import WindowFields, WindowRecord
from quietly.core.timeutil import get_zone, to_utc

__all__ = ["ORIGIN", "fits", "from_record", "to_changes", "to_fields"]

ORIGIN = "pagertree"
PREFIX = "integration:"


# Far-off dates overflow schedule arithmetic (datetime's year 1..9999) and mean nothing for a
# maintenance window; refuse them with a message rather than fail.
def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_datetime(value: str, zone: str, field: str) -> datetime:
    """Read a date-time as Rails' ``Time.zone.parse`` would: an offset wins, else ``zone``.

    Accepts ISO 8601 with or without ``T``, seconds, fraction or offset, and a bare date
    (midnight). Anything else is "is not a valid datetime".
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a valid datetime", field=field) from exc
    if parsed.tzinfo is None:
        return check_instant_range(to_utc(parsed, zone), field)
    return check_instant_range(parsed.astimezone(UTC), field)


def _integration_targets(ids: list[str | int], field: str) -> tuple[str, ...]:
    cleaned = [str(i).strip() for i in ids]
    if not cleaned or any(not i for i in cleaned):
        raise ValidationError("can't be blank: name at least 1 integration", field=field)
    return tuple(PREFIX + i for i in dict.fromkeys(cleaned))


def _vendor(record_vendor: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Merge PagerTree's own extras (zone name as sent, id order) into the vendor dict."""
    mine = dict(record_vendor.get(ORIGIN) or {})
    mine.update(extra)
    return {**record_vendor, ORIGIN: mine}


def to_fields(body: MaintenanceWindowCreate) -> WindowFields:
    """A create request → the fields of a new window; Rails-style blank checks first."""
    for name in ("name", "start_datetime", "end_datetime", "time_zone"):
        if _blank(getattr(body, name)):
            raise ValidationError("can't be blank", field=name)
    zone = resolve_zone(body.time_zone)
    targets = _integration_targets(body.integration_ids, "integration_ids")
    return WindowFields(
        name=body.name.strip(),
        description=body.description,
        schedule=OnceSchedule(
            start=parse_datetime(body.start_datetime, zone, "start_datetime"),
            end=parse_datetime(body.end_datetime, zone, "end_datetime"),
            timezone=zone),
        targets=targets,
        effects=(Effect.DROP,),
        origin=ORIGIN,
        vendor=_vendor({}, time_zone=body.time_zone.strip(),
                       integration_ids=[t[len(PREFIX):] for t in targets]),
    )


def _new_schedule(body: MaintenanceWindowUpdate, current: WindowRecord,
                  zone: str) -> OnceSchedule | None:
    """The one-time schedule a PUT asks for, or None when it changes no time attribute."""
    sched = current.fields.schedule
    if body.start_datetime is None and body.end_datetime is None:
        if body.time_zone is None or not isinstance(sched, OnceSchedule):
            return None
        # Changing only the zone keeps the instants, as a Rails datetime column does.
        return OnceSchedule(sched.start, sched.end, zone)
    if not isinstance(sched, OnceSchedule) and None in (body.start_datetime,
                                                        body.end_datetime):
        missing = "end_datetime" if body.end_datetime is None else "start_datetime"
        raise ValidationError("can't be blank: this window recurs, so a PUT that moves it "
                              "needs both start_datetime and end_datetime", field=missing)
    start = parse_datetime(body.start_datetime, zone, "start_datetime") \
        if body.start_datetime is not None else sched.start  # type: ignore[union-attr]
    end = parse_datetime(body.end_datetime, zone, "end_datetime") \
        if body.end_datetime is not None else sched.end  # type: ignore[union-attr]
    return OnceSchedule(start, end, zone)


def to_changes(body: MaintenanceWindowUpdate, current: WindowRecord,
               default_zone: str) -> dict[str, Any]:
    """A PUT → the changes for ``services.windows.update_window`` (absent attributes stay)."""
    given = body.model_fields_set
    for name in ("name", "start_datetime", "end_datetime", "time_zone"):
        if name in given and _blank(getattr(body, name)):
            raise ValidationError("can't be blank", field=name)
    changes: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    if body.name is not None:
        changes["name"] = body.name.strip()
    if "description" in given:
        changes["description"] = body.description
    if "integration_ids" in given:
        new_targets = _integration_targets(body.integration_ids or [], "integration_ids")
        # Targets PagerTree cannot see (a native window's services, say) are kept.
        kept = tuple(t for t in current.fields.targets if not t.startswith(PREFIX))
        changes["targets"] = kept + new_targets
        extras["integration_ids"] = [t[len(PREFIX):] for t in new_targets]
    zone_name = body.time_zone if body.time_zone is not None else display_zone(current,
                                                                              default_zone)
    zone = resolve_zone(zone_name)
    new_schedule = _new_schedule(body, current, zone)
    if new_schedule is not None:
        changes["schedule"] = new_schedule
    if body.time_zone is not None:
        extras["time_zone"] = body.time_zone.strip()
    if extras:
        changes["vendor"] = _vendor(current.fields.vendor, **extras)
    return changes


def fits(record: WindowRecord) -> bool:
    """PagerTree shows the windows that cover at least one integration."""
    return any(t.startswith(PREFIX) for t in record.fields.targets)


def display_zone(record: WindowRecord, default_zone: str) -> str:
    """The zone name as the caller sent it, while it still names the schedule's zone."""
    sched_zone = record.fields.schedule.timezone or default_zone
    given = record.fields.vendor.get(ORIGIN, {}).get("time_zone")
    if isinstance(given, str):
        try:
            if resolve_zone(given) == sched_zone:
                return given
        except ValidationError:
            pass
    return sched_zone


def _shown_occurrence(record: WindowRecord, now: datetime) -> Occurrence:
    """The interval PagerTree shows: the schedule itself when one-time, else the running or
    next occurrence, else the first one (a recurring window made natively)."""
    sched = record.fields.schedule
    if isinstance(sched, OnceSchedule):
        return Occurrence(sched.start, sched.end)
    window = record.to_window()
    found = lifecycle.current_occurrence(window, now) or lifecycle.next_occurrence(window, now)
    first = schedule.next_occurrence(sched, datetime(1970, 1, 1, tzinfo=UTC))
    return found or first or Occurrence(record.created_at, record.created_at)


def _rails_time(value: datetime, zone: str) -> str:
    """Rails' JSON for a time: ISO 8601 with milliseconds, in the zone, ``Z`` for UTC."""
    text = value.astimezone(get_zone(zone)).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def from_record(record: WindowRecord, now: datetime, default_zone: str) -> dict[str, Any]:
    """A stored window in PagerTree's shape (integration ids in the order they were sent)."""
    shown = _shown_occurrence(record, now)
    zone = record.fields.schedule.timezone or default_zone
    ids = sorted(t[len(PREFIX):] for t in record.fields.targets if t.startswith(PREFIX))
    sent = record.fields.vendor.get(ORIGIN, {}).get("integration_ids")
    if isinstance(sent, list) and sorted(sent) == ids:
        ids = list(sent)  # the order they were sent in, while the set is unchanged
    return {
        "id": record.id,
        "name": record.fields.name,
        "description": record.fields.description,
        "start_datetime": _rails_time(shown.start, zone),
        "end_datetime": _rails_time(shown.end, zone),
        "time_zone": display_zone(record, default_zone),
        "integration_ids": ids,
        "created_at": _rails_time(record.created_at, "UTC"),
        "updated_at": _rails_time(record.updated_at, "UTC"),
    }
