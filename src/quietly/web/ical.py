"""Windows as an RFC 5545 calendar: what calendar apps show is what quietly suppresses.

- A one-time window is one VEVENT, in its own zone when it has one, else in UTC.
- A recurring RRULE or simple-form window is one VEVENT with ``RRULE`` and ``DTSTART;TZID``
  (the VTIMEZONE comes from ``add_missing_timezones()``). DTSTART is the first real occurrence
  (RFC 5545 leaves a DTSTART that the rule does not produce undefined). A wall-clock end is
  ``DTEND`` in the same zone; an elapsed duration is ``DURATION``.
- Cancellation cuts the series (DESIGN §2): an open-ended rule gets ``UNTIL`` just before the
  cut; a rule with ``COUNT`` (which RFC 5545 forbids combining with UNTIL) gets an ``EXDATE``
  for every occurrence from the cut on. The occurrence running at the cut is overridden
  (``RECURRENCE-ID``) to end at the cut.
- ``DURATION:PT3H`` is elapsed time in RFC 5545, but many clients add it on the wall clock.
  Occurrences within the feed horizon whose wall-clock end would differ (a DST change inside
  them) are pinned with a ``RECURRENCE-ID`` override carrying the exact end.
- cron cannot be written as an RRULE (cron's own DST rules, OR of day fields): a cron window is
  emitted as one VEVENT per occurrence within the feed horizon (31 days back, 400 ahead).
- Deleted windows and one-time windows cancelled before they started are left out.

- A wall-clock window that collapses to zero length on a DST day (02:30-03:30 in Berlin on
  the spring change) has no occurrence in quietly; within the feed horizon such instances get
  an ``EXDATE`` so that calendars do not show them either.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from quietly.core import lifecycle
from quietly.core import schedule as sched
from quietly.core.codec import match_from_json, parse_instant, schedule_from_json
from quietly.core.model import (
    CronRule,
    Effect,
    Occurrence,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
)
from quietly.core.records import WindowFields, WindowRecord
from quietly.core.schedule.compiled import parsed_rule, rrule_limits, wall_span
from quietly.core.schedule.rules import simple_rule_body
from quietly.core.timeutil import get_zone, to_local, to_utc
from quietly.web.vtimezone import vtimezone

__all__ = ["HORIZON_AHEAD", "HORIZON_BACK", "FeedHorizon", "build_calendar", "calendar_from_json",
           "record_from_json", "window_events", "write_ics"]

# Zones icalendar writes as UTC values (``…Z``), which need no VTIMEZONE.
_WRITTEN_AS_UTC = {"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"}
HORIZON_BACK = timedelta(days=31)
HORIZON_AHEAD = timedelta(days=400)
PRODID = "-//quietly//maintenance windows//EN"


@dataclass(frozen=True, slots=True)
class FeedHorizon:
    """The range that occurrence-by-occurrence parts of the feed (cron, overrides) cover."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, now: datetime) -> FeedHorizon:
        return cls(now - HORIZON_BACK, now + HORIZON_AHEAD)


def _written(instant: datetime, zone: ZoneInfo | timezone) -> datetime:
    """``instant`` as the feed writes it: local time in ``zone``, or UTC (``…Z``) when that local
    time would be read as another instant (the second pass through a fold: RFC 5545 reads an
    ambiguous local time as its first instant)."""
    local = instant.astimezone(zone)
    if not isinstance(zone, ZoneInfo) or to_utc(local.replace(tzinfo=None), zone) == instant:
        return local
    return instant.astimezone(UTC)


def _uid(record: WindowRecord, suffix: str = "") -> str:
    return f"window-{record.id}{suffix}@quietly"


class _ExactDuration(icalendar.vDuration):
    """A DURATION in hours, minutes and seconds only (``PT25H``, not ``P1DT1H``).

    RFC 5545 §3.3.6: a day in a DURATION is nominal (23 or 25 hours across a DST change), an
    hour exact. quietly's durations are elapsed time.
    """

    def to_ical(self) -> bytes:
        hours, rest = divmod(int(self.td.total_seconds()), 3600)
        minutes, seconds = divmod(rest, 60)
        text = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
        return f"PT{text}{f'{seconds}S' if seconds or not text else ''}".encode()


