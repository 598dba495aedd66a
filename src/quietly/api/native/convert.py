"""Native request schemas → domain values, with errors that name the field."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError

from quietly.api.native.instants import parse_instant_field
from quietly.api.native.schemas import (
    MatcherIn,
    ScheduleIn,
    ScheduleOnce,
    WindowCreate,
    WindowUpdate,
)
from quietly.core.codec import MAX_YEAR, MIN_YEAR, parse_duration
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
from quietly.core.records import WindowFields
from quietly.core.timeutil import get_zone

__all__ = ["match_from_schema", "parse_instant_field", "schedule_from_schema",
           "update_changes", "window_fields_from_create"]

_RULE_KEYS = ("rrule", "cron", "every")
_SIMPLE_KEYS = ("days_of_week", "day_of_month", "weekday_of_month", "short_month")
_SCHEDULE = TypeAdapter[ScheduleIn](ScheduleIn)


def _zone(name: str, field: str) -> str:
    try:
        get_zone(name)
    except ValidationError as exc:
        raise ValidationError(exc.message, field=field) from exc
    return name


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def _date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from exc
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValidationError(f"use a year from {MIN_YEAR} to {MAX_YEAR}", field=field)
    return parsed


def _rule(s: Any) -> RRuleRule | CronRule | SimpleRule:
    given = [name for name in ("rrule", "cron", "every") if getattr(s, name)]
    if len(given) != 1:
        raise ValidationError("give exactly one of rrule, cron or every",
                              field="schedule." + (given[1] if len(given) > 1 else "rrule"))
    if s.rrule:
        return RRuleRule(rrule=s.rrule.strip().removeprefix("RRULE:"))
    if s.cron:
        return CronRule(cron=s.cron.strip())
    return SimpleRule(
        every=s.every,
        days_of_week=tuple(s.days_of_week or ()),
        day_of_month=s.day_of_month,
        weekday_of_month=s.weekday_of_month.upper() if s.weekday_of_month else None,
        short_month=s.short_month or "last_day",
    )


def schedule_from_schema(s: ScheduleIn, workspace_zone: str) -> Schedule:
    if isinstance(s, ScheduleOnce):
        zone = _zone(s.timezone, "schedule.timezone") if s.timezone else workspace_zone
        return OnceSchedule(start=parse_instant_field(s.start, "schedule.start", zone),
                            end=parse_instant_field(s.end, "schedule.end", zone),
                            timezone=s.timezone)
    zone = _zone(s.timezone or workspace_zone, "schedule.timezone")
    rule = _rule(s)
    if not isinstance(rule, SimpleRule):
        for name in ("days_of_week", "day_of_month", "weekday_of_month", "short_month"):
            if getattr(s, name) is not None:
                raise ValidationError(f"{name} belongs to the 'every' forms only",
                                      field=f"schedule.{name}")
    return RecurringSchedule(
        timezone=zone,
        rule=rule,
        start_time=_time(s.start_time),
        end_time=_time(s.end_time),
        duration=parse_duration(s.duration, "schedule.duration") if s.duration else None,
        starts_on=_date(s.starts_on, "schedule.starts_on"),
        until=_date(s.until, "schedule.until"),
        count=s.count,
    )


def _matcher(m: MatcherIn, field: str) -> Matcher:
    if m.op in (MatcherOp.ONE_OF, MatcherOp.NOT_ONE_OF):
        if not m.values:
            raise ValidationError(f"{m.op.value} needs a non-empty 'values' list",
                                  field=f"{field}.values")
        return Matcher(m.label, m.op, values=tuple(m.values))
    if m.op in (MatcherOp.IS_SET, MatcherOp.IS_BLANK):
        return Matcher(m.label, m.op)
    if m.value is None:
        raise ValidationError(f"the {m.op.value!r} operator needs a 'value'",
                              field=f"{field}.value")
    return Matcher(m.label, m.op, value=m.value)


def match_from_schema(groups: list[list[MatcherIn]]) -> tuple[ConditionGroup, ...]:
    out = []
    for i, group in enumerate(groups):
        if not group:
            raise ValidationError("a condition group needs at least one matcher",
                                  field=f"match[{i}]")
        out.append(ConditionGroup(tuple(_matcher(m, f"match[{i}][{j}]")
                                        for j, m in enumerate(group))))
    return tuple(out)


_PLAIN = ("description", "all_targets", "notify_start_minutes_before",
          "notify_end_minutes_before", "notification_message", "resolve_on_end",
          "reroute_on_end", "incident_id", "lead", "publish_to_status_page", "show_in_sidebar",
          "name")
_LISTS = ("targets", "groups", "notify_channels", "escalation_targets")


def _common(body: WindowCreate | WindowUpdate, creating: bool) -> dict[str, Any]:
    """The fields whose wire and domain forms differ only by container type (``creating``:
    ``body`` is a ``WindowCreate``)."""
    # The model's values straight from its ``__dict__`` (pydantic keeps each field there
    # under its name): a bulk create converts thousands of bodies, and ``getattr`` on a
    # model, like its class's isinstance check (pydantic's metaclass), is slow.
    given = body.model_fields_set
    values = body.__dict__
    if creating:
        out = {name: value for name in _PLAIN
               if (value := values[name]) is not None or name in given}
    else:
        out = {name: values[name] for name in _PLAIN if name in given}
    for name in _LISTS:
        value = values[name]
        if value is not None:
            out[name] = tuple(dict.fromkeys(value))
    if values["effects"] is not None:
        out["effects"] = tuple(dict.fromkeys(values["effects"]))
    if values["match"] is not None:
        out["match"] = match_from_schema(values["match"])
    return out


def window_fields_from_create(body: WindowCreate, workspace_zone: str) -> WindowFields:
    values = _common(body, creating=True)
    values["schedule"] = schedule_from_schema(body.schedule, workspace_zone)
    return WindowFields(**values)


def update_changes(body: WindowUpdate, current_schedule: dict[str, Any],
                   workspace_zone: str) -> dict[str, Any]:
    """The domain changes a PATCH asks for; ``schedule`` keys merge into the current one."""
    changes = {k: v for k, v in _common(body, creating=False).items() if k in body.model_fields_set}
    for name in ("name", "all_targets", "resolve_on_end", "reroute_on_end",
                 "publish_to_status_page", "show_in_sidebar"):
        if name in changes and changes[name] is None:
            raise ValidationError("must not be null", field=name)
    if body.schedule is not None:
        merged = dict(current_schedule)
        if body.schedule.get("kind", merged["kind"]) != merged["kind"]:
            merged = {}
        if any(body.schedule.get(k) for k in _RULE_KEYS):
            # A new rule replaces the old one and everything that belonged to it.
            for key in (*_RULE_KEYS, *_SIMPLE_KEYS):
                merged.pop(key, None)
        merged.update(body.schedule)
        merged = {k: v for k, v in merged.items() if v is not None}
        if "duration" in body.schedule and body.schedule["duration"] is not None:
            merged.pop("end_time", None)
        if "end_time" in body.schedule and body.schedule["end_time"] is not None:
            merged.pop("duration", None)
        try:
            parsed = _SCHEDULE.validate_python(merged)
        except PydanticError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"] if p not in ("once", "recurring"))
            raise ValidationError(err["msg"], field=f"schedule.{loc}" if loc else "schedule") \
                from exc
        changes["schedule"] = schedule_from_schema(parsed, workspace_zone)
    return changes
