"""One internal representation for every schedule: a start source plus an end rule.

``CompiledSchedule`` answers the questions the decision index, the worker and the API ask —
occurrences in a range, the next one, the current one, the end of the last — from a source of
start instants (``sources``) and a function that turns a start into an ``Occurrence`` or
``None`` when the occurrence collapses to zero length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from quietly.core.model import (
    CronRule,
    Occurrence,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Schedule,
)
from quietly.core.schedule.rules import (
    ParsedRule,
    default_dtstart_date,
    end_of_day,
    normalize_cron,
    parse_rrule,
    simple_rule_body,
)
from quietly.core.schedule.sources import CronSource, RRuleSource, Start
from quietly.core.timeutil import ensure_utc, get_zone, offset_spread, to_utc

__all__ = [
    "CompiledSchedule",
    "build",
    "dtstart_of",
    "end_rule",
    "max_length",
    "parsed_rule",
    "rrule_limits",
    "wall_span",
]

MakeOccurrence = Callable[[Start], Occurrence | None]
# Starts looked at by one search before it gives up: bounds loops over collapsed occurrences.
_SCAN_CAP = 200_000
_DAY = timedelta(days=1)


class _Source(Protocol):
    @property
    def finite(self) -> bool: ...

    def starts_from(self, lower: datetime) -> Iterator[Start]: ...

    def starts_backward(self) -> Iterator[Start]: ...


class _OnceSource:
    """The single start of a one-time window."""

    finite = True

    def __init__(self, start: datetime) -> None:
        self.start = (start, start.replace(tzinfo=None))

    def starts_from(self, lower: datetime) -> Iterator[Start]:
        if self.start[0] >= lower:
            yield self.start

    def starts_backward(self) -> Iterator[Start]:
        yield self.start


def wall_span(start_time: time, end_time: time) -> timedelta:
    """Return the wall-clock length from start_time to end_time (next day if not after)."""
    span = datetime.combine(date.min, end_time) - datetime.combine(date.min, start_time)
    return span if span > timedelta(0) else span + _DAY


def end_rule(schedule: RecurringSchedule, zone: ZoneInfo) -> MakeOccurrence:
    """Return the function that ends an occurrence started at ``(utc, local)``.

    ``duration`` is elapsed time added to the UTC start. ``end_time`` is a wall-clock end on
    the start's local date, or on the next day when it is not after start_time (the
    occurrence belongs to the day it starts), read with the one gap/fold policy; an occurrence
    that DST collapses to zero or negative length (Berlin 02:00 to 03:00 on 2025-03-30) is None.
    """
    duration, end_time, start_time = schedule.duration, schedule.end_time, schedule.start_time
    if duration is not None:
        return lambda start: Occurrence(start[0], start[0] + duration)
    # validate() guarantees both are set when there is no duration.
    assert end_time is not None
    assert start_time is not None
    overnight = _DAY if end_time <= start_time else timedelta(0)

    def make(start: Start) -> Occurrence | None:
        local_end = datetime.combine(start[1].date() + overnight, end_time)
        end = to_utc(local_end, zone)
        return Occurrence(start[0], end) if end > start[0] else None

    return make


class CompiledSchedule:
    """A schedule ready to be expanded many times; immutable apart from internal caches.

    Every method takes and returns aware UTC instants (naive input raises ValidationError)
    and every search is bounded: nothing loops without end, whatever the rule.
    """

    __slots__ = ("_make", "_source", "max_length", "schedule")

    def __init__(self, schedule: Schedule, source: _Source, make: MakeOccurrence,
                 max_length: timedelta) -> None:
        self.schedule = schedule
        self.max_length = max_length
        self._source = source
        self._make = make

    def _scan(self, lower: datetime) -> Iterator[Occurrence]:
        """Yield occurrences starting at or after ``lower``, skipping collapsed ones."""
        for seen, start in enumerate(self._source.starts_from(lower)):
            if seen >= _SCAN_CAP:
                return
            occurrence = self._make(start)
            if occurrence is not None:
                yield occurrence

    def occurrences(self, start: datetime, end: datetime, *,
                    limit: int = 10_000) -> list[Occurrence]:
        """Return every occurrence overlapping ``[start, end)``, by UTC start, at most ``limit``.

        Looks back ``max_length`` for occurrences that began before ``start`` and are still
        running. An empty or inverted range gives an empty list.
        """
        start, end = ensure_utc(start, "start"), ensure_utc(end, "end")
        found: list[Occurrence] = []
        if end <= start or limit <= 0:
            return found
        for occurrence in self._scan(start - self.max_length):
            if occurrence.start >= end:
                break
            if occurrence.end > start:
                found.append(occurrence)
                if len(found) >= limit:
                    break
        return found

    def starts_with_occurrences(self, lower: datetime
                                ) -> Iterator[tuple[Start, Occurrence | None]]:
        """Yield each start of the rule at or after ``lower`` with its occurrence, or None
        when daylight saving collapses it to nothing (bounded like every search)."""
        for seen, start in enumerate(self._source.starts_from(ensure_utc(lower, "lower"))):
            if seen >= _SCAN_CAP:
                return
            yield start, self._make(start)

    def collapsed_starts(self, start: datetime, end: datetime) -> list[Start]:
        """Return the rule's starts in ``[start, end)`` whose occurrence collapses (bounded).

        The iCalendar feed excludes them (EXDATE): a calendar client would show them.
        """
        start, end = ensure_utc(start, "start"), ensure_utc(end, "end")
        found: list[Start] = []
        for seen, begin in enumerate(self._source.starts_from(start)):
            if seen >= _SCAN_CAP or begin[0] >= end:
                break
            if self._make(begin) is None:
                found.append(begin)
        return found

    def next_occurrence(self, after: datetime) -> Occurrence | None:
        """Return the first occurrence starting at or after ``after`` (None when none is left)."""
        return next(self._scan(ensure_utc(after, "after")), None)

    def current_occurrence(self, at: datetime) -> Occurrence | None:
        """Return the occurrence containing ``at`` (half-open); the latest-starting if several."""
        at = ensure_utc(at, "at")
        current: Occurrence | None = None
        for occurrence in self._scan(at - self.max_length):
            if occurrence.start > at:
                break
            if occurrence.contains(at):
                current = occurrence
        return current

    def last_occurrence_end(self) -> datetime | None:
        """Return the end of the final occurrence, or None for a schedule without an end.

        Also None when a finite schedule has no occurrence at all (validate() rejects those).
        """
        if not self._source.finite:
            return None
        for seen, start in enumerate(self._source.starts_backward()):
            if seen >= _SCAN_CAP:
                break
            occurrence = self._make(start)
            if occurrence is not None:
                return occurrence.end
        return None


def parsed_rule(schedule: RecurringSchedule) -> ParsedRule:
    """Parse the RRULE body of an RRULE or simple-form schedule."""
    rule = schedule.rule
    if isinstance(rule, CronRule):
        raise TypeError("cron schedules have no RRULE")
    body = rule.rrule if isinstance(rule, RRuleRule) else simple_rule_body(rule)
    return parse_rrule(body, schedule.timezone)


def rrule_limits(schedule: RecurringSchedule,
                 parsed: ParsedRule) -> tuple[datetime | None, int | None]:
    """Combine the body's UNTIL/COUNT with the schedule's ``until``/``count``.

    The until is naive (a local wall-clock bound) or aware UTC (the body's ``UNTIL=…Z``, an
    instant). validate() refuses both limits at once; for a schedule stored before that check
    the local end of the ``until`` day is read as an instant and the earlier one wins.
    """
    until = parsed.until
    if schedule.until is not None:
        day_end = end_of_day(schedule.until)
        if until is None:
            until = day_end
        elif until.tzinfo is None:
            until = min(until, day_end)
        else:
            until = min(until, to_utc(day_end, schedule.timezone))
    count = parsed.count if parsed.count is not None else schedule.count
    return until, count


def dtstart_of(schedule: RecurringSchedule) -> datetime:
    """Return the naive wall-clock DTSTART: starts_on (else 2000-01-01) at start_time."""
    assert schedule.start_time is not None
    return datetime.combine(default_dtstart_date(schedule.starts_on),
                            schedule.start_time.replace(microsecond=0, tzinfo=None))


def max_length(schedule: Schedule) -> timedelta:
    """Return an upper bound of any occurrence's UTC length (exact unless wall-clock ends).

    A wall-clock end can stretch past its wall span by at most the zone's offset spread.
    """
    if isinstance(schedule, OnceSchedule):
        # Elapsed time: instants of one zone subtract as wall clocks, across a change too.
        return ensure_utc(schedule.end, "schedule.end") - ensure_utc(schedule.start,
                                                                       "schedule.start")
    if schedule.duration is not None:
        return schedule.duration
    assert schedule.start_time is not None
    assert schedule.end_time is not None
    return wall_span(schedule.start_time, schedule.end_time) + offset_spread(schedule.timezone)


def build(schedule: Schedule) -> CompiledSchedule:
    """Compile an already validated schedule."""
    if isinstance(schedule, OnceSchedule):
        start = ensure_utc(schedule.start, "schedule.start")
        occurrence = Occurrence(start, ensure_utc(schedule.end, "schedule.end"))
        return CompiledSchedule(schedule, _OnceSource(start), lambda _: occurrence,
                                max_length(schedule))
    zone = get_zone(schedule.timezone)
    source: _Source
    if isinstance(schedule.rule, CronRule):
        source = CronSource(normalize_cron(schedule.rule.cron), zone, schedule.starts_on,
                            schedule.until, schedule.count)
    else:
        parsed = parsed_rule(schedule)
        until, count = rrule_limits(schedule, parsed)
        source = RRuleSource(parsed, dtstart_of(schedule), zone, until, count)
    return CompiledSchedule(schedule, source, end_rule(schedule, zone), max_length(schedule))

