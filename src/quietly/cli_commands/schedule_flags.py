"""Schedule flags shared by ``window create`` and ``preview``.

The flags become the native wire shape (``schedule_json``), which ``window create`` sends to
the server; ``preview`` turns the same shape into a domain schedule (``schedule_from_wire``)
and expands it locally, so both commands read flags identically. Flag syntax is checked here
(errors name the flag); rule-level checks are ``core.schedule.validate``'s (errors name the
schedule field, as the server's do).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Annotated, Any

import typer

from quietly.cli_commands.parsing import parse_days
from quietly.core import schedule as core_schedule
from quietly.core.codec import parse_duration
from quietly.core.errors import ValidationError
from quietly.core.model import (
    CronRule,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Rule,
    Schedule,
    SimpleRule,
)
from quietly.core.timeutil import get_zone, to_utc

__all__ = ["ScheduleFlags", "schedule_from_wire", "schedule_json"]

_PANEL = "Schedule"
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_RECURRING_ONLY = ("days", "day_of_month", "weekday_of_month", "short_month", "start_time",
                   "end_time", "duration", "starts_on", "until", "count")

OnceOpt = Annotated[bool, typer.Option("--once", help="A one-time window (--start, --end).",
                                       rich_help_panel=_PANEL)]
StartOpt = Annotated[str | None, typer.Option(
    "--start", help="--once: start, RFC 3339; naive is read in --timezone or the workspace's "
    "zone.", rich_help_panel=_PANEL)]
EndOpt = Annotated[str | None, typer.Option("--end", help="--once: end (exclusive).",
                                            rich_help_panel=_PANEL)]
RRuleOpt = Annotated[str | None, typer.Option(
    "--rrule", help="RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=SU", rich_help_panel=_PANEL)]
CronOpt = Annotated[str | None, typer.Option(
    "--cron", help="5-field cron giving start times (with --duration).", rich_help_panel=_PANEL)]
EveryOpt = Annotated[str | None, typer.Option(
    "--every", help="daily, weekly (with --days) or monthly (with --day-of-month or "
    "--weekday-of-month).", rich_help_panel=_PANEL)]
DaysOpt = Annotated[str | None, typer.Option("--days", help="Weekly: days, e.g. mon,thu.",
                                             rich_help_panel=_PANEL)]
DayOfMonthOpt = Annotated[int | None, typer.Option(
    "--day-of-month", help="Monthly: 1…31, or -1 for the last day.", rich_help_panel=_PANEL)]
WeekdayOfMonthOpt = Annotated[str | None, typer.Option(
    "--weekday-of-month", help="Monthly: 2TU (second Tuesday), -1FR (last Friday).",
    rich_help_panel=_PANEL)]
ShortMonthOpt = Annotated[str | None, typer.Option(
    "--short-month", help="Monthly day a month lacks: last_day (default) or skip.",
    rich_help_panel=_PANEL)]
StartTimeOpt = Annotated[str | None, typer.Option(
    "--start-time", help="Local start time, HH:MM.", rich_help_panel=_PANEL)]
EndTimeOpt = Annotated[str | None, typer.Option(
    "--end-time", help="Local end time, HH:MM (not after the start: the next day).",
    rich_help_panel=_PANEL)]
DurationOpt = Annotated[str | None, typer.Option(
    "--duration", help="Elapsed length instead of --end-time: 2h, 90m, PT2H.",
    rich_help_panel=_PANEL)]
TimezoneOpt = Annotated[str | None, typer.Option(
    "--timezone", help="IANA zone, e.g. Europe/Berlin.", rich_help_panel=_PANEL)]
StartsOnOpt = Annotated[str | None, typer.Option(
    "--starts-on", help="First local date, YYYY-MM-DD.", rich_help_panel=_PANEL)]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", help="Last local date (inclusive), YYYY-MM-DD.", rich_help_panel=_PANEL)]
CountOpt = Annotated[int | None, typer.Option(
    "--count", help="Stop after this many occurrences.", rich_help_panel=_PANEL)]


@dataclass(frozen=True, slots=True)
class ScheduleFlags:
    """The schedule flags as given on the command line (None when absent)."""

    once: bool = False
    start: str | None = None
    end: str | None = None
    rrule: str | None = None
    cron: str | None = None
    every: str | None = None
    days: str | None = None
    day_of_month: int | None = None
    weekday_of_month: str | None = None
    short_month: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    duration: str | None = None
    timezone: str | None = None
    starts_on: str | None = None
    until: str | None = None
    count: int | None = None

    def given(self) -> list[str]:
        """The flags that were set, as ``--flag-name``."""
        return ["--" + f.name.replace("_", "-") for f in fields(self)
                if getattr(self, f.name) not in (None, False)]


def _clock(value: str, flag: str) -> str:
    """``2:00`` or ``02:00`` → ``02:00``; anything else names the flag."""
    found = _CLOCK.match(value.strip())
    if found is None or int(found[1]) > 23 or int(found[2]) > 59:
        raise ValidationError(f"{value!r} is not a time of day; use HH:MM such as 02:00",
                              field=flag)
    return f"{int(found[1]):02d}:{found[2]}"


def _date(value: str, flag: str) -> str:
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a date; use YYYY-MM-DD", field=flag) from exc


def _once_json(f: ScheduleFlags) -> dict[str, Any]:
    extra = [name for name in _RECURRING_ONLY if getattr(f, name) is not None]
    if extra:
        flag = "--" + extra[0].replace("_", "-")
        raise ValidationError("is for recurring schedules, not --once", field=flag)
    if not f.start or not f.end:
        raise ValidationError("--once needs both --start and --end",
                              field="--end" if f.start else "--start")
    out: dict[str, Any] = {"kind": "once", "start": f.start.strip(), "end": f.end.strip()}
    if f.timezone:
        out["timezone"] = f.timezone
    return out


def _rule_json(f: ScheduleFlags) -> dict[str, Any]:
    given = [name for name in ("rrule", "cron", "every") if getattr(f, name)]
    if not given:
        raise ValidationError("give a schedule: --once with --start and --end, or one of "
                              "--rrule, --cron or --every", field="--every")
    if len(given) > 1:
        raise ValidationError(f"give only one of --rrule, --cron and --every (got "
                              f"{', '.join('--' + g for g in given)})", field="--" + given[1])
    if f.rrule:
        return {"rrule": f.rrule.strip()}
    if f.cron:
        return {"cron": f.cron.strip()}
    every = (f.every or "").strip().lower()
    if every not in ("daily", "weekly", "monthly"):
        raise ValidationError(f"{f.every!r} is not daily, weekly or monthly", field="--every")
    out: dict[str, Any] = {"every": every}
    if f.days is not None:
        out["days_of_week"] = parse_days(f.days)
    if f.day_of_month is not None:
        out["day_of_month"] = f.day_of_month
    if f.weekday_of_month:
        out["weekday_of_month"] = f.weekday_of_month.strip().upper()
    if f.short_month:
        out["short_month"] = f.short_month.strip().lower()
    return out


def schedule_json(f: ScheduleFlags) -> dict[str, Any]:
    """The native wire shape of the schedule the flags describe.

    Refuses flags that cannot go together (``--once`` with a rule, ``--start`` on a recurring
    schedule, two rules); leaves the rest — and the workspace's default zone — to the server.
    """
    if f.once:
        return _once_json(f)
    if f.start or f.end:
        raise ValidationError("--start and --end are for --once; a recurring schedule uses "
                              "--start-time, --end-time or --duration, and --starts-on",
                              field="--start" if f.start else "--end")
    out = {"kind": "recurring", **_rule_json(f)}
    if f.timezone:
        out["timezone"] = f.timezone.strip()
    if f.start_time:
        out["start_time"] = _clock(f.start_time, "--start-time")
    if f.end_time:
        out["end_time"] = _clock(f.end_time, "--end-time")
    if f.duration:
        parse_duration(f.duration, "--duration")
        out["duration"] = f.duration.strip()
    if f.starts_on:
        out["starts_on"] = _date(f.starts_on, "--starts-on")
    if f.until:
        out["until"] = _date(f.until, "--until")
    if f.count is not None:
        out["count"] = f.count
    return out


def _instant(value: str, field: str, zone: str) -> datetime:
    """RFC 3339 → aware; a naive value is wall-clock time in ``zone`` (never the machine's)."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a date-time such as 2026-12-01T02:00:00Z",
                              field=field) from exc
    return to_utc(parsed, zone) if parsed.tzinfo is None else parsed


