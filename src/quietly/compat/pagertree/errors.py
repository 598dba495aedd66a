"""PagerTree's error body: ``{"errors": [{"message": "name can't be blank"}], "code": 422}``.

That is the shape PagerTree documents for every 4xx (docs: API → Errors), with Rails-style
messages "<attribute> <rule>". Native field paths are renamed to PagerTree's attributes so a
message names what the caller sent (``schedule.end`` → ``end_datetime``).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from quietly.compat.pagertree.schemas import PagerTreeError

__all__ = ["ERROR_RESPONSES", "render_error"]

_FIELDS = {
    "schedule.start": "start_datetime",
    "schedule.end": "end_datetime",
    "schedule.timezone": "time_zone",
    "schedule": "start_datetime",
    "targets": "integration_ids",
}
# pydantic's wording → Rails' wording for the same rule.
_MESSAGES = {"Field required": "can't be blank"}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": PagerTreeError, "description": text}
    for code, text in ((400, "Bad Request"), (401, "Unauthorized"), (403, "Forbidden"),
                       (404, "Not Found"), (409, "Conflict"), (422, "Unprocessable Entity"),
                       (503, "Service Unavailable"))
}


def vendor_field(field: str | None) -> str:
    """``targets[2]`` → ``integration_ids[2]``; names PagerTree already uses pass through."""
    if not field:
        return ""
    match = re.match(r"^([a-z_.]+)(.*)$", field)
    head, rest = (match.group(1), match.group(2)) if match else (field, "")
    return _FIELDS.get(head, head) + rest


def _message(field: str | None, detail: str) -> str:
    name = vendor_field(field)
    text = _MESSAGES.get(detail, detail)
    return f"{name} {text}" if name else text


def render_error(request: Request, status: int, detail: str, field: str | None,
                 errors: list[dict[str, Any]]) -> Response:
    """Every error under /compat/pagertree/ in PagerTree's documented shape."""
    messages = [_message(e.get("field"), str(e.get("detail", ""))) for e in errors] \
        or [_message(field, detail) if field and not detail.startswith(f"{field}:")
            else detail]
    return JSONResponse({"errors": [{"message": m} for m in messages], "code": status},
                        status_code=status)
