"""Expand recurrences with libical: the reference the differential tests compare quietly with.

Runs under the *system* Python (``/usr/bin/python3``), which has Debian's ``python3-gi`` and
``gir1.2-ical-3.0``; it imports nothing of quietly. Reads one JSON request on stdin, prints one
JSON answer on stdout (``python3 libical_expand.py < request.json``):

    {"tzdir": ".../site-packages/tzdata/zoneinfo",      # the zone data quietly reads
     "zones": ["Europe/Berlin", ...],
     "rules": [{"id": "r1", "zone": "Europe/Berlin", "dtstart": "20270701T020000",
                "rrule": "FREQ=WEEKLY;BYDAY=WE,SU;BYSETPOS=1", "end_time": "040000" | null,
                "overnight": false, "duration": 3600 | null,
                "lo": "20270101T000000Z", "hi": "20280101T000000Z"}, ...],
     "feeds": [{"id": "f1", "ics": "BEGIN:VCALENDAR...", "lo": ..., "hi": ...}, ...]}
  → {"rules": {"r1": [["20270707T000000Z", "20270707T010000Z"], ...]},
     "feeds": {"f1": {"<UID>": [[start, end], ...]}}}

Occurrences are ``[start, end]`` in UTC, those starting in ``[lo, hi)``, sorted; an
occurrence of zero or negative length is left out (quietly never produces one).

Same zone data on both sides. libical 3.0 reads TZif files only from the hard-coded
``/usr/share/zoneinfo`` (Debian's tzdata, older than the PyPI ``tzdata`` quietly reads), and
``ICalTimezone.set_zone_directory`` applies only to its *builtin* mode, which loads one
``<Area/City>.ics`` VTIMEZONE per zone from that directory (listed in ``zones.tab``). So the
helper writes those files from the ``tzdata`` package's TZif files (every offset change from
1970 to 2040 as its own observance, found by probing the zone with the stdlib ``zoneinfo``
reading that file) and switches libical to builtin mode on that directory
(``set_builtin_tzdata``, ``set_zone_directory``, ``set_tzid_prefix``). libical then expands the
VTIMEZONEs into its own table of changes and answers every offset question itself. For a feed,
libical uses the feed's own VTIMEZONEs, as a calendar client does.

libical 3.0.16's deviations from RFC 5545, each shown by ``test_libical_reference.py``
(``"rfc": false`` in a request turns the workarounds off) and worked around here:

1. BYSETPOS is ignored in DAILY and WEEKLY rules (``FREQ=WEEKLY;BYDAY=WE,SU;BYSETPOS=1``
   gives every Wednesday and Sunday).
2. WEEKLY INTERVAL > 1 is counted in Sunday-based weeks when WKST is not SU.
3. A local time in a fold is read as standard time (``is_daylight=0``): for an ordinary fold
   its *second* instant, where §3.3.5 wants the first. (Asked directly, ``get_utc_offset``
   also reads a time in a gap with the offset after it.)
4. ``UNTIL`` is compared after libical's own reading of 3, so the first instant of a fold is
   dropped although it is before a UTC UNTIL.
5. With a zone on DTSTART, an instance in a gap is moved past it (02:15 to 03:15, the right
   instant) but the shifted time sticks: the next day's instance is 03:15 too (a WEEKLY rule
   keeps 03:15 for ever).
6. DAILY rules never match a negative BYMONTHDAY (``FREQ=DAILY;BYMONTHDAY=-1`` is empty).
7. BYSETPOS in MONTHLY and YEARLY rules picks from a set that is neither sorted nor rid of
   duplicates when BYMONTHDAY lists several days (``BYMONTHDAY=19,-12;BYSETPOS=-2`` picks the
   19th in a 30-day month, where the set is just {19th}).
8. YEARLY rules with BYWEEKNO go wrong in the weeks that straddle a year boundary: days
   outside BYDAY appear (a Friday for ``BYDAY=WE;BYWEEKNO=1``), days of BYDAY are missed
   (Thursday 2027-12-30 in week 52) and instances come out of order; and week numbers ignore
   WKST (Monday weeks always). Not worked around: the random rules draw weeks 2 to 50 only,
   without WKST.

And one reading that differs, not a bug: ``FREQ=YEARLY;BYMONTHDAY=9`` without BYMONTH is the
9th of DTSTART's month only for libical (RFC 5545 takes missing parts from DTSTART), every
month's 9th for dateutil and quietly. quietly's feed spells out ``BYMONTH=1,…,12`` so every
client agrees; the helper does the same with quietly's rules.

The workarounds keep libical doing every expansion and every offset computation:

- The iterator runs on floating wall-clock time (no zone on DTSTART: 5), without COUNT and
  UNTIL; the helper counts, and bounds the instants by a UTC UNTIL (inclusive: 4), by the
  local date for a DATE UNTIL (quietly's "until that day"; RFC 5545 wants UTC here), and by
  the wall clock for a floating UNTIL.
- Where 1, 2 or 7 apply, libical expands without BYSETPOS (and with INTERVAL=1 for 2) from the
  start of DTSTART's interval (the parts DTSTART implies spelled out); the helper groups the
  instances into the rule's intervals (days, weeks per WKST in phase with DTSTART's week,
  months, years), sorts and dedupes each set, applies BYSETPOS, then drops instances before
  DTSTART. For 6, a negative BYMONTHDAY is applied by the helper to libical's instances.
- Wall clock to instant (3): libical gives the offsets (both readings of the local time, and
  the offsets in force a day before and after); the helper keeps the offsets that
  round-trip, takes the earliest instant (the first of a fold, also where both sides of the
  change are standard time, as Casablanca's move to +00 in 2026) and, in a gap (none
  round-trips), the offset in force before it.
"""

