"""incident.io shapes ↔ quietly windows (``to_fields``, ``to_changes``, ``from_record``).

- ``alert_condition_groups`` → condition groups over alert labels (see ``conditions``).
- ``escalation_targets`` → effect ``reroute``; the target objects are kept in
  ``vendor["incidentio"]`` and their literals, flattened to ``escalation_path:<id>`` and
  ``user:<id>``, in ``escalation_targets``. ``incident_id`` → effect ``attach``. Neither →
  ``mute``.
- ``notify_channels`` objects (Slack channels) are kept in the vendor dict; those that name a
  quietly channel (by id or name, e.g. a Slack-format channel called "general") also become
  native ``notify_channels``, so the worker notifies them. ``lead`` (as sent),
  ``show_in_sidebar``, ``reroute_on_end``, ``resolve_on_end``, ``notification_message`` and
  ``notify_*_minutes_before`` are native fields.
- Answers echo the stored vendor objects while the native fields still say the same thing;
  a window changed natively is rendered from its native fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from quietly.compat.incidentio.conditions import (
    groups_to_match,
    labelled,
    labelled_binding,
    literals,
    match_to_groups,
)
from quietly.compat.incidentio.schemas import (
    ConditionGroupIn,
    EscalationTargetIn,
    MaintenanceWindowPayload,
)
from quietly.core import lifecycle, schedule
from quietly.core.codec import check_instant_range
from quietly.core.errors import ValidationError
from quietly.core.model import Effect, Occurrence, OnceSchedule
from quietly.core.records import WindowFields, WindowRecord

__all__ = ["ORIGIN", "fits", "from_record", "to_changes", "to_fields"]

ORIGIN = "incidentio"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?"
                      r"([Zz]|[+-]\d{2}:\d{2})$")


# Far-off dates overflow schedule arithmetic (datetime's year 1..9999) and mean nothing for a
# maintenance window; refuse them with a message rather than fail.


def _instant(value: str, zone: str, field: str) -> datetime:
    """RFC 3339 with seconds and an offset, as the document's ``date-time`` format requires
    (``2027-08-18 13:00`` is refused, not read in some zone: issue 16)."""
    text = value.strip()
    if _RFC3339.match(text) is None:
        raise ValidationError(f"{value!r} is not an RFC 3339 date-time with an offset, e.g. "
                              "2027-08-18T13:00:00Z", field=field)
    try:
        parsed = datetime.fromisoformat(text[:19].replace(" ", "T") + _fraction(text[19:]))
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not an RFC 3339 date-time", field=field) from exc
    return check_instant_range(parsed.astimezone(UTC), field)


def _fraction(rest: str) -> str:
    """Python reads at most microseconds: keep six digits of a longer fraction."""
    found = re.match(r"^\.(\d+)(.*)$", rest)
    if found is None:
        return rest.replace("z", "Z")
    return "." + found.group(1)[:6].ljust(6, "0") + found.group(2).replace("z", "Z")


def _effects(escalations: tuple[str, ...], incident_id: str | None) -> tuple[Effect, ...]:
    effects = (Effect.REROUTE,) * bool(escalations) + (Effect.ATTACH,) * bool(incident_id)
    return effects or (Effect.MUTE,)


def _lead_in(body: MaintenanceWindowPayload) -> dict[str, Any]:
    lead = body.lead.model_dump(exclude_none=True)
    if not any(str(v).strip() for v in lead.values()):
        raise ValidationError("must identify a user by id, email or slack_user_id",
                              field="lead")
    return lead


def _common(body: MaintenanceWindowPayload, zone: str) -> dict[str, Any]:
    """Every window field a payload sets (all of them: a PUT replaces the window)."""
    if not body.name.strip():
        raise ValidationError("is required", field="name")
    escalations = tuple(_refs(body.escalation_targets or []))
    for i, target in enumerate(body.escalation_targets or []):
        if not _refs([target]):
            raise ValidationError("must name an escalation path or a user by literal value",
                                  field=f"escalation_targets[{i}]")
    incident_id = (body.incident_id or "").strip() or None
    channels = [c.model_dump(exclude_none=True) for c in body.notify_channels or []]
    return {
        "name": body.name.strip(),
        "match": groups_to_match(body.alert_condition_groups),
        "all_targets": not body.alert_condition_groups,
        "effects": _effects(escalations, incident_id),
        "escalation_targets": escalations,
        "incident_id": incident_id,

        "notify_start_minutes_before": body.notify_start_minutes_before,
        "notify_end_minutes_before": body.notify_end_minutes_before,
        "notification_message": body.notification_message,
        "reroute_on_end": bool(body.reroute_on_end),
        "resolve_on_end": bool(body.resolve_on_end),
        "show_in_sidebar": body.show_in_sidebar,
        "lead": _lead_in(body),
        "start": _instant(body.start_at, zone, "start_at"),
        "end": _instant(body.end_at, zone, "end_at"),
        "sent": {
            "alert_condition_groups": [g.model_dump(exclude_none=True)
                                       for g in body.alert_condition_groups],
            "escalation_targets": [t.model_dump(exclude_none=True)
                                   for t in body.escalation_targets or []],
            "notify_channels": channels,
        },
    }


def to_fields(body: MaintenanceWindowPayload, workspace_zone: str,
              native_channels: tuple[int, ...] = ()) -> WindowFields:
    """A create payload → window fields; ``native_channels`` are the quietly channels the
    payload's ``notify_channels`` name (by id or name), resolved by the caller."""
    values = _common(body, workspace_zone)
    values["notify_channels"] = native_channels
    start, end, sent = values.pop("start"), values.pop("end"), values.pop("sent")
    return WindowFields(schedule=OnceSchedule(start, end), origin=ORIGIN,
                        vendor={ORIGIN: sent}, **values)