def _wire_rule(data: dict[str, Any]) -> Rule:
    if data.get("rrule"):
        return RRuleRule(rrule=str(data["rrule"]).removeprefix("RRULE:"))
    if data.get("cron"):
        return CronRule(cron=str(data["cron"]))
    return SimpleRule(every=data["every"], days_of_week=tuple(data.get("days_of_week") or ()),
                      day_of_month=data.get("day_of_month"),
                      weekday_of_month=data.get("weekday_of_month"),
                      short_month=data.get("short_month") or "last_day")


def schedule_from_wire(data: dict[str, Any], default_zone: str) -> Schedule:
    """The domain schedule of a wire shape made by ``schedule_json``, validated.

    ``default_zone`` stands in for the workspace's zone when no ``timezone`` is given. Raises
    ``ValidationError``/``ScheduleError`` naming the field.
    """
    zone = data.get("timezone") or default_zone
    get_zone(zone)
    built: Schedule
    if data["kind"] == "once":
        built = OnceSchedule(start=_instant(data["start"], "schedule.start", zone),
                             end=_instant(data["end"], "schedule.end", zone),
                             timezone=data.get("timezone"))
    else:
        built = RecurringSchedule(
            timezone=zone, rule=_wire_rule(data),
            start_time=time.fromisoformat(data["start_time"]) if "start_time" in data else None,
            end_time=time.fromisoformat(data["end_time"]) if "end_time" in data else None,
            duration=parse_duration(data["duration"], "schedule.duration")
            if "duration" in data else None,
            starts_on=date.fromisoformat(data["starts_on"]) if "starts_on" in data else None,
            until=date.fromisoformat(data["until"]) if "until" in data else None,
            count=data.get("count"))
    core_schedule.validate(built)
    return built