def _base_event(record: WindowRecord, now: datetime, uid: str) -> icalendar.Event:
    f = record.fields
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC).replace(microsecond=0))
    event.add("last-modified", record.updated_at.astimezone(UTC).replace(microsecond=0))
    event.add("summary", f.name)
    scope = [*sorted(f.targets), *(f"group:{g}" for g in sorted(f.groups))]
    if f.all_targets:
        scope.insert(0, "all targets")
    lines = [f.description] if f.description else []
    lines.append("Schedule: " + sched.human_schedule(f.schedule))
    if scope:
        lines.append("Covers: " + ", ".join(scope))
    event.add("description", "\n".join(lines))
    event.add("categories", ["maintenance"])
    event.add("transp", "TRANSPARENT")
    return event


def _once_event(record: WindowRecord, now: datetime) -> icalendar.Event | None:
    schedule = record.fields.schedule
    assert isinstance(schedule, OnceSchedule)
    window = record.to_window()
    cut = lifecycle.cut_off(window)
    end = schedule.end if cut is None else min(schedule.end, cut)
    if end <= schedule.start:
        return None  # cancelled or deleted before it began: nothing was ever suppressed
    # Without a zone of its own the window is written in UTC (``…Z``), needing no VTIMEZONE.
    zone = get_zone(schedule.timezone) if schedule.timezone else UTC
    event = _base_event(record, now, _uid(record))
    event.add("dtstart", _written(schedule.start, zone))
    event.add("dtend", _written(end, zone))
    return event


def _cron_events(record: WindowRecord, now: datetime,
                 horizon: FeedHorizon) -> list[icalendar.Event]:
    """One event per occurrence in the horizon; the UID names the occurrence's UTC start."""
    schedule = record.fields.schedule
    assert isinstance(schedule, RecurringSchedule)
    zone = get_zone(schedule.timezone)
    events = []
    for occ in lifecycle.window_occurrences(record.to_window(), horizon.start, horizon.end):
        event = _base_event(record, now, _uid(record, f"-{occ.start:%Y%m%dT%H%M%SZ}"))
        event.add("dtstart", _written(occ.start, zone))
        event.add("dtend", _written(occ.end, zone))
        events.append(event)
    return events


def _rule_parts(schedule: RecurringSchedule) -> tuple[dict[str, str], datetime | None, int | None]:
    """The RRULE body without COUNT/UNTIL, and the effective until (naive local, or a UTC
    instant for ``UNTIL=…Z``) and count.

    The schedule's own ``until``/``count`` and the body's are combined exactly as the
    expansion does (``rrule_limits``), so the feed cannot disagree with the decisions.
    """
    rule = schedule.rule
    body = rule.rrule if isinstance(rule, RRuleRule) else simple_rule_body(rule)  # type: ignore[arg-type]
    parts: dict[str, str] = {}
    for raw in body.strip().removeprefix("RRULE:").split(";"):
        key, _, value = raw.strip().partition("=")
        if key and key.upper() not in ("COUNT", "UNTIL"):
            parts[key.strip().upper()] = value.strip().upper()
    if (parts.get("FREQ") == "YEARLY" and "BYMONTHDAY" in parts
            and not {"BYMONTH", "BYWEEKNO", "BYYEARDAY"} & parts.keys()):
        # quietly reads a yearly BYMONTHDAY without BYMONTH as every month's day (as dateutil
        # does); libical-based clients take the month from DTSTART. Spell the months out.
        parts["BYMONTH"] = ",".join(str(month) for month in range(1, 13))
    until, count = rrule_limits(schedule, parsed_rule(schedule))
    return parts, until, count


def _first_start_local(schedule: RecurringSchedule) -> datetime | None:
    """DTSTART: the local date of the first occurrence at the rule's wall-clock start time."""
    first_day = schedule.starts_on or date(2000, 1, 1)
    earliest = datetime.combine(first_day - timedelta(days=2), time(), tzinfo=UTC)
    first = sched.next_occurrence(schedule, earliest)
    if first is None or schedule.start_time is None:
        return None
    local_day = to_local(first.start, schedule.timezone).date()
    return datetime.combine(local_day, schedule.start_time.replace(microsecond=0))