# Wall-clock values are naive on purpose here: libical answers in local times.
# ruff: noqa: DTZ007
from __future__ import annotations

import calendar
import json
import os
import sys
import tempfile
import traceback
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib as ical  # noqa: E402

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PREFIX = "/quietly.test/"
SCAN_FROM, SCAN_TO = datetime(1970, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)
MAX_INSTANCES = 20_000
PERIOD_DAYS = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}


# Zone data: VTIMEZONEs from the tzdata package, for libical's builtin mode.

def _offset(zone: ZoneInfo, moment: datetime) -> int:
    return int(moment.astimezone(zone).utcoffset().total_seconds())


def _changes(zone: ZoneInfo) -> list[tuple[datetime, int, int, bool]]:
    """(UTC instant, offset before, offset after, is DST after) for every change, to the second."""
    found = []
    probe, before = SCAN_FROM, _offset(zone, SCAN_FROM)
    step = timedelta(hours=12)
    while probe < SCAN_TO:
        nxt = probe + step
        after = _offset(zone, nxt)
        if after != before:
            lo, hi = probe, nxt  # offset(lo) == before, offset(hi) == after
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if _offset(zone, mid) == before:
                    lo = mid
                else:
                    hi = mid
            dst = bool(hi.astimezone(zone).dst())
            found.append((hi, before, after, dst))
        probe, before = nxt, after
    return found


