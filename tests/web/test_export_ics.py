"""``quietly export --ics``: the same calendar as the served feed, built from the API's JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import icalendar
import recurring_ical_events

from tests.cli.helpers import client_cli, ok
from tests.conftest import Tenant


def _events(data: bytes, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    calendar = icalendar.Calendar.from_ical(data)
    return sorted((str(e["UID"]), e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC))
                  for e in recurring_ical_events.of(calendar).between(start, end))


def test_export_ics_matches_the_feed(tenant: Tenant, tmp_path: Path) -> None:
    for schedule in (
        {"kind": "recurring", "timezone": "Europe/Berlin", "every": "weekly",
         "days_of_week": ["sun"], "start_time": "02:00", "end_time": "04:00"},
        {"kind": "recurring", "timezone": "America/New_York", "cron": "30 1 * * 1",
         "duration": "PT2H"},
        {"kind": "once", "start": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
         "end": (datetime.now(UTC) + timedelta(days=2, hours=1)).isoformat()},
    ):
        response = tenant.editor.post("/api/v1/windows", json={
            "name": "w", "schedule": schedule, "targets": ["service:db"]})
        assert response.status_code == 201, response.text
    out = tmp_path / "windows.ics"
    result = ok(client_cli(tenant, "export", "--ics", "--output", str(out)))
    assert "exported an iCalendar" in result.stderr
    exported = out.read_bytes()
    assert exported.startswith(b"BEGIN:VCALENDAR\r\n")
    feed = httpx.get(tenant.admin.get("/api/v1/calendar").json()["workspace_url"]).content
    now = datetime.now(UTC)
    window = (now, now + timedelta(days=365))
    assert _events(exported, *window) == _events(feed, *window)
    assert len(_events(exported, *window)) > 100

    to_stdout = ok(client_cli(tenant, "export", "--ics"))
    assert to_stdout.stdout.startswith("BEGIN:VCALENDAR")
