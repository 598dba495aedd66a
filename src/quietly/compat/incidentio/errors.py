"""incident.io's error body, as its API reference documents it::

    {"type": "validation_error", "status": 422, "request_id": "…",
     "errors": [{"code": "is_required", "message": "…", "source": {"field": "name"}}]}

Native field paths are renamed to incident.io's (``schedule.end`` → ``end_at``,
``match[0][1]`` → ``alert_condition_groups[0].conditions[1]``).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from quietly.compat.incidentio.schemas import IncidentIoError

__all__ = ["ERROR_RESPONSES", "render_error"]

_TYPES = {400: "bad_request", 401: "authentication_error", 403: "authorization_error",
          404: "not_found", 405: "method_not_allowed", 409: "conflict",
          413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
          503: "service_unavailable"}
_CODES = {401: "invalid_authorization_material", 403: "insufficient_permissions",
          405: "method_not_allowed",
          404: "not_found", 409: "conflict", 503: "service_unavailable"}
_FIELDS = {"schedule.start": "start_at", "schedule.end": "end_at", "schedule": "start_at",
           "targets": "alert_condition_groups", "all_targets": "alert_condition_groups"}
_MATCH = re.compile(r"^match\[(\d+)\]\[(\d+)\](.*)$")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": IncidentIoError, "description": _TYPES[code]}
    for code in (400, 401, 403, 404, 409, 422, 503)
}


def vendor_field(field: str | None) -> str:
    if not field:
        return ""
    found = _MATCH.match(field)
    if found:
        return (f"alert_condition_groups[{found.group(1)}].conditions[{found.group(2)}]"
                + found.group(3))
    head, dot, rest = field.partition(".")
    return _FIELDS.get(field) or (_FIELDS.get(head, head) + dot + rest)


def _item(status: int, field: str | None, detail: str) -> dict[str, Any]:
    name = vendor_field(field)
    if detail == "Field required":
        code, message = "is_required", f"{name} is required"
    elif status == 401 and detail.startswith("send an API key"):
        code, message = "missing_authorization_material", detail
    else:
        code = "invalid_value" if status in (400, 422) else _CODES.get(status, "error")
        message = f"{name} {detail}" if name and not detail.startswith(name) else detail
    item: dict[str, Any] = {"code": code, "message": message}
    if name:
        item["source"] = {"field": name}
    return item


def render_error(request: Request, status: int, detail: str, field: str | None,
                 errors: list[dict[str, Any]]) -> Response:
    """Every error under /compat/incidentio/ in incident.io's documented shape."""
    items = [_item(status, e.get("field"), str(e.get("detail", ""))) for e in errors] or [
        _item(status, field, detail.removeprefix(f"{field}: ") if field else detail)]
    body = {"type": _TYPES.get(status, "error"), "status": status,
            "request_id": str(uuid.uuid4()), "errors": items}
    return JSONResponse(body, status_code=status)