def _wall_start(schedule: RecurringSchedule, occ: Occurrence) -> datetime:
    """The naive wall-clock start the rule gave ``occ``.

    A start in a DST gap is read later on the same local date (02:30 → 03:30), so the date of
    the local start plus ``start_time`` gives back the rule's instance (RECURRENCE-ID).
    """
    assert schedule.start_time is not None
    day = to_local(occ.start, schedule.timezone).date()
    return datetime.combine(day, schedule.start_time.replace(microsecond=0))


def _series_overrides(schedule: RecurringSchedule, cut: datetime | None,
                      horizon: FeedHorizon) -> dict[datetime, datetime]:
    """Naive wall starts → exact UTC ends for instances a plain RRULE reader would get wrong.

    A DURATION is exact, but a client adding it on the wall clock errs across a DST change. A
    wall-clock end is written as DTEND one wall span after DTSTART, and RFC 5545 gives every
    instance that exact length: wrong for the instances a DST change lengthens or shortens.
    """
    overrides: dict[datetime, datetime] = {}
    for occ in sched.occurrences(schedule, horizon.start, horizon.end):
        if cut is not None and occ.start >= cut:
            break
        wall = _wall_start(schedule, occ)
        if schedule.duration is not None:
            wrong = to_utc(wall + schedule.duration, schedule.timezone) != occ.end
        else:
            assert schedule.start_time is not None
            assert schedule.end_time is not None
            wrong = occ.end - occ.start != wall_span(schedule.start_time, schedule.end_time)
        if wrong:
            overrides[wall] = occ.end
    if cut is not None:
        running = sched.current_occurrence(schedule, cut)
        if running is not None and running.start < cut:
            overrides[_wall_start(schedule, running)] = min(running.end, cut)
    return overrides


def _collapsed(schedule: RecurringSchedule, horizon: FeedHorizon) -> list[datetime]:
    """Rule instances (naive wall starts) in the horizon that end where they start.

    Only a wall-clock end can do that: a start in a DST gap is read with the offset before the
    gap (later), and an end time just after the gap can then land on the same instant. The
    instances come from the expansion itself, so the feed excludes exactly what it drops.
    """
    if schedule.end_time is None or schedule.start_time is None:
        return []
    compiled = sched.compile_schedule(schedule)
    return [local for _, local in compiled.collapsed_starts(horizon.start, horizon.end)]


def _cut_series(schedule: RecurringSchedule, cut: datetime | None,
                horizon: FeedHorizon) -> tuple[dict[str, str], list[datetime]]:
    """The RRULE parts with UNTIL/COUNT, and the EXDATEs (cancellation, collapsed days).

    RFC 5545 forbids COUNT with UNTIL, so a counted rule is cut with EXDATEs (finite: at most
    COUNT of them) and an open one with UNTIL one second before the cut.
    """
    zone = get_zone(schedule.timezone)
    parts, until, count = _rule_parts(schedule)
    until_utc = None
    if until is not None:  # a wall-clock bound is read in the zone; UNTIL=…Z is an instant
        until_utc = until if until.tzinfo is not None else to_utc(until, zone)
        until_utc = until_utc.replace(microsecond=0)
    exdates = [local.replace(tzinfo=zone) for local in _collapsed(schedule, horizon)]
    if cut is not None and count is None:
        last = cut - timedelta(seconds=1)
        until_utc = last if until_utc is None else min(until_utc, last)
    elif cut is not None:
        far = cut + timedelta(days=366 * 200)
        exdates += [to_local(o.start, zone)
                    for o in sched.occurrences(schedule, cut, far, limit=count or 1)
                    if o.start >= cut]
    if until_utc is not None:
        parts["UNTIL"] = until_utc.strftime("%Y%m%dT%H%M%SZ")
    if count is not None:
        parts["COUNT"] = str(count)
    return parts, sorted(set(exdates))


