"""Laravel's length-aware paginator envelope, ``{"data", "links", "meta"}``, as Oh Dear's
lists answer (its SDK pages on ``meta.current_page`` and ``meta.last_page``), and the
``YmdHis`` filter timestamps."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from quietly.core.errors import ValidationError
from quietly.core.timeutil import to_utc

__all__ = ["PER_PAGE", "paginate", "parse_ymdhis"]

PER_PAGE = 15  # Laravel's default page size
_YMDHIS = re.compile(r"^\d{14}$")


def parse_ymdhis(value: str | None, zone: str, field: str) -> datetime | None:
    """``20240101000000`` in the team's zone → a UTC instant; None stays None."""
    if value is None or value == "":
        return None
    try:
        if not _YMDHIS.match(value):
            raise ValueError(value)
        local = datetime.strptime(value, "%Y%m%d%H%M%S")  # noqa: DTZ007 - zone applied below
        if not 1970 <= local.year <= 2999:  # keeps zone arithmetic in range
            raise ValueError(value)
    except ValueError:
        raise ValidationError(f"The {field.replace('_', ' ')} field must match the format "
                              "YmdHis.", field=field) from None
    return to_utc(local, zone)


def _url(path: str, page: int, per_page: int) -> str:
    return f"{path}?page={page}" + ("" if per_page == PER_PAGE else f"&per_page={per_page}")


def paginate(items: list[dict[str, Any]], path: str, page: int,
             per_page: int) -> dict[str, Any]:
    total = len(items)
    last = max(1, -(-total // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    first_index = (page - 1) * per_page + 1 if chunk else None
    links = [{"url": _url(path, page - 1, per_page) if page > 1 else None,
              "label": "&laquo; Previous", "active": False}]
    links += [{"url": _url(path, n, per_page), "label": str(n), "active": n == page}
              for n in range(1, min(last, 50) + 1)]
    links.append({"url": _url(path, page + 1, per_page) if page < last else None,
                  "label": "Next &raquo;", "active": False})
    return {
        "data": chunk,
        "links": {"first": _url(path, 1, per_page), "last": _url(path, last, per_page),
                  "prev": _url(path, page - 1, per_page) if page > 1 else None,
                  "next": _url(path, page + 1, per_page) if page < last else None},
        "meta": {"current_page": page, "from": first_index, "last_page": last,
                 "links": links, "path": path, "per_page": per_page,
                 "to": first_index + len(chunk) - 1 if first_index else None, "total": total},
    }
