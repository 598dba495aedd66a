"""The window form: browser fields ↔ the native API's JSON, so the rules are the API's own.

A submitted form becomes the exact JSON body ``POST /api/v1/windows`` accepts; it is then
validated by the same schema (``WindowCreate``) and converted by the same functions
(``api.native.convert``), and the services apply the same rules. Every error is keyed by the
form field it belongs to, so the page can show it beside that field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError
from starlette.datastructures import FormData

from quietly.api.native.convert import schedule_from_schema, window_fields_from_create
from quietly.api.native.schemas import ScheduleIn, WindowCreate
from quietly.api.problems import validation_errors
from quietly.core.codec import schedule_to_json
from quietly.core.errors import QuietlyError
from quietly.core.model import Matcher, MatcherOp, OnceSchedule, Schedule
from quietly.core.records import WindowFields, WindowRecord
from quietly.core.schedule import validate
from quietly.core.timeutil import to_local

__all__ = ["EDITABLE", "FormResult", "form_field", "parse_window_form", "values_from_record"]

EDITABLE = ("name", "description", "schedule", "targets", "groups", "match", "all_targets",
            "effects", "escalation_targets", "incident_id", "publish_to_status_page")
"""The WindowFields the form edits; others (channels, vendor fields…) are left untouched."""

_SCHEDULE = TypeAdapter[Any](ScheduleIn)
_SPLIT = re.compile(r"[\s,]+")
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
_WORD_MATCHER = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s+(is_set|is_blank|one_of|not_one_of)\s*(.*?)\s*$")
_FIELD_ALIASES = {"duration": "duration_minutes", "kind": "kind"}


@dataclass(slots=True)
class FormResult:
    """The form as typed (to re-render it) and either the domain fields or the errors."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    fields: WindowFields | None = None
    schedule: Schedule | None = None


def form_field(api_field: str | None) -> str:
    """Map an API field path to the form field showing it: ``schedule.rrule`` → ``rrule``,
    ``targets[2]`` → ``targets``, ``match[0][1].value`` → ``match``; unknown → ``form``."""
    if not api_field:
        return "form"
    name = re.split(r"[\[.]", api_field.removeprefix("schedule."), maxsplit=1)[0]
    if api_field == "schedule":
        return "form"
    return _FIELD_ALIASES.get(name, name)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _values(form: FormData) -> dict[str, Any]:
    """Every field as typed (strings and lists), for re-rendering and for the JSON body."""
    names = ("name", "description", "kind", "timezone", "start", "end", "rule", "monthly_by",
             "day_of_month", "short_month", "weekday_of_month", "rrule", "cron", "start_time",
             "end_mode", "end_time", "duration_minutes", "starts_on", "until", "count",
             "targets", "groups", "match", "escalation_targets", "incident_id")
    values: dict[str, Any] = {n: _text(form, n) for n in names}
    values["days_of_week"] = [str(d) for d in form.getlist("days_of_week")]
    values["effects"] = [str(e) for e in form.getlist("effects")]
    values["all_targets"] = form.get("all_targets") == "on"
    values["publish_to_status_page"] = form.get("publish_to_status_page") == "on"
    return values


def _int(text: str) -> int | str:
    """An integer when the text is one; otherwise the text, so the schema names the field."""
    return int(text) if re.fullmatch(r"[+-]?\d{1,9}", text) else text


def _recurring_json(v: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "recurring", "timezone": v["timezone"] or None}
    rule = v["rule"] or "daily"
    if rule in ("daily", "weekly", "monthly"):
        out["every"] = rule
        if rule == "weekly":
            out["days_of_week"] = v["days_of_week"]
        if rule == "monthly" and v["monthly_by"] == "weekday":
            out["weekday_of_month"] = v["weekday_of_month"] or None
        elif rule == "monthly":
            out["day_of_month"] = _int(v["day_of_month"]) if v["day_of_month"] else None
            out["short_month"] = v["short_month"] or None
    elif rule == "rrule":
        out["rrule"] = v["rrule"] or None
    else:
        out["cron"] = v["cron"] or None
    if rule != "cron":
        out["start_time"] = v["start_time"] or None
    if v["end_mode"] == "duration" or rule == "cron":
        minutes = v["duration_minutes"]
        out["duration"] = f"PT{minutes}M" if minutes.isdigit() else (minutes or None)
    else:
        out["end_time"] = v["end_time"] or None
    out["starts_on"] = v["starts_on"] or None
    out["until"] = v["until"] or None
    out["count"] = _int(v["count"]) if v["count"] else None
    return {k: val for k, val in out.items() if val is not None}


def schedule_json(v: dict[str, Any]) -> dict[str, Any]:
    if v["kind"] == "once":
        out = {"kind": "once", "start": v["start"], "end": v["end"],
               "timezone": v["timezone"] or None}
        return {k: val for k, val in out.items() if val is not None}
    return _recurring_json(v)


def _match_json(text: str, errors: dict[str, str]) -> list[list[dict[str, Any]]]:
    """One condition group per line; matchers separated by commas: ``env=prod, team!~ops.*``."""
    groups = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        group = []
        for part in line.split(","):
            matcher = _matcher_json(part)
            if matcher is None:
                errors.setdefault("match", f"line {number}: {part.strip()!r} is not a "
                                  "condition such as env=prod or service=~db-.*")
                continue
            group.append(matcher)
        groups.append(group)
    return groups


