"""One way to write dates, times and zones across the UI; ``static/app.js`` mirrors it.

- A date is ``Tue 15 Jan``, with the year when it is not the current year in the zone shown
  (``Tue 15 Jan 2030``).
- A time follows the reader's 24/12-hour habit: ``23:00`` or ``11:00 PM``. The browser tells
  us (``app.js`` reads ``Intl`` and keeps it in the ``quietly_clock`` cookie); before it has,
  the first language of ``Accept-Language`` decides.
- A zone is named by its IANA name (``Europe/Berlin``); an instant carries its UTC offset at
  that instant (``UTC+1``, ``UTC-5`` with a minus sign, ``UTC+10:30``, ``UTC``) — never a
  locale-dependent abbreviation, which browsers spell ``CET`` or ``GMT+1`` by language.
- A range is ``Sun 29 Mar, 03:30-04:00 UTC+2`` (an en dash); the end repeats the date or the
  offset only when it differs (``Sun 25 Oct, 01:00 UTC+2 - 04:00 UTC+1``).

The server renders every text in a page's own zone (the page works without JavaScript); the
browser re-renders instants in its zone with exactly these rules.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Literal

from markupsafe import Markup, escape
from starlette.requests import Request

from quietly.core.codec import format_instant
from quietly.core.timeutil import to_local

__all__ = ["CLOCK_COOKIE", "Clock", "clock_of", "clock_text", "date_text", "instant_text",
           "mark_wall_times", "offset_text", "range_text"]

Clock = Literal["h12", "h23"]
CLOCK_COOKIE = "quietly_clock"
# Languages whose usual clock is 12-hour (CLDR), for a first page before app.js has run.
_TWELVE_HOUR = frozenset({"en", "en-us", "en-ca", "en-au", "en-nz", "en-in", "en-ph", "es-us",
                          "hi", "hi-in", "ar", "ko", "ko-kr", "zh-tw", "bn", "ur", "en-pk"})
_WALL_TIME = re.compile(r"\b([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\b")
MINUS = "\u2212"  # U+2212, as typeset; app.js writes the same
EN_DASH = "\u2013"


def clock_of(request: Request) -> Clock:
    """The reader's habit: the browser's own (cookie), else its first language's."""
    cookie = request.cookies.get(CLOCK_COOKIE)
    if cookie in ("h12", "h23"):
        return "h12" if cookie == "h12" else "h23"
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0]
    return "h12" if first.strip().lower() in _TWELVE_HOUR else "h23"


def clock_text(value: time | datetime, clock: Clock) -> str:
    """``23:00`` or ``11:00 PM`` (seconds only when there are some)."""
    seconds = f":{value.second:02d}" if value.second else ""
    if clock == "h23":
        return f"{value.hour:02d}:{value.minute:02d}{seconds}"
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d}{seconds} {'AM' if value.hour < 12 else 'PM'}"


def offset_text(offset: timedelta | None) -> str:
    """``UTC``, ``UTC+1``, ``UTC-5`` (a minus sign), ``UTC+5:30``."""
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else MINUS
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def date_text(day: date, this_year: int, *, weekday: bool = True) -> str:
    """``Tue 15 Jan``, or ``Tue 15 Jan 2030`` when not in ``this_year``."""
    text = f"{day:%a} {day.day} {day:%b}" if weekday else f"{day.day} {day:%b}"
    return text if day.year == this_year else f"{text} {day.year}"


def instant_text(instant: datetime, zone: str, style: str, clock: Clock, now: datetime) -> str:
    """``instant`` in ``zone``: style ``datetime`` (default), ``time``, ``date`` or ``day``."""
    # Instants are written to the minute (a "now" window starts at 15:48:45); wall-clock
    # times of a rule keep the seconds they were given.
    local = to_local(instant, zone).replace(second=0, microsecond=0)
    this_year = to_local(now, zone).year
    if style == "time":
        return clock_text(local, clock)
    if style == "date":
        return date_text(local.date(), this_year)
    if style == "day":  # the timeline's axis: the month only on its first day
        return f"{local:%a} {local.day}" + (f" {local:%b}" if local.day == 1 else "")
    return (f"{date_text(local.date(), this_year)}, {clock_text(local, clock)} "
            f"{offset_text(local.utcoffset())}")


def range_text(start: datetime, end: datetime, zone: str, clock: Clock, now: datetime) -> str:
    """``Sun 29 Mar, 03:30-04:00 UTC+2``; the end names its date or offset when they differ."""
    a, b = (to_local(v, zone).replace(second=0, microsecond=0) for v in (start, end))
    this_year = to_local(now, zone).year
    same_day, same_offset = a.date() == b.date(), a.utcoffset() == b.utcoffset()
    first = f"{date_text(a.date(), this_year)}, {clock_text(a, clock)}"
    last = clock_text(b, clock) if same_day else (
        f"{date_text(b.date(), this_year)}, {clock_text(b, clock)}")
    if same_offset:
        joiner = EN_DASH if same_day else f" {EN_DASH} "
        return f"{first}{joiner}{last} {offset_text(b.utcoffset())}"
    return (f"{first} {offset_text(a.utcoffset())} {EN_DASH} {last} "
            f"{offset_text(b.utcoffset())}")


def time_markup(instant: datetime, zone: str, style: str, clock: Clock, now: datetime, *,
                fixed: bool = False) -> Markup:
    """A ``<time>`` for ``instant``: in ``zone`` on the server; in the browser's zone once
    ``app.js`` has run, unless ``fixed`` (a column that names its zone keeps it)."""
    text = instant_text(instant, zone, style, clock, now)
    title = f"{instant_text(instant, zone, 'datetime', clock, now)} ({zone})"
    pin = Markup(' data-zone="{}"').format(zone) if fixed else Markup("")
    return Markup('<time datetime="{}" data-local="{}" data-home="{}"{} title="{}">{}</time>'
                  ).format(format_instant(instant), style, zone, pin, title, text)


def range_markup(start: datetime, end: datetime, zone: str, clock: Clock, now: datetime, *,
                 fixed: bool = False) -> Markup:
    """A range the browser re-renders like ``time_markup`` (one element, one rule)."""
    text = range_text(start, end, zone, clock, now)
    title = f"{text} ({zone})"
    pin = Markup(' data-zone="{}"').format(zone) if fixed else Markup("")
    return Markup('<span class="when" data-range data-start="{}" data-end="{}" data-home="{}"{}'
                  ' title="{}">{}</span>').format(format_instant(start), format_instant(end),
                                                   zone, pin, title, _range_halves(text))


def _range_halves(text: str) -> Markup:
    """A range's text with each end in a ``nobr`` span: a narrow column may break a range
    that spans two days at its dash, never inside a date or a time (``app.js`` splits the
    text it writes the same way)."""
    joiner = f" {EN_DASH} "
    return escape(joiner).join(Markup('<span class="nobr">{}</span>').format(half)
                               for half in text.split(joiner))


def mark_wall_times(text: str, clock: Clock) -> Markup:
    """Wrap each ``HH:MM`` wall-clock time of a text (a schedule in words, a note) in a
    ``<time>`` written in the reader's habit, which ``app.js`` keeps in step with Intl."""
    out, last = [], 0
    for found in _WALL_TIME.finditer(text):
        value = time(int(found[1]), int(found[2]), int(found[3] or 0))
        out.append(escape(text[last:found.start()]))
        out.append(Markup('<time datetime="{}" data-wall>{}</time>').format(
            found[0], clock_text(value, clock)))
        last = found.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
