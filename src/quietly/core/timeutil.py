"""Local wall-clock ↔ UTC, with the one gap/fold policy every schedule uses (DESIGN §3).

Instants are stored and compared in UTC; wall-clock values are only a way of *reading* a rule
in its zone. Every conversion from a naive local date-time to an instant goes through
``to_utc`` so that the expansion, the iCalendar feed and every calendar client agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from quietly.core.errors import ScheduleError, ValidationError

__all__ = ["ensure_utc", "get_zone", "offset_spread", "to_local", "to_utc"]

_ZONE_FIELD = "schedule.timezone"


@lru_cache(maxsize=1024)
def get_zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name``; raise ``ScheduleError`` naming it when it is unknown.

    Rejects the empty name and ``localtime`` (the server's zone must never leak into a
    schedule), and anything zoneinfo refuses (paths, bad characters, missing data).
    """
    if not isinstance(name, str) or not name.strip():
        raise ScheduleError("time zone is required (an IANA name such as Europe/Berlin)",
                            field=_ZONE_FIELD)
    if name.strip().lower() in {"localtime", "posixrules"}:
        raise ScheduleError(f"time zone {name!r} is not allowed: use an IANA name such as "
                            "Europe/Berlin", field=_ZONE_FIELD)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ScheduleError(f"unknown time zone {name!r}: use an IANA name such as "
                            "Europe/Berlin", field=_ZONE_FIELD) from exc


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else get_zone(zone)


def to_utc(local: datetime, zone: str | ZoneInfo) -> datetime:
    """Read the naive wall-clock ``local`` in ``zone`` and return the aware UTC instant.

    Gap (a local time that does not exist, Berlin 2025-03-30 02:30): read with the offset in
    force *before* the gap, so 02:30 → 01:30Z (shown as 03:30 CEST). Fold (a local time that
    happens twice, Berlin 2025-10-26 02:30): its first instant (00:30Z). Both are RFC 5545
    §3.3.5, which is what our iCalendar feed promises calendar clients. PEP 495 gives exactly
    this with ``fold=0``: in a gap fold=0 uses the offset before the transition, in a fold it
    picks the earlier instant. An aware ``local`` is an error: it is not a wall-clock value.
    """
    if local.tzinfo is not None:
        raise ValueError("to_utc expects a naive wall-clock datetime")
    return local.replace(tzinfo=_zone(zone), fold=0).astimezone(UTC)


def to_local(instant: datetime, zone: str | ZoneInfo) -> datetime:
    """Return the aware local date-time of ``instant`` in ``zone``; naive input is an error."""
    if instant.tzinfo is None:
        raise ValueError("to_local expects an aware datetime")
    return instant.astimezone(_zone(zone))


def read_iso_datetime(value: str) -> datetime:
    """An RFC 3339 / ISO 8601 date-time as written (aware or naive), surrounding blanks and a
    lower-case ``z`` allowed; digits beyond microseconds are cut. Raises ``ValueError``."""
    text = value.strip()
    if text.endswith("z"):
        text = text[:-1] + "Z"
    return datetime.fromisoformat(text)


def ensure_utc(dt: datetime, field: str) -> datetime:
    """Return ``dt`` as aware UTC; raise ``ValidationError`` naming ``field`` if it is naive.

    A naive instant has no meaning on its own (DESIGN §3): the caller must first read it in the
    window's or the workspace's zone, never in the server's.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValidationError("must include a UTC offset (RFC 3339, e.g. 2026-03-15T02:00:00Z)",
                              field=field)
    return dt.astimezone(UTC)


@lru_cache(maxsize=1024)
def offset_spread(zone: str | ZoneInfo) -> timedelta:
    """Return the largest UTC-offset difference ``zone`` has had since 1970 (0 for UTC).

    Bounds how much longer than its wall-clock span an occurrence can last in UTC: the start
    and the end are read with offsets from this range. Sampled weekly, once per zone; offsets
    that held for less than a week are not worth the cost; after 2037 zoneinfo repeats the
    zone's current rule, so 2040 is far enough.
    """
    tz = _zone(zone)
    probe = datetime(1970, 1, 1, 12, tzinfo=UTC)
    stop = datetime(2040, 1, 1, tzinfo=UTC)
    low = high = probe.astimezone(tz).utcoffset() or timedelta(0)
    while probe < stop:
        offset = probe.astimezone(tz).utcoffset() or timedelta(0)
        low, high = min(low, offset), max(high, offset)
        probe += timedelta(days=7)
    return high - low
