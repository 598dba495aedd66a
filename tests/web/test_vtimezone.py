"""The feed's VTIMEZONEs: each change's onset is the local time *before* it (RFC 5545 §3.6.5).

RFC 5545's own example: ``BEGIN:DAYLIGHT DTSTART:19870405T020000 TZOFFSETFROM:-0500
TZOFFSETTO:-0400`` for New York's spring change at 02:00 EST.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from quietly.web.vtimezone import vtimezone

ONSETS = [
    # (zone, onset written, offset from, offset to) — hours
    ("America/New_York", datetime(1987, 4, 5, 2), -5, -4),
    ("America/New_York", datetime(2027, 3, 14, 2), -5, -4),
    ("America/New_York", datetime(2027, 11, 7, 2), -4, -5),
    ("Europe/Berlin", datetime(2027, 3, 28, 2), 1, 2),
    ("Europe/Berlin", datetime(2027, 10, 31, 3), 2, 1),
    ("Australia/Lord_Howe", datetime(2027, 10, 3, 2), 10.5, 11),
    ("Australia/Lord_Howe", datetime(2027, 4, 4, 2), 11, 10.5),
]


def _observances(zone: str) -> list[tuple[datetime, timedelta, timedelta]]:
    found = []
    for part in vtimezone(zone).subcomponents:
        onsets = [part["DTSTART"].dt]
        rdates = part.get("RDATE")
        for rdate in (rdates if isinstance(rdates, list) else [rdates] if rdates else []):
            onsets += [d.dt for d in rdate.dts]
        found += [(onset, part["TZOFFSETFROM"].td, part["TZOFFSETTO"].td) for onset in onsets]
    return found


@pytest.mark.parametrize(("zone", "onset", "before", "after"), ONSETS,
                         ids=[f"{z} {o:%Y-%m-%d}" for z, o, _, _ in ONSETS])
def test_onsets_are_local_times_before_the_change(zone: str, onset: datetime, before: float,
                                                  after: float) -> None:
    expected = (onset, timedelta(hours=before), timedelta(hours=after))
    assert expected in _observances(zone)
