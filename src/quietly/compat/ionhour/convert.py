"""Ionhour shapes ↔ quietly windows (``to_fields``, ``to_changes``, ``from_record``).

- ``projectIds`` → targets ``project:<id>``; ``suppressAlerts`` → effect ``mute``;
  ``suppressIncidents`` → ``suppress_incidents``; ``autoPublishToStatusPage`` →
  ``publish_to_status_page``. Targets and effects Ionhour cannot express are kept on update.
- ``recurringCron`` null → a one-time window ``[startAt, endAt)``. Otherwise a recurring cron
  schedule in ``timezone``: the cron gives the start instants, ``endAt - startAt`` the length
  of each occurrence, and the first occurrence may start on ``startAt``'s local date.
- ``startAt``/``endAt`` as sent are kept in ``vendor["ionhour"]`` so a recurring window can
  show them back (its schedule only keeps the first date and the duration).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from quietly.compat.ionhour.schemas import MaintenanceWindowCreate, MaintenanceWindowUpdate
from quietly.core import lifecycle, schedule
from quietly.core.codec import check_instant_range
from quietly.core.errors import NotFound, ValidationError
from quietly.core.model import (
    CronRule,
    Effect,
    Occurrence,
    OnceSchedule,
    RecurringSchedule,
    Schedule,
)
from quietly.core.records import Principal, WindowFields, WindowRecord
from quietly.core.schedule.simplify import as_cron
from quietly.core.timeutil import get_zone, to_local, to_utc

__all__ = ["ORIGIN", "check_workspace", "fits", "from_record", "to_changes", "to_fields"]

ORIGIN = "ionhour"
PROJECT = re.compile(r"^project:(\d{1,16})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OWN_EFFECTS = (Effect.MUTE, Effect.SUPPRESS_INCIDENTS)


# Far-off dates overflow schedule arithmetic (datetime's year 1..9999) and mean nothing for a
# maintenance window; refuse them with a message rather than fail.
def check_workspace(workspace_id: int | None, principal: Principal) -> None:
    """``workspaceId`` must be the key's workspace; any other is not found (never 403)."""
    if workspace_id is not None and workspace_id != principal.workspace_id:
        raise NotFound(f"Workspace with id {workspace_id} not found")


def _zone(name: str) -> str:
    try:
        get_zone(name.strip())
    except ValidationError as exc:
        raise ValidationError("must be a valid IANA time zone, e.g. Europe/Berlin",
                              field="timezone") from exc
    return name.strip()


