"""What daylight saving does to each occurrence, in words, for the schedule preview.

The expansion already follows the one gap/fold policy (``timeutil.to_utc``, DESIGN §3); this
module only *explains* its effect beside each occurrence so that nothing happens silently:

- a start time that does not exist that day (a gap) is read with the offset before the gap,
  so it starts later on the wall clock: "02:30 does not exist … starts at 03:30";
- cron runs such a start right after the jump instead (Debian cron's rule);
- a start time that happens twice (a fold) starts at its first instant;
- a wall-clock end (``end_time``) makes an occurrence shorter or longer when the clocks
  change during it; a ``duration`` keeps the length and moves the wall-clock end;
- an occurrence that collapses to nothing is not produced: it is listed as dropped.

Wall-clock times in the notes are ``HH:MM`` (24-hour); the UI re-renders them in the
reader's habit. Pure: the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from quietly.core.model import CronRule, Occurrence, OnceSchedule, RecurringSchedule, Schedule
from quietly.core.schedule import compile_schedule
from quietly.core.schedule.compiled import wall_span
from quietly.core.schedule.human import format_duration
from quietly.core.schedule.rules import normalize_cron
from quietly.core.timeutil import get_zone, to_local, to_utc

__all__ = ["Change", "PreviewItem", "annotated_occurrences", "clock_change"]

_SECOND = timedelta(seconds=1)
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class PreviewItem:
    """One occurrence with its notes, or a dropped one (``occurrence`` None) and why.

    ``local_date`` is the date in the schedule's zone the rule asked for.
    """

    occurrence: Occurrence | None
    local_date: date
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    """A change of a zone's UTC offset at the UTC instant ``at``."""

    at: datetime
    before: timedelta
    after: timedelta

    @property
    def forward(self) -> bool:
        return self.after > self.before

    @property
    def wall(self) -> datetime:
        """The wall-clock time the change happens at, as the clocks showed it before."""
        return (self.at + self.before).replace(tzinfo=None)

    def text(self) -> str:
        """``clocks go forward 1 hour at 02:00`` (Lord Howe: ``30 minutes``)."""
        way = "forward" if self.forward else "back"
        return (f"clocks go {way} {format_duration(abs(self.after - self.before))} "
                f"at {_hhmm(self.wall)}")


