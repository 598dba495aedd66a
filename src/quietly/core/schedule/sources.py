"""Start instants of the recurring forms, in ascending UTC order and always bounded.

A *source* yields ``(utc, local)`` pairs: the aware UTC start and the naive wall-clock time
the rule produced (the local date decides which day a wall-clock end falls on). Two kinds:

- ``RRuleSource`` for RRULE bodies and the simple forms: dateutil over naive wall-clock
  datetimes, each start converted with ``to_utc`` (the one gap/fold policy). Because that
  conversion never goes backwards in time, wall-clock order is UTC order; equal instants
  (two wall times read as one instant) are deduped by UTC only (STACK trap 4).
- ``CronSource``: cronsim, which keeps Debian cron's DST rules. An expression at a fixed
  hour and minute goes through cronsim's own gap/fold handling. Any other (a ``*`` in the
  minute or hour field) runs on real time: every instant whose wall-clock time matches, both
  passes of a fold, none in a gap. Those are found from cronsim's wall-clock times, not its
  aware iteration, which keeps the minute it had before a transition that moves the clock by
  less than an hour (Lord Howe's 30 minutes) and so lost the next run after it.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from cronsim import CronSim
from dateutil import rrule as du

from quietly.core.schedule.rules import MAX_COUNT, ParsedRule
from quietly.core.timeutil import offset_spread, to_utc

__all__ = ["SEARCH_YEARS", "CronSource", "RRuleSource", "Start", "dedupe", "period_start",
           "wall_bound", "within"]

Start = tuple[datetime, datetime]  # (aware UTC start, naive local wall-clock start)

# How far ahead a forward search goes before it gives up (rules that fire are periodic, and
# validate() has checked that this one fires within ten years of its first date).
SEARCH_YEARS = 100
_CHUNK_CACHE_SIZE = 48
_LAST_YEAR = 9998  # dateutil stops at 9999; keep a year of room for month arithmetic


def dedupe(starts: Iterable[Start]) -> Iterator[Start]:
    """Drop starts not strictly after the previous one (compare UTC instants only)."""
    previous: datetime | None = None
    for start in starts:
        if previous is None or start[0] > previous:
            previous = start[0]
            yield start


def _month_index(moment: datetime | date) -> int:
    return moment.year * 12 + moment.month - 1


def _month_bounds(index: int) -> tuple[datetime, datetime]:
    """Return the first instant of the month and the last microsecond of it (naive)."""
    year, month = divmod(index, 12)
    # Naive on purpose: rules are expanded over wall-clock time (see the module docstring).
    first = datetime(year, month + 1, 1)  # noqa: DTZ001
    following = datetime(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)  # noqa: DTZ001
    return first, following - timedelta(microseconds=1)


def explicit_defaults(rule: ParsedRule, dtstart: datetime) -> dict[str, Any]:
    """Return the rule's arguments with every default dateutil takes from DTSTART made explicit.

    dateutil fills BYMONTH/BYMONTHDAY (yearly), BYMONTHDAY (monthly), BYDAY (weekly) and the
    time of day from DTSTART. Spelling them out lets us re-anchor the rule at a later DTSTART
    (to expand near a query instead of from the first date) without changing its meaning.
    """
    kwargs = rule.kwargs()
    bare = not {"byweekno", "byyearday", "bymonthday", "byweekday", "byeaster"} & kwargs.keys()
    if bare and rule.freq == du.YEARLY:
        kwargs.setdefault("bymonth", (dtstart.month,))
        kwargs["bymonthday"] = (dtstart.day,)
    elif bare and rule.freq == du.MONTHLY:
        kwargs["bymonthday"] = (dtstart.day,)
    elif bare and rule.freq == du.WEEKLY:
        kwargs["byweekday"] = (dtstart.weekday(),)
    kwargs.update(byhour=dtstart.hour, byminute=dtstart.minute, bysecond=dtstart.second)
    return kwargs


def period_start(rule: ParsedRule, dtstart: datetime) -> datetime:
    """Return the start of the rule's first interval (RFC 5545 §3.3.10) at dtstart's time.

    dateutil starts a WEEKLY rule's first set at DTSTART itself, not at the start of its week
    (per WKST), so BYSETPOS would pick from part of a week. Anchoring at the week's start and
    dropping instances before DTSTART gives the RFC's set. Other frequencies already begin
    with a whole day, month or year.
    """
    if rule.freq != du.WEEKLY:
        return dtstart
    wkst = rule.kwargs().get("wkst", 0)
    try:
        return dtstart - timedelta(days=(dtstart.weekday() - wkst) % 7)
    except OverflowError:  # the first days of year 1: no earlier day to start from
        return dtstart


def wall_bound(until: datetime | None, zone: ZoneInfo) -> datetime | None:
    """Return the naive wall-clock bound to expand a rule limited by ``until`` up to.

    A naive ``until`` (a local date or floating time) is the bound itself. A UTC instant
    becomes its local time plus a day (a wall time and its instant are less than a day
    apart); the instants are then cut exactly with ``within``.
    """
    if until is None or until.tzinfo is None:
        return until
    try:
        return until.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    except OverflowError:  # an UNTIL in the last day of year 9999
        return datetime.max  # noqa: DTZ901 (a naive wall-clock bound)


def within(start: Start, until: datetime | None) -> bool:
    """Whether ``start`` is not after ``until`` (an instant for UTC, else on the wall clock)."""
    if until is None:
        return True
    return start[0] <= until if until.tzinfo is not None else start[1] <= until


class RRuleSource:
    """Starts of an RRULE anchored at the naive ``dtstart``, read in ``zone``.

    ``until`` (inclusive: naive local wall clock, or an aware UTC instant) and ``count``
    already combine the rule's and the schedule's limits. The rule is expanded from the start
    of the interval containing ``dtstart`` (``period_start``) and instances before
    ``dtstart`` are dropped, so every set BYSETPOS picks from is a whole interval. Rules with
    COUNT are expanded once in full (at most ``MAX_COUNT`` instances; the count must be taken
    from the first instance). Other rules are expanded per local calendar month on demand,
    each month re-anchored at the start of an interval of the rule (a week per WKST, a month,
    a year, in phase with INTERVAL) near that month, so that a query in 2030 does not iterate
    from a first date in 2020; the months are cached (LRU, per rule).
    """

    def __init__(self, rule: ParsedRule, dtstart: datetime, zone: ZoneInfo,
                 until: datetime | None, count: int | None) -> None:
        self.rule, self.dtstart, self.zone = rule, dtstart, zone
        self.until, self.count = until, count
        self._wall_until = wall_bound(until, zone)
        self._anchor = period_start(rule, dtstart)
        self._kwargs = explicit_defaults(rule, dtstart)
        self._chunks: OrderedDict[int, tuple[tuple[datetime, ...], tuple[Start, ...]]]
        self._chunks = OrderedDict()
        self._lock = threading.Lock()
        self._all: tuple[Start, ...] | None = None
        self._all_utc: tuple[datetime, ...] = ()
        if count is not None:
            self._all = self._materialize(min(count, MAX_COUNT))
            self._all_utc = tuple(s[0] for s in self._all)

    @property
    def finite(self) -> bool:
        return self.count is not None or self.until is not None

    def _rrule(self, dtstart: datetime, until: datetime | None) -> du.rrule:
        return du.rrule(self.rule.freq, dtstart=dtstart, interval=self.rule.interval,
                        until=until, cache=False, **self._kwargs)

    def _convert(self, locals_: Iterable[datetime]) -> tuple[Start, ...]:
        """Read wall-clock instances as starts; dateutil has already applied a naive until."""
        zone, until = self.zone, self.until
        starts = ((to_utc(local, zone), local) for local in locals_)
        if until is not None and until.tzinfo is not None:
            starts = (start for start in starts if start[0] <= until)
        return tuple(dedupe(starts))

    def _materialize(self, count: int) -> tuple[Start, ...]:
        instances = self._rrule(self._anchor, self._wall_until)
        return self._convert(islice((i for i in instances if i >= self.dtstart), count))

    def _rebase(self, floor: datetime) -> datetime:
        """Return the start of an interval of the rule, ≤ ``floor``, in phase with INTERVAL."""
        start, step = self._anchor, self.rule.interval
        if floor <= start:
            return start
        if self.rule.freq == du.DAILY:
            return start + timedelta(days=(floor - start).days // step * step)
        if self.rule.freq == du.WEEKLY:
            return start + timedelta(weeks=(floor - start).days // (7 * step) * step)
        if self.rule.freq == du.MONTHLY:
            months = (_month_index(floor) - _month_index(start)) // step * step
        else:  # YEARLY: whole years, re-anchored on January 1st
            months = 12 * ((floor.year - start.year) // step * step)
            months -= start.month - 1
        if months <= 0:
            return start
        year, month = divmod(_month_index(start) + months, 12)
        return datetime.combine(date(year, month + 1, 1), start.time())

    def _chunk(self, index: int) -> tuple[tuple[datetime, ...], tuple[Start, ...]]:
        with self._lock:
            cached = self._chunks.get(index)
            if cached is not None:
                self._chunks.move_to_end(index)
                return cached
        first, last = _month_bounds(index)
        starts: tuple[Start, ...] = ()
        wall_until = self._wall_until
        if last >= self.dtstart and (wall_until is None or first <= wall_until):
            until = last if wall_until is None else min(last, wall_until)
            rule = self._rrule(self._rebase(first), until)
            floor = max(first, self.dtstart)
            starts = self._convert(local for local in rule if local >= floor)
        result = (tuple(s[0] for s in starts), starts)
        with self._lock:
            self._chunks[index] = result
            while len(self._chunks) > _CHUNK_CACHE_SIZE:
                self._chunks.popitem(last=False)
        return result

    def _last_index(self, first: int) -> int:
        limit = min(first + 12 * SEARCH_YEARS, _LAST_YEAR * 12)
        wall_until = self._wall_until
        return limit if wall_until is None else min(limit, _month_index(wall_until))

    def starts_from(self, lower: datetime) -> Iterator[Start]:
        """Yield starts at or after the UTC ``lower``, ascending; stop after SEARCH_YEARS."""
        if self._all is not None:
            yield from self._all[bisect.bisect_left(self._all_utc, lower):]
            return
        # A day of margin: a wall time and its instant are less than a day apart.
        floor = (lower.astimezone(self.zone).replace(tzinfo=None) - timedelta(days=1))
        first = max(_month_index(floor), _month_index(self.dtstart))
        yield from dedupe(self._walk(first, self._last_index(first), lower))

    def _walk(self, first: int, last: int, lower: datetime) -> Iterator[Start]:
        for index in range(first, last + 1):
            utcs, starts = self._chunk(index)
            yield from starts[bisect.bisect_left(utcs, lower):]

    def starts_backward(self) -> Iterator[Start]:
        """Yield the starts of a finite rule from the last one backwards (none if infinite)."""
        if self._all is not None:
            yield from reversed(self._all)
        elif self._wall_until is not None:
            last = min(_month_index(self._wall_until), _LAST_YEAR * 12)
            stop = max(_month_index(self.dtstart), last - 12 * SEARCH_YEARS)
            for index in range(last, stop - 1, -1):
                yield from reversed(self._chunk(index)[1])


def _instants(wall: datetime, zone: ZoneInfo) -> tuple[datetime, ...]:
    """Return the UTC instants whose wall-clock time in ``zone`` is the naive ``wall``:
    one, two in a fold (earlier first), none in a gap. PEP 495: ``fold=0`` reads the wall
    time with the offset before a transition, ``fold=1`` with the one after; the clock went
    back (a fold) where the first is larger, forward (a gap) where it is smaller."""
    before = wall.replace(tzinfo=zone).utcoffset()
    after = wall.replace(tzinfo=zone, fold=1).utcoffset()
    if before is None or after is None:  # a ZoneInfo always has one
        raise ValueError(f"{zone} gives {wall} no UTC offset")
    utc = wall.replace(tzinfo=UTC)
    if before == after:
        return (utc - before,)
    return (utc - before, utc - after) if before > after else ()


def real_time_starts(expr: str, zone: ZoneInfo, begin: datetime, *,
                     reverse: bool = False) -> Iterator[Start]:
    """Yield every instant after (or, ``reverse``, before) the naive wall time ``begin``
    whose wall-clock time in ``zone`` matches ``expr``, in UTC order.

    cronsim lists matching wall times in wall-clock order (naive, so its steps never cross a
    transition); each is read as the instants it names (``_instants``). Those are in UTC
    order except in a fold, whose second pass comes after later wall times' first: a heap
    holds an instant until no later wall time can give an earlier one. The first instant of
    a real wall time grows with the wall time (the clock reaches each wall time first in
    wall-clock order), so once a wall time's first instant is reached, everything before it
    is final; backwards, the same holds for last instants.
    """
    sign = -1 if reverse else 1
    pending: list[tuple[int, datetime, datetime]] = []  # (ordering key, instant, wall)
    for wall in CronSim(expr, begin, reverse=reverse):
        instants = _instants(wall, zone)
        if not instants:
            continue  # a wall time in a gap: real time never shows it
        for utc in instants:
            heapq.heappush(pending, (_key(utc, sign), utc, wall))
        final = _key(instants[0] if sign > 0 else instants[-1], sign)
        while pending and pending[0][0] <= final:
            _, utc, local = heapq.heappop(pending)
            yield utc, local
    while pending:
        _, utc, local = heapq.heappop(pending)
        yield utc, local


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _key(instant: datetime, sign: int) -> int:
    """Order instants by whole seconds (cron's finest step), latest first when ``sign`` < 0."""
    return sign * ((instant - _EPOCH) // _SECOND)


class CronSource:
    """Starts of a 5-field cron expression in ``zone`` (Debian cron DST rules via cronsim).

    ``starts_on`` bounds the first start (local midnight), ``until`` the last start's local
    date (inclusive), ``count`` the number of starts (counted from ``starts_on``).
    """

    def __init__(self, expr: str, zone: ZoneInfo, starts_on: date | None,
                 until: date | None, count: int | None) -> None:
        self.expr, self.zone, self.until, self.count = expr, zone, until, count
        # cronsim handles gaps and folds itself for a fixed hour and minute (fixup_tz set);
        # anything else runs on real time (module docstring).
        probe = CronSim(expr, datetime(2000, 1, 1, tzinfo=zone))
        self._real_time = probe.fixup_tz is None
        self._spread = offset_spread(zone)
        self.lower = None if starts_on is None else to_utc(datetime.combine(starts_on, time()),
                                                           zone)
        self._all: tuple[Start, ...] | None = None
        self._all_utc: tuple[datetime, ...] = ()
        if count is not None and self.lower is not None:
            self._all = tuple(islice(self._forward(self.lower), min(count, MAX_COUNT)))
            self._all_utc = tuple(s[0] for s in self._all)

    @property
    def finite(self) -> bool:
        return self.count is not None or self.until is not None

    def _forward(self, lower: datetime) -> Iterator[Start]:
        if self.lower is not None:
            lower = max(lower, self.lower)
        # cronsim yields instants strictly after the one it is given (whole seconds).
        begin = (lower - timedelta(seconds=1)).astimezone(self.zone)
        if self._real_time:
            # Wall time runs at least as far as real time less the zone's largest offset
            # change, so an instant from ``lower`` on shows a wall time after this one.
            wall = (begin - self._spread).astimezone(self.zone).replace(tzinfo=None)
            for utc, local in real_time_starts(self.expr, self.zone, wall):
                if self.until is not None and local.date() > self.until:
                    return
                if utc >= lower:
                    yield utc, local
            return
        for moment in dedupe((m.astimezone(UTC), m) for m in CronSim(self.expr, begin)):
            if self.until is not None and moment[1].date() > self.until:
                return
            if moment[0] >= lower:
                yield moment[0], moment[1].replace(tzinfo=None)

    def starts_from(self, lower: datetime) -> Iterator[Start]:
        """Yield starts at or after the UTC ``lower``, ascending (cronsim gives up at 50 years)."""
        if self._all is not None:
            yield from self._all[bisect.bisect_left(self._all_utc, lower):]
        elif self.count is None:
            yield from self._forward(lower)

    def starts_backward(self) -> Iterator[Start]:
        """Yield the starts of a finite schedule from the last one backwards."""
        if self._all is not None:
            yield from reversed(self._all)
            return
        if self.until is None:
            return
        end = to_utc(datetime.combine(self.until + timedelta(days=1), time()), self.zone)
        if self._real_time:
            wall = datetime.combine(self.until + timedelta(days=1), time())
            for utc, local in real_time_starts(self.expr, self.zone, wall, reverse=True):
                if local.date() > self.until:
                    continue
                if self.lower is not None and utc < self.lower:
                    return
                yield utc, local
            return
        for moment in CronSim(self.expr, end.astimezone(self.zone), reverse=True):
            utc = moment.astimezone(UTC)
            if utc >= end:
                continue
            if self.lower is not None and utc < self.lower:
                return
            yield utc, moment.replace(tzinfo=None)
