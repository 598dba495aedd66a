"""``quietly preview``: a schedule in words and its next occurrences, with no server.

The flags are read exactly as ``window create`` reads them, then the schedule is validated and
expanded by ``core.schedule`` on this machine. Times are shown on the schedule's wall clock and
in UTC side by side, so a daylight-saving change is visible as a shifted UTC time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from quietly.cli_commands import schedule_flags as sf
from quietly.cli_commands.common import (
    JsonOpt,
    emit_json,
    fail_on,
    format_length,
    format_local,
    format_utc,
    table,
)
from quietly.core import schedule as core_schedule
from quietly.core.codec import format_instant, schedule_to_json
from quietly.core.errors import QuietlyError, ValidationError
from quietly.core.model import Occurrence, Schedule
from quietly.core.timeutil import get_zone, to_utc
from quietly.settings import get_settings

__all__ = ["next_occurrences", "preview"]

# Far enough for any rule that fires at all (validate() demands a first one within 10 years).
_LOOKAHEAD = timedelta(days=366 * 12)


def next_occurrences(schedule: Schedule, after: datetime, count: int) -> list[Occurrence]:
    """Up to ``count`` occurrences from ``after`` on, a running one first if there is one."""
    return core_schedule.occurrences(schedule, after, after + _LOOKAHEAD, limit=count)


def _from_instant(text: str | None, zone: str) -> datetime:
    if not text:
        return datetime.now(UTC)
    raw = text.strip()
    try:
        parsed = datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1:] in "zZ" else raw)
    except ValueError as exc:
        raise ValidationError(f"{text!r} is not a date-time such as 2026-03-01T00:00:00Z",
                              field="--from") from exc
    return to_utc(parsed, zone) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _zone_of(schedule: Schedule) -> str:
    return schedule.timezone or "UTC"


def _as_json(schedule: Schedule, found: list[Occurrence]) -> dict[str, object]:
    zone = get_zone(_zone_of(schedule))
    return {
        "human_schedule": core_schedule.human_schedule(schedule),
        "schedule": schedule_to_json(schedule),
        "occurrences": [{"start": format_instant(o.start), "end": format_instant(o.end),
                         "local_start": o.start.astimezone(zone).isoformat(),
                         "local_end": o.end.astimezone(zone).isoformat()} for o in found],
    }


def _print(schedule: Schedule, found: list[Occurrence], after: datetime) -> None:
    zone = _zone_of(schedule)
    typer.echo(core_schedule.human_schedule(schedule))
    typer.echo("")
    if not found:
        typer.echo("no occurrences after " + format_utc(after))
        return
    rows = [[i, format_local(o.start, zone), format_local(o.end, zone), format_utc(o.start),
             format_utc(o.end), format_length(o.end - o.start)
             + (" (running)" if o.start < after else "")]
            for i, o in enumerate(found, 1)]
    table(["#", f"START ({zone})", f"END ({zone})", "START (UTC)", "END (UTC)", "LENGTH"], rows)


def preview(
    rrule: sf.RRuleOpt = None, cron: sf.CronOpt = None, every: sf.EveryOpt = None,
    days: sf.DaysOpt = None, day_of_month: sf.DayOfMonthOpt = None,
    weekday_of_month: sf.WeekdayOfMonthOpt = None, short_month: sf.ShortMonthOpt = None,
    start_time: sf.StartTimeOpt = None, end_time: sf.EndTimeOpt = None,
    duration: sf.DurationOpt = None, timezone: sf.TimezoneOpt = None,
    starts_on: sf.StartsOnOpt = None, until: sf.UntilOpt = None,
    count: Annotated[int, typer.Option(min=1, max=1000,
                                       help="How many occurrences to show.")] = 5,
    from_: Annotated[str | None, typer.Option(
        "--from", help="Show occurrences from this instant on (default now; naive = the "
        "schedule's zone).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a schedule in words and its next occurrences (local and UTC); no server needed.

    Without --timezone the schedule is read in QUIETLY_DEFAULT_TIMEZONE (UTC by default).

    Example: quietly preview --every weekly --days sun --start-time 02:00 --duration 2h
    """
    flags = sf.ScheduleFlags(
        rrule=rrule, cron=cron, every=every, days=days, day_of_month=day_of_month,
        weekday_of_month=weekday_of_month, short_month=short_month, start_time=start_time,
        end_time=end_time, duration=duration, timezone=timezone, starts_on=starts_on,
        until=until)
    try:
        schedule = sf.schedule_from_wire(sf.schedule_json(flags),
                                         get_settings().default_timezone)
        after = _from_instant(from_, _zone_of(schedule))
        found = next_occurrences(schedule, after, count)
    except QuietlyError as exc:
        raise fail_on(exc) from exc
    if as_json:
        emit_json(_as_json(schedule, found))
    else:
        _print(schedule, found, after)