def _fmt_offset(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def vtimezone(name: str, tzdir: str) -> str:
    with open(os.path.join(tzdir, name), "rb") as handle:
        zone = ZoneInfo.from_file(handle, key=name)
    first = _offset(zone, SCAN_FROM)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//quietly tests//libical helper//EN",
             "BEGIN:VTIMEZONE", f"TZID:{PREFIX}{name}", f"X-LIC-LOCATION:{name}",
             "BEGIN:STANDARD", "DTSTART:19700101T000000",
             f"TZOFFSETFROM:{_fmt_offset(first)}", f"TZOFFSETTO:{_fmt_offset(first)}",
             "END:STANDARD"]
    for instant, before, after, dst in _changes(zone):
        kind = "DAYLIGHT" if dst else "STANDARD"
        local = (instant + timedelta(seconds=before)).replace(tzinfo=None)
        lines += [f"BEGIN:{kind}", f"DTSTART:{local:%Y%m%dT%H%M%S}",
                  f"TZOFFSETFROM:{_fmt_offset(before)}", f"TZOFFSETTO:{_fmt_offset(after)}",
                  f"END:{kind}"]
    lines += ["END:VTIMEZONE", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def install_zones(zones: list[str], tzdir: str, into: Path) -> None:
    for name in zones:
        path = into / f"{name}.ics"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(vtimezone(name, tzdir))
    (into / "zones.tab").write_text("".join(f"{name}\n" for name in zones))
    ical.Timezone.set_builtin_tzdata(True)
    ical.Timezone.set_zone_directory(str(into))
    ical.Timezone.set_tzid_prefix(PREFIX)


# Instants: libical's offsets, RFC 5545 §3.3.5's reading of gaps and folds (workaround 3).

def _fields(t: ical.Time) -> datetime:
    return datetime(t.get_year(), t.get_month(), t.get_day(), t.get_hour(), t.get_minute(),
                    t.get_second())


def _ical_time(moment: datetime, utc: bool = False) -> ical.Time:
    return ical.Time.new_from_string(moment.strftime("%Y%m%dT%H%M%S") + ("Z" if utc else ""))


def _offset_at(zone: ical.Timezone, instant: datetime) -> int:
    return ical.Timezone.get_utc_offset_of_utc_time(zone, _ical_time(instant, utc=True))[0]


def to_utc(local: datetime, zone: ical.Timezone | None, rfc: bool = True) -> datetime:
    """The UTC instant of the naive wall-clock ``local`` in ``zone`` (None: it is UTC)."""
    if zone is None:
        return local.replace(tzinfo=UTC)
    readings = set()
    for daylight in (False, True):
        t = _ical_time(local)
        t.set_is_daylight(daylight)
        readings.add(ical.Timezone.get_utc_offset(zone, t)[0])
        if not rfc:
            break
    if not rfc:
        return (local - timedelta(seconds=readings.pop())).replace(tzinfo=UTC)
    day = timedelta(days=1)
    before = _offset_at(zone, local - day)
    offsets = readings | {before, _offset_at(zone, local + day)}
    valid = [local - timedelta(seconds=off) for off in offsets
             if _offset_at(zone, local - timedelta(seconds=off)) == off]
    moment = min(valid) if valid else local - timedelta(seconds=before)
    return moment.replace(tzinfo=UTC)


# Recurrence: libical's iterator, with the workarounds.

def _parts(rrule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rrule.upper().split(";") if part)


def _body(parts: dict[str, str]) -> str:
    return ";".join(f"{key}={value}" for key, value in parts.items())


def _iterate(body: str, dtstart: datetime, zone: ical.Timezone | None,
             stop: datetime) -> list[datetime]:
    """libical's instances (naive wall clock) up to ``stop`` (a wall-clock bound).

    With the workarounds on, DTSTART is floating (``zone`` None): deviation 5.
    """
    start = _ical_time(dtstart)
    if zone is not None:
        start.set_timezone(zone)
    iterator = ical.RecurIterator.new(ical.Recurrence.new_from_string(body), start)
    found = []
    while len(found) < MAX_INSTANCES:
        t = iterator.next()
        if t.is_null_time():
            break
        local = _fields(t)
        if local > stop:
            break
        found.append(local)
    return found


def _period(freq: str, wkst: int, day: date) -> date:
    """The first day of the interval of ``freq`` (one day, week per WKST, month, year)."""
    if freq == "DAILY":
        return day
    if freq == "WEEKLY":
        return day - timedelta(days=(day.weekday() - wkst) % 7)
    return day.replace(day=1) if freq == "MONTHLY" else day.replace(month=1, day=1)


def _month_day_ok(day: date, values: list[int]) -> bool:
    length = calendar.monthrange(day.year, day.month)[1]
    return day.day in values or day.day - length - 1 in values


def _spell_out_defaults(parts: dict[str, str], dtstart: datetime) -> None:
    """Write the parts libical would take from DTSTART, so DTSTART can move to a period start."""
    freq, has = parts["FREQ"], parts.keys()
    if freq == "WEEKLY":
        parts.setdefault("BYDAY", DAYS[dtstart.weekday()])
    elif freq == "MONTHLY" and not {"BYDAY", "BYMONTHDAY"} & has:
        parts["BYMONTHDAY"] = str(dtstart.day)
    elif freq == "YEARLY" and not {"BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO"} & has:
        parts.setdefault("BYMONTH", str(dtstart.month))
        parts["BYMONTHDAY"] = str(dtstart.day)


def _rfc_walls(parts: dict[str, str], dtstart: datetime, stop: datetime) -> list[datetime]:
    """The rule's wall-clock instances from ``dtstart``, deviations 1, 2, 5, 6, 7 worked around."""
    freq = parts["FREQ"]
    if freq == "YEARLY" and "BYMONTHDAY" in parts and not {"BYMONTH", "BYWEEKNO",
                                                            "BYYEARDAY"} & parts.keys():
        parts["BYMONTH"] = ",".join(str(m) for m in range(1, 13))  # the yearly reading
    month_days: list[int] = []
    if freq == "DAILY" and "-" in parts.get("BYMONTHDAY", ""):  # deviation 6
        month_days = [int(v) for v in parts.pop("BYMONTHDAY").split(",")]
    own_setpos = "BYSETPOS" in parts and (freq in ("DAILY", "WEEKLY") or "BYMONTHDAY" in parts)
    own_interval = freq == "WEEKLY" and parts.get("INTERVAL", "1") != "1"
    if not (own_setpos or own_interval):
        return [w for w in _iterate(_body(parts), dtstart, None, stop)
                if not month_days or _month_day_ok(w.date(), month_days)]
    wkst = DAYS.index(parts.get("WKST", "MO"))
    positions = [int(p) for p in parts.pop("BYSETPOS", "").split(",") if p and own_setpos]
    interval = int(parts.pop("INTERVAL", "1")) if own_interval else 1
    _spell_out_defaults(parts, dtstart)
    first = datetime.combine(_period(freq, wkst, dtstart.date()), dtstart.time())
    sets: dict[date, set[datetime]] = {}
    whole = stop + timedelta(days=PERIOD_DAYS[freq])  # the set of ``stop``'s interval too
    for local in _iterate(_body(parts), first, None, whole):
        key = _period(freq, wkst, local.date())
        if month_days and not _month_day_ok(local.date(), month_days):
            continue
        if (key - first.date()).days // 7 % interval == 0:
            sets.setdefault(key, set()).add(local)
    picked: list[datetime] = []
    for members in sets.values():
        ordered = sorted(members)
        picked += [ordered[p - 1 if p > 0 else p] for p in positions
                   if 1 <= abs(p) <= len(ordered)] if positions else ordered
    return sorted({local for local in picked if dtstart <= local <= stop})


def _until(value: str | None) -> tuple[datetime | None, date | None]:
    if value is None:
        return None, None
    if len(value) == 8:
        return None, datetime.strptime(value, "%Y%m%d").date()
    moment = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S")
    return moment.replace(tzinfo=UTC) if value.endswith("Z") else moment, None


def expand(rrule: str, dtstart: datetime, zone: ical.Timezone | None, stop: datetime,
           rfc: bool = True) -> list[tuple[datetime, datetime]]:
    """(wall clock, UTC instant) of every instance up to the wall-clock ``stop``."""
    parts = _parts(rrule)
    count = int(parts.pop("COUNT")) if rfc and "COUNT" in parts else None
    until_value = parts.pop("UNTIL", None) if rfc else None
    until, until_day = _until(until_value)  # a floating UNTIL stays a wall-clock bound
    walls = (_rfc_walls(parts, dtstart, stop) if rfc
             else _iterate(_body(parts), dtstart, zone, stop))
    found = []
    for local in walls:
        instant = to_utc(local, zone, rfc)
        if until_day is not None and local.date() > until_day:
            break
        if until is not None and (instant if until.tzinfo else local) > until:
            break
        found.append((local, instant))
        if count is not None and len(found) >= count:
            break
    return found


# Requests.

def _parse_time(text: str) -> datetime:
    return datetime.strptime(text.rstrip("Z"), "%Y%m%dT%H%M%S")


def _out(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def expand_rule(case: dict, rfc: bool) -> list[list[str]]:
    zone = ical.Timezone.get_builtin_timezone(case["zone"])
    if zone is None:
        raise SystemExit(f"libical has no zone {case['zone']}")
    dtstart = _parse_time(case["dtstart"])
    lo, hi = (_parse_time(case[k]).replace(tzinfo=UTC) for k in ("lo", "hi"))
    stop = hi.replace(tzinfo=None) + timedelta(days=2)
    found = []
    for local, start in expand(case["rrule"], dtstart, zone, stop, rfc):
        if case.get("duration") is not None:
            end = start + timedelta(seconds=case["duration"])
        else:
            day = local.date() + timedelta(days=1 if case["overnight"] else 0)
            end_wall = datetime.combine(day, _parse_time("20000101T" + case["end_time"]).time())
            end = to_utc(end_wall, zone, rfc)
        if lo <= start < hi and end > start:
            found.append([_out(start), _out(end)])
    return found


_GETTERS = {
    ical.PropertyKind.DTSTART_PROPERTY: ical.Property.get_dtstart,
    ical.PropertyKind.DTEND_PROPERTY: ical.Property.get_dtend,
    ical.PropertyKind.EXDATE_PROPERTY: ical.Property.get_exdate,
    ical.PropertyKind.RECURRENCEID_PROPERTY: ical.Property.get_recurrenceid,
}


def _prop_time(prop: ical.Property,
               vcal: ical.Component) -> tuple[datetime, ical.Timezone | None]:
    """A DTSTART/DTEND/RECURRENCE-ID/EXDATE value: (wall clock, its zone; None for UTC)."""
    value = _GETTERS[prop.isa()](prop)
    tzid = prop.get_parameter_as_string("TZID")
    if value.is_utc() or not tzid:
        return _fields(value), None
    zone = vcal.get_timezone(tzid)
    if zone is None:
        raise SystemExit(f"the feed has no VTIMEZONE {tzid}")
    return _fields(value), zone


def _end_by_duration(prop: ical.Property, wall: datetime, start: datetime,
                     zone: ical.Timezone | None) -> datetime:
    """RFC 5545 §3.3.6: days and weeks are nominal (wall clock), hours and less exact."""
    duration = ical.Property.get_duration(prop)
    sign = -1 if duration.is_neg() else 1
    days = sign * (duration.get_weeks() * 7 + duration.get_days())
    base = to_utc(wall + timedelta(days=days), zone) if days else start
    return base + sign * timedelta(hours=duration.get_hours(), minutes=duration.get_minutes(),
                                   seconds=duration.get_seconds())


def _event_occurrences(event: ical.Component, vcal: ical.Component,
                       stop: datetime) -> list[tuple[datetime, datetime, datetime]]:
    """(RECURRENCE-ID instant, start, end) of a master event's instances."""
    start_prop = event.get_first_property(ical.PropertyKind.DTSTART_PROPERTY)
    dtstart, zone = _prop_time(start_prop, vcal)
    rrule_prop = event.get_first_property(ical.PropertyKind.RRULE_PROPERTY)
    if rrule_prop is None:
        walls = [(dtstart, to_utc(dtstart, zone))]
    else:
        rule = ical.Recurrence.to_string(rrule_prop.get_rrule())
        walls = expand(rule, dtstart, zone, stop)
    excluded = set()
    prop = event.get_first_property(ical.PropertyKind.EXDATE_PROPERTY)
    while prop is not None:
        wall, ex_zone = _prop_time(prop, vcal)
        excluded.add(to_utc(wall, ex_zone))
        prop = event.get_next_property(ical.PropertyKind.EXDATE_PROPERTY)
    end_prop = event.get_first_property(ical.PropertyKind.DTEND_PROPERTY)
    duration_prop = event.get_first_property(ical.PropertyKind.DURATION_PROPERTY)
    # RFC 5545 §3.8.5.3: with DTEND every instance lasts DTEND - DTSTART, an exact duration.
    exact = None if end_prop is None else to_utc(*_prop_time(end_prop, vcal)) - to_utc(
        dtstart, zone)
    found = []
    for wall, start in walls:
        if start in excluded:
            continue
        end = (start + exact if exact is not None
               else _end_by_duration(duration_prop, wall, start, zone))
        found.append((start, start, end))
    return found


def expand_feed(feed: dict) -> dict[str, list[list[str]]]:
    vcal = ical.Component.new_from_string(feed["ics"])
    lo, hi = (_parse_time(feed[k]).replace(tzinfo=UTC) for k in ("lo", "hi"))
    stop = hi.replace(tzinfo=None) + timedelta(days=2)
    masters: dict[str, list[tuple[datetime, datetime, datetime]]] = {}
    overrides: dict[str, dict[datetime, tuple[datetime, datetime]]] = {}
    event = vcal.get_first_component(ical.ComponentKind.VEVENT_COMPONENT)
    while event is not None:
        uid = event.get_uid()
        rid_prop = event.get_first_property(ical.PropertyKind.RECURRENCEID_PROPERTY)
        if rid_prop is not None:
            rid = to_utc(*_prop_time(rid_prop, vcal))
            start = to_utc(*_prop_time(
                event.get_first_property(ical.PropertyKind.DTSTART_PROPERTY), vcal))
            end = to_utc(*_prop_time(
                event.get_first_property(ical.PropertyKind.DTEND_PROPERTY), vcal))
            overrides.setdefault(uid, {})[rid] = (start, end)
        else:
            masters.setdefault(uid, []).extend(_event_occurrences(event, vcal, stop))
        event = vcal.get_next_component(ical.ComponentKind.VEVENT_COMPONENT)
    answer = {}
    for uid, instances in masters.items():
        replaced = overrides.get(uid, {})
        spans = [replaced.get(rid, (start, end)) for rid, start, end in instances]
        answer[uid] = sorted([_out(s), _out(e)] for s, e in spans if lo <= s < hi and e > s)
    return answer


def _checked(function, case: dict, *args: object) -> object:
    """Run one case; on an error name the case last on stderr (the test shows the tail)."""
    try:
        return function(case, *args)
    except Exception:
        traceback.print_exc()
        print(f"while expanding {json.dumps(case)[:1500]}", file=sys.stderr)
        raise SystemExit(1) from None


def main() -> None:
    request = json.load(sys.stdin)
    rfc = request.get("rfc", True)
    with tempfile.TemporaryDirectory(prefix="libical-zones-") as tmp:
        install_zones(request.get("zones", []), request["tzdir"], Path(tmp))
        answer = {
            "rules": {case["id"]: _checked(expand_rule, case, rfc)
                      for case in request.get("rules", [])},
            "feeds": {feed["id"]: _checked(expand_feed, feed)
                      for feed in request.get("feeds", [])},
            "tzids": {name: ical.Timezone.get_builtin_timezone(name).get_tzid()
                      for name in request.get("tzids", [])},
        }
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