def _series_events(record: WindowRecord, now: datetime,
                   horizon: FeedHorizon) -> list[icalendar.Event]:
    schedule = record.fields.schedule
    assert isinstance(schedule, RecurringSchedule)
    assert schedule.start_time is not None
    zone = get_zone(schedule.timezone)
    cut = lifecycle.cut_off(record.to_window())
    dtstart = _first_start_local(schedule)
    if dtstart is None or (cut is not None and to_utc(dtstart, zone) >= cut):
        return []
    parts, exdates = _cut_series(schedule, cut, horizon)
    event = _base_event(record, now, _uid(record))
    event.add("dtstart", dtstart.replace(tzinfo=zone))
    if schedule.duration is not None:
        event.add("duration", _ExactDuration(schedule.duration))
    else:  # every instance lasts DTEND - DTSTART exactly (RFC 5545): the nominal wall span
        assert schedule.end_time is not None
        span = wall_span(schedule.start_time, schedule.end_time)
        event.add("dtend", _written(to_utc(dtstart, zone) + span, zone))
    event.add("rrule", icalendar.vRecur.from_ical(";".join(f"{k}={v}" for k, v in parts.items())))
    for excluded in exdates:
        event.add("exdate", excluded)
    events = [event]
    for wall, end in sorted(_series_overrides(schedule, cut, horizon).items()):
        override = _base_event(record, now, _uid(record))
        override.add("recurrence-id", wall.replace(tzinfo=zone))
        override.add("dtstart", wall.replace(tzinfo=zone))
        override.add("dtend", _written(end, zone))
        events.append(override)
    return events


def window_events(record: WindowRecord, now: datetime,
                  horizon: FeedHorizon | None = None) -> list[icalendar.Event]:
    """The VEVENTs of one window (none for deleted windows or ones that never ran)."""
    if record.archived_at is not None and record.archived_at <= now:
        return []
    horizon = horizon or FeedHorizon.around(now)
    schedule = record.fields.schedule
    if isinstance(schedule, OnceSchedule):
        event = _once_event(record, now)
        return [event] if event is not None else []
    if isinstance(schedule.rule, CronRule):
        return _cron_events(record, now, horizon)
    return _series_events(record, now, horizon)


def build_calendar(records: Iterable[WindowRecord], now: datetime, *, name: str,
                   horizon: FeedHorizon | None = None) -> bytes:
    """Serialise ``records`` as one VCALENDAR (with VTIMEZONEs for every zone used)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    zones: set[str] = set()
    events: list[icalendar.Event] = []
    for record in records:
        made = window_events(record, now, horizon)
        zone = record.fields.schedule.timezone
        if made and zone is not None:
            zones.add(zone)
        events += made
    for name in sorted(zones - _WRITTEN_AS_UTC):
        cal.add_component(vtimezone(name))
    for event in events:
        cal.add_component(event)
    data: Any = cal.to_ical()
    return bytes(data)


def _instant(value: str | None) -> datetime | None:
    return parse_instant(value) if value else None


def record_from_json(data: dict[str, Any]) -> WindowRecord:
    """A window as the native API shows it → the record the feed is built from.

    Only what the calendar uses is read (schedule, scope, name, description, audit instants).
    """
    fields = WindowFields(
        name=data["name"], description=data.get("description"),
        schedule=schedule_from_json(data["schedule"]),
        targets=tuple(data.get("targets") or ()), groups=tuple(data.get("groups") or ()),
        match=match_from_json(data.get("match") or []),
        all_targets=bool(data.get("all_targets")),
        effects=tuple(Effect(e) for e in data.get("effects") or ["mute"]))
    created = parse_instant(data["created_at"])
    return WindowRecord(id=int(data["id"]), workspace_id=0, fields=fields,
                        created_by=data.get("created_by"), created_at=created,
                        updated_at=_instant(data.get("updated_at")) or created,
                        cancelled_at=_instant(data.get("cancelled_at")),
                        archived_at=_instant(data.get("archived_at")))


def calendar_from_json(windows: Iterable[dict[str, Any]], now: datetime, *,
                       name: str = "quietly maintenance windows") -> bytes:
    """The iCalendar of windows in the native API's JSON (``quietly export --ics``)."""
    return build_calendar([record_from_json(w) for w in windows], now, name=name)


def write_ics(body: bytes, output: Path | None) -> None:
    """Write a calendar to ``output`` or standard output, as bytes (lines end in CRLF).

    An unwritable file exits with status 2 and says why, like the CLI's other commands.
    """
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(body)
    except OSError as exc:
        print(f"error: --output: cannot write {output}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(2) from exc
    print(f"exported an iCalendar of {body.count(b'BEGIN:VEVENT')} events to {output}",
          file=sys.stderr)
