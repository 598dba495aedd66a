"""Parse RRULE bodies and map the simple forms and cron macros onto them.

Every recurring non-cron form becomes an RRULE body here, and the body becomes a
``ParsedRule``: dateutil's constructor arguments, ready to be anchored at a naive wall-clock
DTSTART. We parse the body ourselves instead of calling ``rrulestr`` so that every message names
the part that is wrong, and so that DTSTART/TZID never reach dateutil (STACK trap 5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from dateutil import rrule as du

from quietly.core.errors import ScheduleError
from quietly.core.model import RecurringSchedule, RRuleRule, SimpleRule

__all__ = [
    "CRON_MACROS",
    "DAY_CODES",
    "MAX_COUNT",
    "Freq",
    "ParsedRule",
    "default_dtstart_date",
    "end_of_day",
    "normalize_cron",
    "parse_rrule",
    "rrule_body",
    "simple_rule_body",
    "weekday_of_month_code",
]

RRULE_FIELD = "schedule.rrule"
MAX_COUNT = 10_000
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Freq = Literal[0, 1, 2, 3]  # dateutil's YEARLY, MONTHLY, WEEKLY, DAILY
_FREQS: dict[str, Freq] = {
    "YEARLY": du.YEARLY, "MONTHLY": du.MONTHLY, "WEEKLY": du.WEEKLY, "DAILY": du.DAILY,
}
_SUB_DAILY = {"HOURLY", "MINUTELY", "SECONDLY"}
_INT_PARTS = {  # part → (dateutil argument, smallest and largest absolute value)
    "BYSETPOS": ("bysetpos", 1, 366),
    "BYMONTH": ("bymonth", 1, 12),
    "BYMONTHDAY": ("bymonthday", 1, 31),
    "BYYEARDAY": ("byyearday", 1, 366),
    "BYWEEKNO": ("byweekno", 1, 53),
    "BYEASTER": ("byeaster", 0, 366),
}
_NO_NEGATIVE = {"BYMONTH"}
_BYDAY_RE = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_WEEKDAY_OF_MONTH_RE = re.compile(r"^([+-]?)([1-5])(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL_RE = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")

# cronsim has no macros; these are Vixie/Debian cron's. @reboot has no instants at all.
CRON_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True, slots=True)
class ParsedRule:
    """An RRULE body as dateutil arguments, not yet anchored at a DTSTART.

    ``until`` is ``None``, a naive local wall-clock bound (a date or a floating date-time,
    inclusive) or an aware UTC instant (``UNTIL=…Z``: RFC 5545 bounds the *instants*, so it is
    never compared on the wall clock); ``options`` holds the BY* arguments and WKST as sorted
    ``(name, value)`` pairs so the object stays hashable.
    """

    freq: Freq
    interval: int
    count: int | None
    until: datetime | None
    options: tuple[tuple[str, Any], ...]

    def kwargs(self) -> dict[str, Any]:
        return dict(self.options)


def _fail(message: str) -> ScheduleError:
    return ScheduleError(message, field=RRULE_FIELD)


def _split(body: str) -> dict[str, str]:
    """Split ``KEY=VALUE;…`` into a dict; reject DTSTART, TZID, duplicates and empty values."""
    text = body.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:"):]
    if "DTSTART" in text.upper() or "TZID" in text.upper() or "\n" in text:
        raise _fail("DTSTART and TZID do not belong in the rule: use starts_on, start_time "
                    "and timezone")
    parts: dict[str, str] = {}
    for raw in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = raw.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not sep or not key or not value:
            raise _fail(f"{raw!r} is not of the form NAME=VALUE")
        if key in parts:
            raise _fail(f"{key} is given twice")
        parts[key] = value
    if not parts:
        raise _fail("the rule is empty; it needs at least FREQ, e.g. FREQ=WEEKLY;BYDAY=SU")
    return parts


def _ints(key: str, value: str) -> tuple[int, ...]:
    _, low, high = _INT_PARTS[key]
    out: list[int] = []
    for item in value.split(","):
        if not re.fullmatch(r"[+-]?\d{1,3}", item):
            raise _fail(f"{key} takes whole numbers, not {item!r}")
        n = int(item)
        if not low <= abs(n) <= high or (n < 0 and key in _NO_NEGATIVE):
            sign = "" if key in _NO_NEGATIVE or low == 0 else "±"
            raise _fail(f"{key} value {n} is out of range ({sign}{low}…{high})")
        out.append(n)
    return tuple(sorted(set(out)))


def _byday(value: str, freq: int) -> tuple[du.weekday, ...]:
    out: list[du.weekday] = []
    for item in value.split(","):
        match = _BYDAY_RE.match(item)
        if not match:
            raise _fail(f"BYDAY entry {item!r} is not a day code such as MO or 2TU or -1FR")
        nth = int(match.group(1)) if match.group(1) else None
        if nth is not None:
            if freq not in (du.MONTHLY, du.YEARLY):
                raise _fail(f"BYDAY {item}: a numbered weekday needs FREQ=MONTHLY or YEARLY")
            limit = 5 if freq == du.MONTHLY else 53
            if not 1 <= abs(nth) <= limit:
                raise _fail(f"BYDAY {item}: the number must be ±1…{limit}")
        out.append(du.weekday(DAY_CODES.index(match.group(2)), nth))
    return tuple(out)


def _until(value: str) -> datetime:
    """Read UNTIL: a date or floating date-time is a naive local bound, ``…Z`` a UTC instant."""
    match = _UNTIL_RE.match(value)
    if not match:
        raise _fail(f"UNTIL {value!r} must look like 20261231 or 20261231T235959 or …Z")
    try:
        # Wall-clock values are naive on purpose: they are read in the schedule's zone.
        day = datetime.strptime(match.group(1), "%Y%m%d")  # noqa: DTZ007
        if match.group(2) is None:  # a date: the whole local day is included
            return datetime.combine(day.date(), time.max)
        moment = datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")  # noqa: DTZ007
    except ValueError as exc:
        raise _fail(f"UNTIL {value!r} is not a real date-time") from exc
    return moment.replace(tzinfo=UTC) if match.group(3) else moment


def _freq(parts: dict[str, str]) -> Freq:
    value = parts.pop("FREQ", None)
    if value is None:
        raise _fail("FREQ is required (DAILY, WEEKLY, MONTHLY or YEARLY)")
    if value in _SUB_DAILY:
        raise _fail(f"FREQ={value} is finer than daily: use cron for sub-daily starts")
    if value not in _FREQS:
        raise _fail(f"FREQ={value} is not one of DAILY, WEEKLY, MONTHLY, YEARLY")
    return _FREQS[value]


def _positive(key: str, value: str | None) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise _fail(f"{key} must be a whole number ≥ 1, not {value!r}")
    return int(value)


def parse_rrule(body: str, zone: str) -> ParsedRule:
    """Parse an RRULE body (``FREQ=WEEKLY;BYDAY=SU``) of a schedule in ``zone``.

    The zone is not needed to parse (a UTC UNTIL stays an instant); callers pass it because a
    rule only has meaning in a zone.

    Rejects FREQ finer than DAILY (rrule duplicates and skips sub-daily instants at DST
    changes; cron is the tool for that), BYHOUR/BYMINUTE/BYSECOND (the time is start_time),
    DTSTART/TZID, unknown parts, and out-of-range values. Does not check that the rule fires.
    """
    parts = _split(body)
    for key, use in (("BYHOUR", "start_time"), ("BYMINUTE", "start_time"),
                     ("BYSECOND", "start_time")):
        if key in parts:
            raise _fail(f"{key} is not allowed: the time of day comes from {use}")
    freq = _freq(parts)
    interval = _positive("INTERVAL", parts.pop("INTERVAL", None)) or 1
    count = _positive("COUNT", parts.pop("COUNT", None))
    if count is not None and count > MAX_COUNT:
        raise _fail(f"COUNT must be at most {MAX_COUNT}")
    until_text = parts.pop("UNTIL", None)
    if count is not None and until_text is not None:
        raise _fail("COUNT and UNTIL cannot both be given (RFC 5545)")
    until = _until(until_text) if until_text is not None else None
    options: dict[str, Any] = {}
    if "WKST" in parts:
        wkst = parts.pop("WKST")
        if wkst not in DAY_CODES:
            raise _fail(f"WKST {wkst!r} is not a day code such as MO")
        options["wkst"] = DAY_CODES.index(wkst)
    if "BYDAY" in parts:
        options["byweekday"] = _byday(parts.pop("BYDAY"), freq)
    for key in list(parts):
        if key not in _INT_PARTS:
            raise _fail(f"unknown or unsupported part {key}")
        options[_INT_PARTS[key][0]] = _ints(key, parts.pop(key))
    return ParsedRule(freq, interval, count, until, tuple(sorted(options.items())))


def simple_rule_body(rule: SimpleRule) -> str:
    """Return the RRULE body a simple form compiles to (without COUNT/UNTIL).

    Monthly day d ≥ 29 with ``last_day`` becomes ``BYMONTHDAY=28,…,d;BYSETPOS=-1``, i.e.
    min(d, month length); d ≤ -29 becomes ``BYMONTHDAY=-28,…,d;BYSETPOS=1`` (the first day
    in months too short). ``skip`` is plain ``BYMONTHDAY`` (RFC 5545: short months skip).
    """
    if rule.every == "daily":
        return "FREQ=DAILY"
    if rule.every == "weekly":
        days = sorted({DAY_NAMES.index(d.lower()) for d in rule.days_of_week})
        return "FREQ=WEEKLY;BYDAY=" + ",".join(DAY_CODES[d] for d in days)
    if rule.weekday_of_month is not None:
        return f"FREQ=MONTHLY;BYDAY={weekday_of_month_code(rule.weekday_of_month)}"
    day = rule.day_of_month
    assert day is not None  # validate() guarantees one of the two
    if rule.short_month == "skip" or -28 <= day <= 28:
        return f"FREQ=MONTHLY;BYMONTHDAY={day}"
    step = 1 if day > 0 else -1
    candidates = ",".join(str(d) for d in range(28 * step, day + step, step))
    return f"FREQ=MONTHLY;BYMONTHDAY={candidates};BYSETPOS={-step}"


def weekday_of_month_code(text: str) -> str:
    """Return ``2TU``/``-1FR`` for a valid weekday-of-month such as ``+2tu``; else raise."""
    match = _WEEKDAY_OF_MONTH_RE.match(text.strip().upper())
    if match is None:
        raise ScheduleError(f"{text!r} is not an n-th weekday such as 2TU or -1FR",
                            field="schedule.weekday_of_month")
    sign, nth, code = match.groups()
    return f"{'-' if sign == '-' else ''}{nth}{code}"


def rrule_body(schedule: RecurringSchedule) -> str | None:
    """Return the full RRULE body the schedule compiles to, or ``None`` for cron.

    Adds ``COUNT`` and ``UNTIL`` from the schedule; UNTIL is the local end of the ``until``
    day as a floating date-time (``20261231T235959``), to be read in the schedule's zone.

    A part is never written twice, and COUNT never next to UNTIL (RFC 5545 allows one limit):
    when the RRULE text already has COUNT or UNTIL, the schedule's own ``count``/``until`` is
    not appended. validate() rejects such a combination; for one stored before that check the
    text keeps the rule's own limit, which is also the limit expansion goes by for COUNT.
    """
    if isinstance(schedule.rule, RRuleRule):
        body = ";".join(p.strip() for p in schedule.rule.rrule.strip().split(";") if p.strip())
        if body.upper().startswith("RRULE:"):
            body = body[len("RRULE:"):]
    elif isinstance(schedule.rule, SimpleRule):
        body = simple_rule_body(schedule.rule)
    else:
        return None
    if _limit_parts(body):
        return body
    if schedule.count is not None:
        body += f";COUNT={schedule.count}"
    elif schedule.until is not None:
        body += f";UNTIL={schedule.until:%Y%m%d}T235959"
    return body


def _limit_parts(body: str) -> set[str]:
    """Return which of ``COUNT`` and ``UNTIL`` the RRULE text names (case-insensitive)."""
    names = {part.partition("=")[0].strip().upper() for part in body.split(";")}
    return names & {"COUNT", "UNTIL"}


def normalize_cron(expr: str) -> str:
    """Map a cron macro to its five fields and collapse whitespace; leave the rest to cronsim."""
    text = " ".join(expr.split())
    return CRON_MACROS.get(text.lower(), text)


def default_dtstart_date(starts_on: date | None) -> date:
    """Return the first date the rule is anchored at: ``starts_on``, else 2000-01-01.

    The service layer always fills ``starts_on`` for RRULE and simple forms; the fallback keeps
    the functions total (and makes INTERVAL>1 phases well defined) when it did not.
    """
    return starts_on if starts_on is not None else date(2000, 1, 1)


def end_of_day(day: date) -> datetime:
    """Return the last representable naive instant of ``day`` (an inclusive local bound)."""
    return datetime.combine(day, time()) + timedelta(days=1, microseconds=-1)
