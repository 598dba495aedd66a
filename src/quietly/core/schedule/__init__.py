"""Schedules: validation, expansion into UTC occurrences, and the schedule in words.

Every form — one-time, RRULE, cron and the simple daily/weekly/monthly forms — compiles to one
``CompiledSchedule`` (DESIGN §3). The module-level functions compile through a cache keyed by
the frozen schedule, so the decision index can call them on every question.

Time semantics in one place:

- RRULE and simple forms expand over naive wall-clock datetimes with dateutil, DTSTART being
  ``starts_on`` (2000-01-01 if unset) at ``start_time``; each start is read with
  ``timeutil.to_utc`` (a gap uses the offset before it, a fold its first instant).
- cron expands with cronsim in the zone (Debian cron: a start in the gap runs right after the
  jump, one in the fold runs once, at its first instant).
- ``end_time`` is a wall-clock end (next day if not after start_time); ``duration`` is
  elapsed time. Occurrences that collapse to zero length are not produced.
- Occurrences are half-open ``[start, end)``, sorted and deduped by UTC instant.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from quietly.core.model import Occurrence, OnceSchedule, Schedule
from quietly.core.schedule.compiled import CompiledSchedule, build
from quietly.core.schedule.human import human_schedule, human_schedule_short
from quietly.core.schedule.rules import rrule_body
from quietly.core.schedule.validate import validate

__all__ = [
    "CompiledSchedule",
    "compile_schedule",
    "current_occurrence",
    "human_schedule",
    "human_schedule_short",
    "last_occurrence_end",
    "max_occurrence_length",
    "next_occurrence",
    "occurrences",
    "rrule_body",
    "validate",
]


def compile_schedule(schedule: Schedule) -> CompiledSchedule:
    """Validate ``schedule`` and compile it (cached per schedule; raises ScheduleError).

    Two aware datetimes in one zone compare and hash equal when they differ only in ``fold``
    (the two 02:30 of an autumn night), so a one-time schedule's cache key also carries its
    instants' UTC offsets: the two readings are different windows.
    """
    if type(schedule) is OnceSchedule:
        return _compiled(schedule, (schedule.start.utcoffset(), schedule.end.utcoffset()))
    return _compiled(schedule, None)


@lru_cache(maxsize=2048)
def _compiled(schedule: Schedule, _offsets: tuple[timedelta | None, timedelta | None] | None
              ) -> CompiledSchedule:
    validate(schedule)
    return build(schedule)


def occurrences(schedule: Schedule, start: datetime, end: datetime, *,
                limit: int = 10_000) -> list[Occurrence]:
    """Return the occurrences overlapping ``[start, end)`` sorted by UTC start (≤ ``limit``).

    Includes an occurrence that began before ``start`` and is still running. Naive
    ``start``/``end`` raise ValidationError; an empty or inverted range gives ``[]``.
    """
    return compile_schedule(schedule).occurrences(start, end, limit=limit)


def next_occurrence(schedule: Schedule, after: datetime) -> Occurrence | None:
    """Return the first occurrence whose start is at or after ``after``, or None.

    The search is bounded (100 years ahead); a running occurrence that began before ``after``
    is not returned — use ``current_occurrence`` for that.
    """
    return compile_schedule(schedule).next_occurrence(after)


def current_occurrence(schedule: Schedule, at: datetime) -> Occurrence | None:
    """Return the occurrence containing ``at`` (start ≤ at < end), the latest-starting one
    when several overlap, or None."""
    return compile_schedule(schedule).current_occurrence(at)


def last_occurrence_end(schedule: Schedule) -> datetime | None:
    """Return the end of the final occurrence of a finite schedule (once, count, until).

    None for schedules without an end. Bounded: a finite rule is searched back from its end.
    """
    return compile_schedule(schedule).last_occurrence_end()


def max_occurrence_length(schedule: Schedule) -> timedelta:
    """Return an upper bound on any occurrence's length in UTC.

    Exact for once and duration schedules. For a wall-clock end it is the wall span plus the
    largest offset change the zone has had (DST can stretch an occurrence by that much).
    """
    return compile_schedule(schedule).max_length