def to_changes(body: MaintenanceWindowPayload, record: WindowRecord, workspace_zone: str,
               native_channels: tuple[int, ...] = ()) -> dict[str, Any]:
    """A PUT → every field it sets; unchanged values are not changes to the lifecycle rules."""
    values = _common(body, workspace_zone)
    values["notify_channels"] = native_channels
    start, end, sent = values.pop("start"), values.pop("end"), values.pop("sent")
    current = record.fields.schedule
    # Keep the stored zone so an unchanged interval reads as unchanged (an active window may
    # still move its end).
    zone = current.timezone if isinstance(current, OnceSchedule) else None
    values["schedule"] = OnceSchedule(start, end, zone)
    values["vendor"] = {**record.fields.vendor, ORIGIN: sent}
    return values


def fits(record: WindowRecord) -> bool:
    """incident.io shows windows scoped by alert conditions (or covering every alert)."""
    return bool(record.fields.match) or record.fields.all_targets


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _shown(record: WindowRecord, now: datetime) -> Occurrence:
    sched = record.fields.schedule
    if isinstance(sched, OnceSchedule):
        return Occurrence(sched.start, sched.end)
    window = record.to_window()
    found = lifecycle.current_occurrence(window, now) or lifecycle.next_occurrence(window, now)
    first = schedule.next_occurrence(sched, _EPOCH)
    return found or first or Occurrence(record.created_at, record.created_at)


def _sent(record: WindowRecord) -> dict[str, Any]:
    sent = record.fields.vendor.get(ORIGIN)
    return sent if isinstance(sent, dict) else {}


def _condition_groups(record: WindowRecord) -> list[dict[str, Any]]:
    stored = _sent(record).get("alert_condition_groups")
    if isinstance(stored, list):
        try:
            parsed = [ConditionGroupIn.model_validate(g) for g in stored]
            if groups_to_match(parsed) == record.fields.match:
                return labelled(stored)
        except (ValueError, ValidationError):
            pass  # stored shape no longer readable: fall back to the native groups
    return match_to_groups(record.fields.match)


