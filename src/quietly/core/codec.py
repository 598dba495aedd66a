"""Domain objects ↔ plain JSON-able dicts in the native wire shape (DESIGN §4a).

The same shape is stored in the database's JSON columns, so a stored schedule reads back
exactly as the API showed it. Parsing here assumes the shape was already checked (by the API's
schemas, or because it was written by ``*_to_json``); rule-level checks are ``schedule.validate``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from quietly.core.errors import ValidationError
from quietly.core.model import (
    ConditionGroup,
    CronRule,
    Matcher,
    MatcherOp,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Schedule,
    SimpleRule,
)

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "check_instant_range",
    "format_duration",
    "format_instant",
    "match_from_json",
    "match_to_json",
    "parse_duration",
    "parse_instant",
    "schedule_from_json",
    "schedule_to_json",
]

# The calendar range every API accepts: wide enough for any maintenance, and it keeps zone
# arithmetic (a naive 0001-01-01 read in +14:00, say) from overflowing.
MIN_YEAR, MAX_YEAR = 1970, 2999


def check_instant_range(value: datetime, field: str) -> datetime:
    """Return ``value`` if its year is within [MIN_YEAR, MAX_YEAR], else a ValidationError."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(f"must lie between the years {MIN_YEAR} and {MAX_YEAR}",
                              field=field)
    return value


_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_SHORT_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_duration(text: str, field: str = "duration") -> timedelta:
    """Read an ISO 8601 duration (``PT2H30M``, ``P1D``) or the short form ``2h30m``.

    Years and months are refused: their length depends on the calendar.
    """
    found = _duration(text)
    if found is None:
        raise ValidationError(
            f"{text!r} is not a duration; use ISO 8601 such as 'PT30M' or 'P1DT2H', or '90m'",
            field=field,
        )
    return found


@lru_cache(maxsize=256)
def _duration(text: str) -> timedelta | None:
    """``parse_duration`` of ``text``, ``None`` where it refuses it; kept for the last 256
    texts (a duration is immutable, and a start-up's load reads the same few thousands of
    times: half of decoding a recurring schedule; issue 19)."""
    raw = text.strip()
    found = _DURATION.match(raw.upper()) or _SHORT_DURATION.match(raw.lower())
    if not raw or raw.upper() in ("P", "PT") or found is None:
        return None
    parts = {k: float(v) for k, v in found.groupdict().items() if v}
    weeks = parts.get("w", 0.0)
    return timedelta(weeks=weeks, days=parts.get("d", 0.0), hours=parts.get("h", 0.0),
                     minutes=parts.get("m", 0.0), seconds=parts.get("s", 0.0))


def format_duration(value: timedelta) -> str:
    """Write a duration as ISO 8601 (``PT2H``, ``P1DT30M``)."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    clock += f"{seconds}S" if seconds else ""
    if clock:
        out += "T" + clock
    return out if out != "P" else "PT0S"


def parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def format_instant(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``; whole seconds unless the value has a fraction."""
    text = value.isoformat()
    return text.replace("+00:00", "Z")


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _rule_from_json(data: dict[str, Any]) -> RRuleRule | CronRule | SimpleRule:
    if data.get("rrule"):
        return RRuleRule(rrule=data["rrule"])
    if data.get("cron"):
        return CronRule(cron=data["cron"])
    return SimpleRule(
        every=data["every"],
        days_of_week=tuple(data.get("days_of_week") or ()),
        day_of_month=data.get("day_of_month"),
        weekday_of_month=data.get("weekday_of_month"),
        short_month=data.get("short_month") or "last_day",
    )


def schedule_from_json(data: dict[str, Any]) -> Schedule:
    """Build a schedule from its wire shape (instants already aware)."""
    if data["kind"] == "once":
        start, end = data["start"], data["end"]
        return OnceSchedule(
            start=parse_instant(start) if isinstance(start, str) else start,
            end=parse_instant(end) if isinstance(end, str) else end,
            timezone=data.get("timezone"),
        )
    duration = data.get("duration")
    return RecurringSchedule(
        timezone=data["timezone"],
        rule=_rule_from_json(data),
        start_time=_time(data.get("start_time")),
        end_time=_time(data.get("end_time")),
        duration=parse_duration(duration, "schedule.duration") if duration else None,
        starts_on=_date(data.get("starts_on")),
        until=_date(data.get("until")),
        count=data.get("count"),
    )


def _rule_to_json(rule: RRuleRule | CronRule | SimpleRule) -> dict[str, Any]:
    if isinstance(rule, RRuleRule):
        return {"rrule": rule.rrule}
    if isinstance(rule, CronRule):
        return {"cron": rule.cron}
    out: dict[str, Any] = {"every": rule.every}
    if rule.every == "weekly":
        out["days_of_week"] = list(rule.days_of_week)
    if rule.every == "monthly":
        if rule.weekday_of_month:
            out["weekday_of_month"] = rule.weekday_of_month
        else:
            out["day_of_month"] = rule.day_of_month
            out["short_month"] = rule.short_month
    return out


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    """The wire shape of a schedule; ``None`` values are kept so the shape is stable."""
    if isinstance(schedule, OnceSchedule):
        return {
            "kind": "once",
            "start": format_instant(schedule.start),
            "end": format_instant(schedule.end),
            "timezone": schedule.timezone,
        }
    return {
        "kind": "recurring",
        "timezone": schedule.timezone,
        **_rule_to_json(schedule.rule),
        "start_time": schedule.start_time.strftime("%H:%M") if schedule.start_time else None,
        "end_time": schedule.end_time.strftime("%H:%M") if schedule.end_time else None,
        "duration": format_duration(schedule.duration) if schedule.duration else None,
        "starts_on": schedule.starts_on.isoformat() if schedule.starts_on else None,
        "until": schedule.until.isoformat() if schedule.until else None,
        "count": schedule.count,
    }


def _matcher_to_json(matcher: Matcher) -> dict[str, Any]:
    out: dict[str, Any] = {"label": matcher.label, "op": matcher.op.value}
    if matcher.op in (MatcherOp.ONE_OF, MatcherOp.NOT_ONE_OF):
        out["values"] = list(matcher.values)
    elif matcher.op not in (MatcherOp.IS_SET, MatcherOp.IS_BLANK):
        out["value"] = matcher.value
    return out


def match_to_json(groups: tuple[ConditionGroup, ...]) -> list[list[dict[str, Any]]]:
    return [[_matcher_to_json(m) for m in group.matchers] for group in groups]


def match_from_json(data: list[list[dict[str, Any]]]) -> tuple[ConditionGroup, ...]:
    return tuple(
        ConditionGroup(
            tuple(
                Matcher(
                    label=m["label"],
                    op=MatcherOp(m["op"]),
                    value=m.get("value") or "",
                    values=tuple(m.get("values") or ()),
                )
                for m in group
            )
        )
        for group in data
    )
