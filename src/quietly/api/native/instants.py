"""Instants as the native API's fields carry them (RFC 3339; naive: wall-clock in a zone).

On its own, apart from ``convert`` and the request schemas, because the decision shortcut
reads its ``at`` with it: serving decisions does not need the schemas' pydantic models
imported (issue 19: start-up).
"""

from __future__ import annotations

from datetime import UTC, datetime

from quietly.core.codec import MAX_YEAR, MIN_YEAR
from quietly.core.errors import ValidationError
from quietly.core.timeutil import read_iso_datetime, to_utc

__all__ = ["BATCH_PATH", "CREATE_PATH", "parse_instant_field"]

# The path of ``POST /api/v1/windows``, which ``api.server`` and ``create_fastpath`` answer
# before the application; here so that the server knows it without importing the create
# path (its schemas) before the first create.
CREATE_PATH = "/api/v1/windows"
BATCH_PATH = "/api/v1/windows/batch"  # ``batch_fastpath``'s, likewise


def parse_instant_field(value: str, field: str, zone: str) -> datetime:
    """RFC 3339 → aware UTC; a naive value is wall-clock time in ``zone``."""
    try:
        parsed = read_iso_datetime(value)
    except ValueError as exc:
        raise ValidationError(
            f"{value!r} is not an RFC 3339 date-time such as 2026-12-01T02:00:00Z",
            field=field) from exc
    # Bounded so zone arithmetic can never overflow at the ends of the calendar.
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValidationError(f"{value!r} is out of range; use a year from {MIN_YEAR} to "
                              f"{MAX_YEAR}", field=field)
    if parsed.tzinfo is None:
        return to_utc(parsed, zone)
    # ``datetime.UTC``, as ``to_utc`` and a stored instant read back give it: the same
    # instant as ``ZoneInfo("UTC")`` would be, but arithmetic and comparisons on it skip a
    # zone lookup (a bulk create does a dozen per window).
    return parsed.astimezone(UTC)
