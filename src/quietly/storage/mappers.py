"""Rows ↔ domain records, with explicitly named converters."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import msgspec

from quietly.core.codec import (
    match_from_json,
    match_to_json,
    schedule_from_json,
    schedule_to_json,
)
from quietly.core.model import Effect, OnceSchedule, Schedule
from quietly.core.records import WindowFields, WindowRecord
from quietly.storage.tables import WindowRow

__all__ = ["apply_fields_to_row", "fields_to_columns", "schedule_columns",
           "window_record_from_columns", "window_record_from_row"]


def window_record_from_row(row: WindowRow) -> WindowRecord:
    fields = WindowFields(
        name=row.name,
        schedule=schedule_from_json(row.schedule),
        description=row.description,
        targets=tuple(row.targets),
        groups=tuple(row.groups),
        match=match_from_json(row.match),
        all_targets=row.all_targets,
        effects=tuple(Effect(e) for e in row.effects),
        notify_channels=tuple(row.notify_channels),
        notify_start_minutes_before=row.notify_start_minutes_before,
        notify_end_minutes_before=row.notify_end_minutes_before,
        notification_message=row.notification_message,
        resolve_on_end=row.resolve_on_end,
        reroute_on_end=row.reroute_on_end,
        escalation_targets=tuple(row.escalation_targets),
        incident_id=row.incident_id,
        lead=row.lead,
        publish_to_status_page=row.publish_to_status_page,
        show_in_sidebar=row.show_in_sidebar,
        origin=row.origin,
        vendor=dict(row.vendor or {}),
        parent_id=row.parent_id,
        key=row.key,
        managed_source=row.managed_source,
    )
    return WindowRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        fields=fields,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        cancelled_at=row.cancelled_at,
        archived_at=row.archived_at,
    )


def fields_to_columns(fields: WindowFields) -> dict[str, Any]:
    """The column values a set of window fields is stored as."""
    return {
        "name": fields.name,
        "description": fields.description,
        "schedule": schedule_columns(fields.schedule),
        "targets": sorted(set(fields.targets)),
        "groups": sorted(set(fields.groups)),
        "match": match_to_json(fields.match),
        "all_targets": fields.all_targets,
        "effects": list(_effect_values(fields.effects)),
        "notify_channels": list(fields.notify_channels),
        "notify_start_minutes_before": fields.notify_start_minutes_before,
        "notify_end_minutes_before": fields.notify_end_minutes_before,
        "notification_message": fields.notification_message,
        "resolve_on_end": fields.resolve_on_end,
        "reroute_on_end": fields.reroute_on_end,
        "escalation_targets": list(fields.escalation_targets),
        "incident_id": fields.incident_id,
        "lead": fields.lead,
        "publish_to_status_page": fields.publish_to_status_page,
        "show_in_sidebar": fields.show_in_sidebar,
        "origin": fields.origin,
        "vendor": fields.vendor,
        "parent_id": fields.parent_id,
        "key": fields.key,
        "managed_source": fields.managed_source,
    }


def _effect_values(effects: tuple[Effect, ...]) -> tuple[str, ...]:
    """The effects' values (an enum's ``value`` is a property: a bulk create asked it of
    every window), remembered for each tuple seen (a few dozen at most: five effects)."""
    values = _EFFECT_VALUES.get(effects)
    if values is None:
        values = _EFFECT_VALUES.setdefault(effects, tuple(e.value for e in effects))
    return values


_EFFECT_VALUES: dict[tuple[Effect, ...], tuple[str, ...]] = {}


def schedule_columns(schedule: Schedule) -> dict[str, Any]:
    """``schedule_to_json(schedule)``, the form the ``schedule`` column stores. A one-time
    schedule whose instants are in ``datetime.UTC`` (what the APIs' converters give) has
    them written by msgspec's encoder, a fifth of ``isoformat``'s cost and the same text
    (``format_instant``'s: seconds, a fraction only when there is one, ``Z``;
    ``tests/storage/test_schedule_columns.py`` holds the two equal)."""
    if type(schedule) is OnceSchedule and schedule.start.tzinfo is UTC \
            and schedule.end.tzinfo is UTC:
        return {"kind": "once", "start": _ENCODE(schedule.start)[1:-1].decode(),
                "end": _ENCODE(schedule.end)[1:-1].decode(), "timezone": schedule.timezone}
    return schedule_to_json(schedule)


_ENCODE = msgspec.json.Encoder().encode


def apply_fields_to_row(row: WindowRow, fields: WindowFields) -> None:
    for name, value in fields_to_columns(fields).items():
        setattr(row, name, value)


def window_record_from_columns(window_id: int, columns: dict[str, Any]) -> WindowRecord:
    """The record a row with these column values reads back as (``window_record_from_row``
    for a row not loaded through the ORM: bulk inserts, Core selects)."""
    return WindowRecord(
        id=window_id,
        workspace_id=columns["workspace_id"],
        fields=WindowFields(
            name=columns["name"],
            schedule=schedule_from_json(columns["schedule"]),
            description=columns["description"],
            targets=tuple(columns["targets"]),
            groups=tuple(columns["groups"]),
            match=match_from_json(columns["match"]),
            all_targets=columns["all_targets"],
            effects=tuple(Effect(e) for e in columns["effects"]),
            notify_channels=tuple(columns["notify_channels"]),
            notify_start_minutes_before=columns["notify_start_minutes_before"],
            notify_end_minutes_before=columns["notify_end_minutes_before"],
            notification_message=columns["notification_message"],
            resolve_on_end=columns["resolve_on_end"],
            reroute_on_end=columns["reroute_on_end"],
            escalation_targets=tuple(columns["escalation_targets"]),
            incident_id=columns["incident_id"],
            lead=columns["lead"],
            publish_to_status_page=columns["publish_to_status_page"],
            show_in_sidebar=columns["show_in_sidebar"],
            origin=columns["origin"],
            vendor=dict(columns["vendor"] or {}),
            parent_id=columns["parent_id"],
            key=columns["key"],
            managed_source=columns["managed_source"],
        ),
        created_by=columns["created_by"],
        created_at=columns["created_at"],
        updated_at=columns["updated_at"],
        cancelled_at=columns["cancelled_at"],
        archived_at=columns["archived_at"],
    )
