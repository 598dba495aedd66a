"""PagerTree converters without a server: every Rails zone name round-trips.

For each name in ActiveSupport's MAPPING, a naive ``start_datetime`` is read in that zone and
shown back with the same wall-clock time, the zone's offset, and the name exactly as sent.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quietly.compat.pagertree.convert import from_record, to_fields
from quietly.compat.pagertree.schemas import MaintenanceWindowCreate
from quietly.compat.pagertree.zones import RAILS_ZONES
from quietly.core.records import WindowRecord
from quietly.core.timeutil import get_zone

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.mark.parametrize("name", sorted(RAILS_ZONES))
def test_every_rails_zone_round_trips(name: str) -> None:
    body = MaintenanceWindowCreate(name="w", start_datetime="2030-01-15T10:00:00",
                                   end_datetime="2030-01-15T12:00:00", time_zone=name,
                                   integration_ids=["a", 7])
    fields = to_fields(body)
    record = WindowRecord(id=1, workspace_id=1, fields=fields, created_by="key:k",
                          created_at=NOW, updated_at=NOW)
    answer = from_record(record, NOW, "UTC")
    offset = datetime(2030, 1, 15, 10, tzinfo=get_zone(RAILS_ZONES[name])).isoformat()[19:]
    expected_offset = "Z" if offset == "+00:00" else offset
    assert (answer["time_zone"], answer["start_datetime"], answer["integration_ids"]) == (
        name, f"2030-01-15T10:00:00.000{expected_offset}", ["a", "7"])
