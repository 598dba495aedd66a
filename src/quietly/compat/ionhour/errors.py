"""Ionhour's error body, NestJS's built-in one: ``{"statusCode", "message", "error"}``.

Validation failures are 400 "Bad Request" with ``message`` a list of "<property> <rule>"
strings worded like class-validator's ("name should not be empty"); every other error has a
single ``message`` string and the status's reason phrase as ``error``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from quietly.compat.ionhour.schemas import IonhourError

__all__ = ["ERROR_RESPONSES", "render_error"]

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
            415: "Unsupported Media Type", 422: "Unprocessable Entity",
            503: "Service Unavailable"}
_FIELDS = {
    "schedule.start": "startAt",
    "schedule.end": "endAt",
    "schedule.duration": "endAt",
    "schedule.timezone": "timezone",
    "schedule.cron": "recurringCron",
    "schedule.starts_on": "startAt",
    "schedule": "startAt",
    "targets": "projectIds",
    "effects": "suppressAlerts",
    "publish_to_status_page": "autoPublishToStatusPage",
    "state": "state",
}
# pydantic's wording → class-validator's wording for the same rule.
_RULES = (
    ("Field required", "should not be empty"),
    ("Input should be a valid integer", "must be a number conforming to the specified "
                                        "constraints"),
    ("Input should be a valid boolean", "must be a boolean value"),
    ("Input should be a valid string", "must be a string"),
    ("Input should be a valid list", "must be an array"),
    ("Input should be 'SCHEDULED'", "must be one of the following values: SCHEDULED, ACTIVE, "
                                    "COMPLETED, CANCELLED"),
)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": IonhourError, "description": _REASONS[code]}
    for code in (400, 401, 403, 404, 409, 503)
}
# NestJS answers validation failures with 400, never 422; "default" keeps FastAPI from
# documenting its own 422 body, which this API never sends.
ERROR_RESPONSES["default"] = {"model": IonhourError, "description": "Any other error"}


def vendor_field(field: str | None) -> str:
    if not field:
        return ""
    match = re.match(r"^([A-Za-z_.]+)(.*)$", field)
    head, rest = (match.group(1), match.group(2)) if match else (field, "")
    return _FIELDS.get(head, head) + rest


def _rule(detail: str) -> str:
    for start, wording in _RULES:
        if detail.startswith(start):
            return wording
    return detail


def _message(error: dict[str, Any]) -> str:
    name = vendor_field(error.get("field"))
    text = _rule(str(error.get("detail", "")))
    return f"{name} {text}" if name else text


def render_error(request: Request, status: int, detail: str, field: str | None,
                 errors: list[dict[str, Any]]) -> Response:
    """Every error under /compat/ionhour/ in NestJS's shape; 422 becomes NestJS's 400."""
    if status == 422:
        status = 400
    message: list[str] | str
    if status == 400 and (errors or field):
        # Field-level failures: class-validator's list of messages.
        message = [_message(e) for e in errors] or [
            _message({"field": field, "detail": detail.removeprefix(f"{field}: ")})]
    elif status in (404, 405) and detail in ("Not Found", "Method Not Allowed"):
        # No such route: NestJS names the method and the path it could not match.
        path = request.url.path.removeprefix("/compat/ionhour")
        message = f"Cannot {request.method} {path}"
    else:
        message = detail.removeprefix(f"{field}: ") if field else detail
    body = {"statusCode": status, "message": message, "error": _REASONS.get(status, "Error")}
    return JSONResponse(body, status_code=status)
