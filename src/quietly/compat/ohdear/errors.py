"""Oh Dear's error bodies, as a Laravel application answers them.

- Validation: 422 ``{"message": "<first message> (and N more errors)", "errors": {"<field>":
  ["<message>", …]}}``; messages in Laravel's wording ("The starts at field is required.").
  Array items are named ``days_of_week.0``, as Laravel does.
- Everything else (401, 403, 404, 409, 503, a body that is not JSON): ``{"message": "…"}``.
  Laravel has no 409: a state that forbids the change (a period that has already started) is
  a 422 naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from quietly.api.problems import register_error_renderer

__all__ = ["ERROR_RESPONSES", "PREFIX", "install", "laravel_message", "render"]

PREFIX = "/compat/ohdear/"

_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Field required"), "The {a} field is required."),
    (re.compile(r"^Input should be a valid integer"), "The {a} field must be an integer."),
    (re.compile(r"^Input should be a valid boolean"), "The {a} field must be true or false."),
    (re.compile(r"^Input should be a valid string"), "The {a} field must be a string."),
    (re.compile(r"^Input should be a valid (list|array)"), "The {a} field must be an array."),
    (re.compile(r"^Input should be greater than or equal to (\S+)"),
     "The {a} field must be at least {0}."),
    (re.compile(r"^Input should be less than or equal to (\S+)"),
     "The {a} field must not be greater than {0}."),
    (re.compile(r"^String should have at most (\d+)"),
     "The {a} field must not be greater than {0} characters."),
    (re.compile(r"^String should have at least"), "The {a} field is required."),
    (re.compile(r"^Input should be "), "The selected {a} is invalid."),
    (re.compile(r".*has already passed"), "The {a} field must be a date after now."),
]
_STATUS_TEXT = {401: "Unauthenticated.", 403: "This action is unauthorized.",
                404: "Not Found", 405: "Method Not Allowed"}

_MESSAGE_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "message": {"type": "string"}}, "required": ["message"]}
_VALIDATION_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "message": {"type": "string"},
    "errors": {"type": "object", "additionalProperties": {
        "type": "array", "items": {"type": "string"}}}}, "required": ["message"]}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{code: {"description": text, "content": {"application/json": {"schema": _MESSAGE_SCHEMA}}}
       for code, text in ((400, "Bad request"), (401, "Unauthenticated"),
                          (403, "Forbidden"), (404, "Not found"), (503, "Unavailable"))},
    422: {"description": "Validation failed",
          "content": {"application/json": {"schema": _VALIDATION_SCHEMA}}},
}


# Native field paths the shared services name, as Oh Dear's own fields (issue 16: a past
# period's error was keyed ``schedule.end``).
_FIELDS = {"schedule.start": "starts_at", "schedule.end": "ends_at", "schedule": "starts_at",
           "schedule.start_time": "start_time", "schedule.end_time": "end_time",
           "schedule.days_of_week": "days_of_week", "schedule.day_of_month": "day_of_month",
           "schedule.every": "recurrence_type", "targets": "monitor_id", "state": "starts_at"}


def _field(field: str) -> str:
    """``days_of_week[0]`` → ``days_of_week.0`` (Laravel's dotted array notation); native
    paths (``schedule.end``, ``targets[0]``) → Oh Dear's names (``ends_at``, ``monitor_id``)."""
    head = re.sub(r"\[\d+\]$", "", field) if field.startswith("targets[") else field
    field = _FIELDS.get(head, field)
    return re.sub(r"\[(\d+)\]", r".\1", field)


def laravel_message(field: str, detail: str) -> str:
    """One message in Laravel's words for ``field``; our own messages pass through."""
    text = detail.removeprefix("Value error, ")
    if text.startswith("The "):
        return text
    attribute = _field(field).replace("_", " ") or "request"
    for pattern, template in _MESSAGES:
        found = pattern.match(text)
        if found:
            return template.format(*found.groups(), a=attribute)
    return f"The {attribute} field is invalid: {text}"


def _validation(errors: list[dict[str, Any]], detail: str) -> JSONResponse:
    by_field: dict[str, list[str]] = {}
    for error in errors:
        field = _field(str(error.get("field") or ""))
        by_field.setdefault(field, []).append(laravel_message(field, str(error["detail"])))
    if not by_field:
        return JSONResponse({"message": detail, "errors": {}}, status_code=422)
    messages = [m for ms in by_field.values() for m in ms]
    more = len(messages) - 1
    summary = messages[0] + (f" (and {more} more error{'s' if more > 1 else ''})"
                             if more else "")
    return JSONResponse({"message": summary, "errors": by_field}, status_code=422)


def render(request: Request, status: int, detail: str, field: str | None,
           errors: list[dict[str, Any]]) -> Response:
    if status in (409, 422):
        if not errors and field:
            errors = [{"field": field, "detail": detail}]
        return _validation(errors, detail)
    # Laravel's fixed words for auth failures; our own detail for everything else, and for
    # an expired key (a client must learn that a new key is needed, not retry this one).
    fixed = _STATUS_TEXT.get(status, detail)
    if status == 401 and "expired at" in detail:
        fixed = f"Unauthenticated: {detail}."
    return JSONResponse({"message": fixed if status != 404 else detail or "Not Found"},
                        status_code=status)


def install() -> None:
    register_error_renderer(PREFIX, render)