def _matcher_json(text: str) -> dict[str, Any] | None:
    """``env=prod``, ``svc=~db-.*``, ``team is_set``, ``region one_of eu|us``; else None."""
    found = _MATCHER.match(text)
    if found is not None:
        return {"label": found[1], "op": found[2], "value": found[3]}
    found = _WORD_MATCHER.match(text)
    if found is None:
        return None
    if found[2] in ("is_set", "is_blank"):
        return {"label": found[1], "op": found[2]} if not found[3] else None
    return {"label": found[1], "op": found[2], "values": [v for v in found[3].split("|") if v]}


def matcher_text(m: Matcher) -> str:
    """The form's syntax for one matcher (the inverse of ``_matcher_json``)."""
    if m.op in (MatcherOp.IS_SET, MatcherOp.IS_BLANK):
        return f"{m.label} {m.op.value}"
    if m.op in (MatcherOp.ONE_OF, MatcherOp.NOT_ONE_OF):
        return f"{m.label} {m.op.value} {'|'.join(m.values)}"
    return f"{m.label}{m.op.value}{m.value}"


def body_json(v: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The native create body for the form values (errors of the match syntax go to errors)."""
    body: dict[str, Any] = {
        "name": v["name"], "description": v["description"] or None,
        "schedule": schedule_json(v),
        "targets": [t for t in _SPLIT.split(v["targets"]) if t],
        "groups": [g for g in _SPLIT.split(v["groups"]) if g],
        "match": _match_json(v["match"], errors),
        "all_targets": v["all_targets"],
        "effects": v["effects"],
        "escalation_targets": [t for t in _SPLIT.split(v["escalation_targets"]) if t],
        "incident_id": v["incident_id"] or None,
        "publish_to_status_page": v["publish_to_status_page"],
    }
    return {k: val for k, val in body.items() if val is not None}


def _pydantic_errors(exc: PydanticError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in validation_errors(RequestValidationError(exc.errors())):
        errors.setdefault(form_field(item["field"]), item["detail"])
    return errors


def parse_window_form(form: FormData, workspace_zone: str) -> FormResult:
    """Validate the whole form exactly as the API would validate the same window."""
    result = FormResult(_values(form))
    body = body_json(result.values, result.errors)
    if result.errors:
        return result
    try:
        parsed = WindowCreate.model_validate(body)
        result.fields = window_fields_from_create(parsed, workspace_zone)
    except PydanticError as exc:
        result.errors = _pydantic_errors(exc)
    except QuietlyError as exc:
        result.errors = {form_field(exc.field): exc.message}
    return result


def parse_schedule_form(form: FormData, workspace_zone: str) -> FormResult:
    """Only the schedule part, for the live preview."""
    result = FormResult(_values(form))
    try:
        parsed = _SCHEDULE.validate_python(schedule_json(result.values))
        schedule = schedule_from_schema(parsed, workspace_zone)
        validate(schedule)
        result.schedule = schedule
    except PydanticError as exc:
        result.errors = _pydantic_errors(exc)
    except QuietlyError as exc:
        result.errors = {form_field(exc.field): exc.message}
    return result


def _schedule_values(data: dict[str, Any]) -> dict[str, Any]:
    """Form values for a stored schedule (its native JSON)."""
    v: dict[str, Any] = {"kind": data["kind"], "timezone": data.get("timezone") or ""}
    if data["kind"] == "once":
        return v
    if data.get("rrule"):
        v["rule"], v["rrule"] = "rrule", data["rrule"]
    elif data.get("cron"):
        v["rule"], v["cron"] = "cron", data["cron"]
    else:
        v["rule"] = data.get("every") or "daily"
        v["days_of_week"] = data.get("days_of_week") or []
        v["monthly_by"] = "weekday" if data.get("weekday_of_month") else "day"
        v["weekday_of_month"] = data.get("weekday_of_month") or ""
        dom = data.get("day_of_month")
        v["day_of_month"] = "" if dom is None else str(dom)
        v["short_month"] = data.get("short_month") or "last_day"
    v["start_time"] = data.get("start_time") or ""
    v["end_time"] = data.get("end_time") or ""
    v["end_mode"] = "duration" if data.get("duration") else "end_time"
    return v


def values_from_record(record: WindowRecord, workspace_zone: str,
                       duration_minutes: int | None) -> dict[str, Any]:
    """Prefill the edit form from a stored window (one-time times in the window's zone)."""
    f = record.fields
    schedule = schedule_to_json(f.schedule)
    values: dict[str, Any] = {
        "name": f.name, "description": f.description or "",
        "targets": "\n".join(f.targets), "groups": " ".join(f.groups),
        "match": "\n".join(", ".join(matcher_text(m) for m in group.matchers)
                           for group in f.match),
        "all_targets": f.all_targets, "effects": [e.value for e in f.effects],
        "escalation_targets": " ".join(f.escalation_targets),
        "incident_id": f.incident_id or "",
        "publish_to_status_page": f.publish_to_status_page,
        "starts_on": schedule.get("starts_on") or "", "until": schedule.get("until") or "",
        "count": str(schedule.get("count") or ""),
        "duration_minutes": str(duration_minutes or ""),
    }
    values.update(_schedule_values(schedule))
    if isinstance(f.schedule, OnceSchedule):
        zone = f.schedule.timezone or workspace_zone
        values["start"] = to_local(f.schedule.start, zone).strftime("%Y-%m-%dT%H:%M")
        values["end"] = to_local(f.schedule.end, zone).strftime("%Y-%m-%dT%H:%M")
    return values