def _hhmm(value: datetime | time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def clock_change(zone: ZoneInfo, start: datetime, end: datetime) -> Change | None:
    """Return the first change of ``zone``'s offset in ``(start, end]`` (to the second).

    Steps an hour at a time (no zone changes twice within an hour), then bisects.
    """
    before = _offset(zone, start)
    low = start
    while low < end:
        high = min(low + _HOUR, end)
        if _offset(zone, high) != before:
            while high - low > _SECOND:
                middle = low + timedelta(seconds=(high - low) // _SECOND // 2)
                if _offset(zone, middle) != before:
                    high = middle
                else:
                    low = middle
            return Change(high, before, _offset(zone, high))
        low = high
    return None


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    return to_local(to_utc(wall, zone), zone).replace(tzinfo=None) == wall


def _ambiguous(wall: datetime, zone: ZoneInfo) -> bool:
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    return _exists(wall, zone) and first.utcoffset() != second.utcoffset()


def _around(zone: ZoneInfo, instant: datetime) -> Change | None:
    """The change nearest before or at ``instant`` within a day (for gap and fold notes)."""
    return clock_change(zone, instant - timedelta(days=1), instant + timedelta(days=1))


def _start_note(zone: ZoneInfo, name: str, wall: datetime, utc: datetime) -> str | None:
    """RRULE and simple forms: a start in a gap or a fold (RFC 5545)."""
    if not _exists(wall, zone):
        change = _around(zone, utc)
        actual = to_local(utc, zone)
        why = f" ({change.text()})" if change else ""
        return (f"{_hhmm(wall)} does not exist that day in {name}{why}: "
                f"starts at {_hhmm(actual)}")
    if _ambiguous(wall, zone):
        change = _around(zone, utc)
        why = f" ({change.text()})" if change else ""
        return (f"{_hhmm(wall)} happens twice that day in {name}{why}: "
                f"starts at the first {_hhmm(wall)}")
    return None


def _cron_matches(expr: str, wall: datetime) -> bool:
    """Whether the cron expression names the wall-clock minute ``wall`` itself."""
    probe = wall.replace(tzinfo=UTC)  # UTC has no gaps: a literal reading of the fields
    return next(iter(CronSim(expr, probe - _SECOND)), None) == probe


def _cron_start_note(expr: str, zone: ZoneInfo, name: str, wall: datetime,
                     utc: datetime) -> str | None:
    """cron (Debian's rules): a start in the gap runs right after the jump; in a fold once."""
    try:
        change = clock_change(zone, utc - _SECOND, utc)
        if change is not None and change.forward and not _cron_matches(expr, wall):
            gap_start = change.wall.replace(tzinfo=UTC)
            missing = next(iter(CronSim(expr, gap_start - _SECOND)))
            return (f"{_hhmm(missing)} does not exist that day in {name} ({change.text()}): "
                    f"cron runs it at {_hhmm(wall)}, right after the change")
    except (CronSimError, StopIteration):
        return None
    if _ambiguous(wall, zone):
        around = _around(zone, utc)
        why = f" ({around.text()})" if around else ""
        return (f"{_hhmm(wall)} happens twice that day in {name}{why}: "
                "cron runs it once, at the first")
    return None


def _end_notes(schedule: RecurringSchedule, zone: ZoneInfo, wall: datetime,
               occurrence: Occurrence) -> Iterator[str]:
    name = schedule.timezone
    length = occurrence.end - occurrence.start
    change = clock_change(zone, occurrence.start, occurrence.end)
    end_wall = to_local(occurrence.end, zone).replace(tzinfo=None)
    if schedule.duration is not None:
        if change is not None:
            usual = to_local(occurrence.start, zone).replace(tzinfo=None) + schedule.duration
            yield (f"ends at {_hhmm(end_wall)}, not {_hhmm(usual)}: {change.text()} during "
                   f"it (it lasts {format_duration(schedule.duration)} all the same)")
        return
    if schedule.start_time is None or schedule.end_time is None:
        return
    span = wall_span(schedule.start_time, schedule.end_time)
    overnight = timedelta(days=1) if schedule.end_time <= schedule.start_time else timedelta(0)
    asked = datetime.combine(wall.date() + overnight, schedule.end_time)
    if not _exists(asked, zone):
        yield f"{_hhmm(asked)} does not exist that day in {name}: ends at {_hhmm(end_wall)}"
    elif _ambiguous(asked, zone):
        yield f"{_hhmm(asked)} happens twice that day in {name}: ends at the first"
    if length != span:
        during = f": {change.text()} during it" if change is not None else ""
        yield (f"lasts {format_duration(length)} instead of {format_duration(span)}"
               f"{during}")


def _dropped_note(schedule: RecurringSchedule, zone: ZoneInfo, wall: datetime) -> str:
    change = _around(zone, to_utc(wall, zone))
    why = f" ({change.text()})" if change else ""
    end = _hhmm(schedule.end_time) if schedule.end_time is not None else "its end"
    return (f"{_hhmm(wall)} to {end} does not exist that day in {schedule.timezone}{why}: "
            "no occurrence")


def _notes(schedule: RecurringSchedule, zone: ZoneInfo, start: tuple[datetime, datetime],
           occurrence: Occurrence) -> tuple[str, ...]:
    utc, wall = start
    if isinstance(schedule.rule, CronRule):
        first = _cron_start_note(normalize_cron(schedule.rule.cron), zone,
                                 schedule.timezone, wall, utc)
    else:
        first = _start_note(zone, schedule.timezone, wall, utc)
    notes = [first] if first else []
    notes.extend(_end_notes(schedule, zone, wall, occurrence))
    return tuple(notes)


def annotated_occurrences(schedule: Schedule, now: datetime, *, limit: int,
                          horizon: timedelta) -> list[PreviewItem]:
    """The next ``limit`` occurrences from ``now`` (a running one included) with their notes,
    and the occurrences DST dropped among them, within ``now + horizon``."""
    compiled = compile_schedule(schedule)
    end = now + horizon
    if isinstance(schedule, OnceSchedule):
        zone = get_zone(schedule.timezone or "UTC")
        return [PreviewItem(o, to_local(o.start, zone).date())
                for o in compiled.occurrences(now, end, limit=limit)]
    zone = get_zone(schedule.timezone)
    items: list[PreviewItem] = []
    shown = dropped = 0
    for (utc, wall), occurrence in compiled.starts_with_occurrences(now - compiled.max_length):
        if utc >= end or shown >= limit:
            break
        if occurrence is None:
            if utc >= now and dropped < limit:
                dropped += 1
                items.append(PreviewItem(None, wall.date(), (_dropped_note(schedule, zone,
                                                                           wall),)))
            continue
        if occurrence.end <= now:
            continue
        items.append(PreviewItem(occurrence, wall.date(),
                                 _notes(schedule, zone, (utc, wall), occurrence)))
        shown += 1
    return items