def _instant(value: str, zone: str, field: str) -> datetime:
    """An ISO date-time; without an offset it is read in ``timezone`` (default UTC)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError("must be a valid ISO 8601 date string", field=field) from exc
    instant = to_utc(parsed, zone) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return check_instant_range(instant, field)


def _schedule(start_at: str, end_at: str, zone: str, cron: str | None) -> Schedule:
    start = _instant(start_at, zone, "startAt")
    end = _instant(end_at, zone, "endAt")
    if end <= start:
        raise ValidationError("must be after startAt", field="endAt")
    if cron is None:
        return OnceSchedule(start, end, zone)
    return RecurringSchedule(timezone=zone, rule=CronRule(cron.strip()), start_time=None,
                             duration=end - start, starts_on=to_local(start, zone).date())


def _effects(current: tuple[Effect, ...], alerts: bool, incidents: bool) -> tuple[Effect, ...]:
    """Both flags false is allowed: the document sets no such rule, and a window that
    suppresses nothing is still a published maintenance (no effect: every alert delivered)."""
    kept = tuple(e for e in current if e not in _OWN_EFFECTS)
    own = (Effect.MUTE,) * alerts + (Effect.SUPPRESS_INCIDENTS,) * incidents
    return kept + own


def _projects(ids: list[int]) -> tuple[str, ...]:
    if not ids:
        raise ValidationError("should not be empty", field="projectIds")
    return tuple(f"project:{i}" for i in dict.fromkeys(ids))


def _sent(start_at: str, end_at: str, zone: str) -> dict[str, Any]:
    return {"startAt": start_at.strip(), "endAt": end_at.strip(), "timezone": zone}


def to_fields(body: MaintenanceWindowCreate, principal: Principal) -> WindowFields:
    check_workspace(body.workspaceId, principal)
    if not body.name.strip():
        raise ValidationError("should not be empty", field="name")
    zone = _zone(body.timezone)
    return WindowFields(
        name=body.name.strip(),
        description=body.description,
        schedule=_schedule(body.startAt, body.endAt, zone, body.recurringCron),
        targets=_projects(body.projectIds),
        effects=_effects((), body.suppressAlerts, body.suppressIncidents),
        publish_to_status_page=body.autoPublishToStatusPage,
        origin=ORIGIN,
        vendor={ORIGIN: _sent(body.startAt, body.endAt, zone)},
    )


def _schedule_changes(body: MaintenanceWindowUpdate, shown: dict[str, Any],
                      current: WindowFields) -> dict[str, Any]:
    given = body.model_fields_set & {"startAt", "endAt", "timezone", "recurringCron"}
    if not given:
        return {}
    zone = _zone(body.timezone) if body.timezone is not None else shown["timezone"]
    start_at = body.startAt if body.startAt is not None else shown["startAt"]
    end_at = body.endAt if body.endAt is not None else shown["endAt"]
    cron = body.recurringCron if "recurringCron" in given else shown["recurringCron"]
    new = _schedule(start_at, end_at, zone, cron)
    if body.startAt is None and cron is not None and cron != shown["recurringCron"]:
        # A new cron alone: startAt/endAt follow its first occurrence (from the same first
        # date), so startAt never disagrees with the cron (issue 16).
        first = schedule.next_occurrence(new, _EPOCH)
        if first is not None:
            start_at, end_at = _js_time(first.start), _js_time(first.end)
    vendor = {**current.vendor, ORIGIN: _sent(start_at, end_at, zone)}
    return {"schedule": new, "vendor": vendor}


def to_changes(body: MaintenanceWindowUpdate, record: WindowRecord,
               principal: Principal, now: datetime) -> dict[str, Any]:
    """A partial PUT → the changes for ``services.windows.update_window``."""
    check_workspace(body.workspaceId, principal)
    given = body.model_fields_set
    for name in ("name", "startAt", "endAt", "projectIds", "suppressAlerts",
                 "suppressIncidents", "autoPublishToStatusPage", "timezone"):
        if name in given and getattr(body, name) is None:
            raise ValidationError("should not be null", field=name)
    current = record.fields
    shown = from_record(record, now)
    changes: dict[str, Any] = _schedule_changes(body, shown, current)
    if body.name is not None:
        if not body.name.strip():
            raise ValidationError("should not be empty", field="name")
        changes["name"] = body.name.strip()
    if "description" in given:
        changes["description"] = body.description
    if body.projectIds is not None:
        kept = tuple(t for t in current.targets if not PROJECT.match(t))
        changes["targets"] = kept + _projects(body.projectIds)
    if body.suppressAlerts is not None or body.suppressIncidents is not None:
        alerts = shown["suppressAlerts"] if body.suppressAlerts is None else body.suppressAlerts
        incidents = shown["suppressIncidents"] if body.suppressIncidents is None \
            else body.suppressIncidents
        changes["effects"] = _effects(current.effects, alerts, incidents)
    if body.autoPublishToStatusPage is not None:
        changes["publish_to_status_page"] = body.autoPublishToStatusPage
    return changes


def fits(record: WindowRecord) -> bool:
    """Ionhour shows the windows that cover at least one numeric project."""
    return any(PROJECT.match(t) for t in record.fields.targets)


def _js_time(value: datetime) -> str:
    """JavaScript's ``toISOString()``: UTC, milliseconds, ``Z``."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _first(record: WindowRecord, now: datetime) -> Occurrence:
    window = record.to_window()
    found = lifecycle.current_occurrence(window, now) or lifecycle.next_occurrence(window, now)
    first = schedule.next_occurrence(record.fields.schedule, _EPOCH)
    return found or first or Occurrence(record.created_at, record.created_at)


def _times(record: WindowRecord, now: datetime) -> tuple[str, str, str, str | None]:
    """startAt, endAt, timezone and recurringCron as Ionhour shows them."""
    sched = record.fields.schedule
    if isinstance(sched, OnceSchedule):
        zone = sched.timezone or "UTC"
        return _js_time(sched.start), _js_time(sched.end), zone, None
    # A native simple or RRULE window is shown with the cron that gives the same starts,
    # when there is one, rather than as a one-time window (issue 16).
    cron = sched.rule.cron if isinstance(sched.rule, CronRule) else as_cron(sched)
    sent = record.fields.vendor.get(ORIGIN) or {}
    if cron is not None and sched.duration is not None and sent:
        try:
            start = _instant(sent["startAt"], sched.timezone, "startAt")
            end = _instant(sent["endAt"], sched.timezone, "endAt")
        except (KeyError, ValidationError):
            start = end = _EPOCH
        # The values as sent, while they still describe this schedule.
        if end - start == sched.duration and \
                to_local(start, sched.timezone).date() == sched.starts_on:
            return _js_time(start), _js_time(end), sched.timezone, cron
    shown = _first(record, now)
    length = sched.duration or (shown.end - shown.start) or timedelta(0)
    return _js_time(shown.start), _js_time(shown.start + length), sched.timezone, cron


def from_record(record: WindowRecord, now: datetime) -> dict[str, Any]:
    """A stored window in Ionhour's shape, with its target projects."""
    f = record.fields
    start_at, end_at, zone, cron = _times(record, now)
    projects = sorted(int(m.group(1)) for t in f.targets if (m := PROJECT.match(t)))
    return {
        "id": record.id,
        "workspaceId": record.workspace_id,
        "name": f.name,
        "description": f.description,
        "startAt": start_at,
        "endAt": end_at,
        "timezone": zone,
        "recurringCron": cron,
        "suppressAlerts": Effect.MUTE in f.effects,
        "suppressIncidents": Effect.SUPPRESS_INCIDENTS in f.effects,
        "autoPublishToStatusPage": f.publish_to_status_page,
        "state": lifecycle.state_at(record.to_window(), now).value.upper(),
        "projectIds": projects,
        "projects": [{"id": p} for p in projects],
        "createdAt": _js_time(record.created_at),
        "updatedAt": _js_time(record.updated_at),
        "cancelledAt": _js_time(record.cancelled_at) if record.cancelled_at else None,
    }