def _refs(targets: list[EscalationTargetIn]) -> list[str]:
    refs: list[str] = []
    for target in targets:
        refs += [f"escalation_path:{v}" for v in literals(target.escalation_paths)]
        refs += [f"user:{v}" for v in literals(target.users)]
    return list(dict.fromkeys(refs))


def _escalation_targets(record: WindowRecord) -> list[dict[str, Any]]:
    """The target objects as sent while they still flatten to the native references."""
    refs = list(record.fields.escalation_targets)
    stored = _sent(record).get("escalation_targets")
    if isinstance(stored, list) and stored:
        try:
            if _refs([EscalationTargetIn.model_validate(t) for t in stored]) == refs:
                return [{key: labelled_binding(binding) for key, binding in t.items()}
                        for t in stored]
        except ValueError:
            pass  # stored shape no longer readable: fall back to the native references
    if not refs:
        return []
    users = [r.removeprefix("user:") for r in refs if r.startswith("user:")]
    paths = [r.removeprefix("escalation_path:") for r in refs if not r.startswith("user:")]
    out: dict[str, Any] = {}
    for key, values in (("escalation_paths", paths), ("users", users)):
        if values:
            out[key] = {"array_value": [{"label": v, "literal": v} for v in values]}
    return [out]


def _channels(record: WindowRecord) -> list[dict[str, Any]]:
    """The channel objects as sent; a window made natively shows its quietly channels."""
    stored = _sent(record).get("notify_channels")
    if isinstance(stored, list) and stored:
        return [{**c, "is_private": c.get("channel_type") == "private"} for c in stored]
    return [{"channel_id": str(c), "is_private": False} for c in record.fields.notify_channels]


def _lead(record: WindowRecord) -> dict[str, Any]:
    """The lead as an incident.io actor: the user given, else the API key that created it."""
    lead = record.fields.lead or {}
    if isinstance(lead.get("user"), dict) or isinstance(lead.get("api_key"), dict):
        return {k: v for k, v in lead.items() if k in ("user", "api_key")}
    ident = lead.get("id") or lead.get("email") or lead.get("slack_user_id")
    if ident:
        user = {k: str(lead[k]) for k in ("email", "slack_user_id") if lead.get(k)}
        # UserV1 requires a name and a role: a name from the e-mail's local part ("bob" for
        # bob@example.com), never the address itself, and role "unset" (quietly keeps none).
        name = lead.get("name") or _name_from(lead.get("email")) or str(ident)
        return {"user": {**user, "id": str(ident), "name": str(name),
                         "role": str(lead.get("role") or "unset")}}
    creator = record.created_by or "quietly"
    return {"api_key": {"id": creator, "name": creator.removeprefix("key:")}}


def _name_from(email: object) -> str | None:
    """``bob.smith@example.com`` → ``Bob Smith``."""
    if not isinstance(email, str) or "@" not in email:
        return None
    words = re.split(r"[._+-]+", email.split("@", 1)[0])
    return " ".join(w.capitalize() for w in words if w) or None


def from_record(record: WindowRecord, now: datetime) -> dict[str, Any]:
    """A stored window as incident.io's ``MaintenanceWindowV1``."""
    f = record.fields
    shown = _shown(record, now)
    return {
        "alert_condition_groups": _condition_groups(record),
        "archived_at": _time(record.archived_at) if record.archived_at else None,
        "created_at": _time(record.created_at),
        "end_at": _time(shown.end),
        "escalation_targets": _escalation_targets(record),
        "id": str(record.id),
        "incident_id": f.incident_id,
        "lead": _lead(record),
        "name": f.name,
        "notification_message": f.notification_message,
        "notify_channels": _channels(record),
        "notify_end_minutes_before": f.notify_end_minutes_before,
        "notify_start_minutes_before": f.notify_start_minutes_before,
        "reroute_on_end": f.reroute_on_end,
        "resolve_on_end": f.resolve_on_end,
        "show_in_sidebar": f.show_in_sidebar,
        "start_at": _time(shown.start),
        "updated_at": _time(record.updated_at),
    }
