"""Uptrends' error body: its API's ``MessageList`` model, ``{"Messages": [{"Message": …}]}``.

Uptrends' OpenAPI description answers 400 and 404 with a ``MessageList`` (one ``MessageInfo``
per problem); we use the same body for every error under ``/compat/uptrends/`` (401, 403, 503
included) so no client ever sees problem+json. Uptrends reports invalid input as 400, so
quietly's 422 (validation) and 409 (a state that forbids the change) become 400 here.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from quietly.api.problems import register_error_renderer

__all__ = ["ERROR_RESPONSES", "PREFIX", "install", "message_list", "render", "vendor_field"]

PREFIX = "/compat/uptrends/"
_AS_BAD_REQUEST = {409, 422}

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"Messages": {"type": "array", "items": {
        "type": "object", "properties": {"Message": {"type": "string"}}}}},
    "required": ["Messages"],
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"schema": _SCHEMA}}}
    for code, text in ((400, "Bad request"), (401, "Unauthorized"), (403, "Forbidden"),
                       (404, "Not found"), (503, "Service unavailable"))
}


def message_list(status: int, messages: list[str]) -> JSONResponse:
    return JSONResponse({"Messages": [{"Message": m} for m in messages]}, status_code=status)


# Native field paths the shared services name, as Uptrends' own (issue 16: messages began
# with ``schedule.end:``).
_FIELDS = {"schedule.start": "StartDateTime", "schedule.end": "EndDateTime",
           "schedule.start_time": "StartTime", "schedule.end_time": "EndTime",
           "schedule.days_of_week": "WeekDay", "schedule.day_of_month": "MonthDay",
           "schedule": "ScheduleMode", "effects": "MaintenanceType",
           "description": "Description", "targets": "monitorGuid", "state": "ScheduleMode"}


def vendor_field(field: str | None) -> str | None:
    """``schedule.end`` → ``EndDateTime``, ``targets[0]`` → ``monitorGuid``; Uptrends' own
    names pass through."""
    if not field:
        return field
    head = field.split("[", 1)[0]
    return _FIELDS.get(field, _FIELDS.get(head, field))


def _line(field: str | None, detail: str) -> str:
    name = vendor_field(field)
    if field and detail.startswith(f"{field}: "):
        detail = detail[len(field) + 2:]
    return f"{name}: {detail}" if name else detail


def render(request: Request, status: int, detail: str, field: str | None,
           errors: list[dict[str, Any]]) -> Response:
    status = 400 if status in _AS_BAD_REQUEST else status
    lines = [_line(e.get("field"), str(e.get("detail", ""))) for e in errors]
    return message_list(status, lines or [_line(field, detail)])


def install() -> None:
    register_error_renderer(PREFIX, render)
