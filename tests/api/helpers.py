"""Small builders shared by the API tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def once(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    return {"kind": "once", "start": iso(start), "end": iso(end), **extra}


def window_body(name: str = "w", targets: list[str] | None = None,
                schedule: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    start = now() + timedelta(hours=1)
    return {
        "name": name,
        "targets": targets if targets is not None else ["service:checkout"],
        "schedule": schedule or once(start, start + timedelta(hours=1)),
        **extra,
    }


def active_body(name: str = "active", targets: list[str] | None = None) -> dict[str, Any]:
    start = now() - timedelta(minutes=10)
    return window_body(name, targets, once(start, start + timedelta(hours=2)))


def completed_body(name: str = "completed") -> dict[str, Any]:
    return window_body(name, schedule={
        "kind": "recurring", "timezone": "UTC", "every": "daily", "start_time": "01:00",
        "end_time": "02:00", "starts_on": "2020-01-01", "until": "2020-01-31"})
