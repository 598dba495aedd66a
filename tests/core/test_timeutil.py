"""The one gap/fold policy (RFC 5545) and zone handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from quietly.core.errors import ScheduleError, ValidationError
from quietly.core.timeutil import (
    ensure_utc,
    get_zone,
    offset_spread,
    read_iso_datetime,
    to_local,
    to_utc,
)

# Real transitions: Berlin 2025-03-30 02:00→03:00 and 2025-10-26 03:00→02:00; New York
# 2025-03-09 02:00→03:00 and 2025-11-02 02:00→01:00; Sydney 2025-10-05 02:00→03:00 and
# 2025-04-06 03:00→02:00; Lord Howe (30 minutes) 2025-10-05 02:00→02:30, 2025-04-06 02:00→01:30.
TO_UTC_CASES = [
    # (what must happen, zone, naive local, expected UTC)
    ("plain summer time", "Europe/Berlin", datetime(2025, 7, 1, 12), datetime(2025, 7, 1, 10)),
    ("Berlin gap reads with the offset before it", "Europe/Berlin",
     datetime(2025, 3, 30, 2, 30), datetime(2025, 3, 30, 1, 30)),
    ("Berlin fold is its first instant", "Europe/Berlin",
     datetime(2025, 10, 26, 2, 30), datetime(2025, 10, 26, 0, 30)),
    ("New York gap", "America/New_York", datetime(2025, 3, 9, 2, 30), datetime(2025, 3, 9, 7, 30)),
    ("New York fold", "America/New_York",
     datetime(2025, 11, 2, 1, 30), datetime(2025, 11, 2, 5, 30)),
    ("Sydney gap", "Australia/Sydney", datetime(2025, 10, 5, 2, 30), datetime(2025, 10, 4, 16, 30)),
    ("Sydney fold", "Australia/Sydney", datetime(2025, 4, 6, 2, 30), datetime(2025, 4, 5, 15, 30)),
    ("Lord Howe 30-minute gap", "Australia/Lord_Howe",
     datetime(2025, 10, 5, 2, 15), datetime(2025, 10, 4, 15, 45)),
    ("Lord Howe 30-minute fold", "Australia/Lord_Howe",
     datetime(2025, 4, 6, 1, 45), datetime(2025, 4, 5, 14, 45)),
    ("UTC is identity", "UTC", datetime(2025, 3, 30, 2, 30), datetime(2025, 3, 30, 2, 30)),
]


@pytest.mark.parametrize(("case", "zone", "local", "expected"), TO_UTC_CASES,
                         ids=[c[0] for c in TO_UTC_CASES])
def test_to_utc(case: str, zone: str, local: datetime, expected: datetime) -> None:
    assert to_utc(local, zone) == expected.replace(tzinfo=UTC)


def test_to_utc_accepts_a_zoneinfo() -> None:
    assert to_utc(datetime(2025, 1, 1), get_zone("Asia/Kolkata")) == datetime(
        2024, 12, 31, 18, 30, tzinfo=UTC)


def test_to_utc_rejects_aware_input() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_utc(datetime(2025, 1, 1, tzinfo=UTC), "UTC")


def test_to_local_shows_the_gap_instant_after_the_jump() -> None:
    local = to_local(datetime(2025, 3, 30, 1, 30, tzinfo=UTC), "Europe/Berlin")
    assert (local.hour, local.minute, local.utcoffset()) == (3, 30, timedelta(hours=2))


BAD_ZONES = ["", "   ", "localtime", "Mars/Olympus_Mons", "../../etc/passwd", "Europe/Berlin "]


@pytest.mark.parametrize("name", BAD_ZONES)
def test_get_zone_rejects(name: str) -> None:
    with pytest.raises(ScheduleError) as info:
        get_zone(name)
    assert info.value.field == "schedule.timezone"


def test_get_zone_message_names_the_zone() -> None:
    with pytest.raises(ScheduleError, match="Mars/Olympus_Mons"):
        get_zone("Mars/Olympus_Mons")


def test_get_zone_is_cached() -> None:
    assert get_zone("Europe/Berlin") is get_zone("Europe/Berlin")


def test_ensure_utc_rejects_naive_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        ensure_utc(datetime(2025, 1, 1), "window.start")
    assert info.value.field == "window.start"


def test_ensure_utc_converts_aware() -> None:
    berlin = datetime(2025, 7, 1, 12, tzinfo=get_zone("Europe/Berlin"))
    assert ensure_utc(berlin, "at") == datetime(2025, 7, 1, 10, tzinfo=UTC)


def test_ensure_utc_returns_utc_tzinfo() -> None:
    offset = datetime(2025, 7, 1, 12, tzinfo=timezone(timedelta(hours=5)))
    assert ensure_utc(offset, "at").tzinfo is UTC


SPREADS = [("UTC", timedelta(0)), ("Asia/Kolkata", timedelta(0)),
           ("Europe/Berlin", timedelta(hours=1))]


@pytest.mark.parametrize(("zone", "spread"), SPREADS)
def test_offset_spread(zone: str, spread: timedelta) -> None:
    assert offset_spread(zone) == spread


READ_ISO_CASES = [
    # (what must happen, text, expected; None: refused with ValueError)
    ("upper-case Z is UTC", "2026-12-01T02:00:00Z", datetime(2026, 12, 1, 2, tzinfo=UTC)),
    ("lower-case z is UTC", "2026-12-01T02:00:00z", datetime(2026, 12, 1, 2, tzinfo=UTC)),
    ("blanks around are allowed", " 2026-12-01T02:00:00+01:00\n",
     datetime(2026, 12, 1, 1, tzinfo=UTC)),
    ("nanoseconds are cut to microseconds", "2026-12-01T02:00:00.123456789Z",
     datetime(2026, 12, 1, 2, 0, 0, 123456, tzinfo=UTC)),
    ("no offset stays naive", "2026-12-01T02:00:00", datetime(2026, 12, 1, 2)),
    ("a lone z is refused", "z", None),
    ("two zones are refused", "2026-12-01T02:00:00Zz", None),
    ("garbage is refused", "tomorrow", None),
]


@pytest.mark.parametrize("case", READ_ISO_CASES, ids=[c[0] for c in READ_ISO_CASES])
def test_read_iso_datetime(case: tuple[str, str, datetime | None]) -> None:
    _, text, expected = case
    try:
        got: datetime | None = read_iso_datetime(text)
    except ValueError:
        got = None
    assert got == expected
