"""The iCalendar feed agrees with quietly: an independent expander (recurring-ical-events)
gives exactly the occurrences quietly computes, over a year that crosses both DST changes.

Every case is created through the native API in Europe/Berlin and in America/New_York, the
workspace feed is fetched at the address ``GET /api/v1/calendar`` gives, parsed with
``icalendar`` and expanded over [now, now + 365 days) — which always holds one spring and one
autumn change in both zones (2027: Berlin 28 Mar / 31 Oct, New York 14 Mar / 7 Nov).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import icalendar
import pytest
import recurring_ical_events

from tests.conftest import Tenant

ZONES = ["Europe/Berlin", "America/New_York"]
YEAR = timedelta(days=365)


def _recurring(zone: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "recurring", "timezone": zone, **fields}


# name → schedule (the zone is filled in per run). Cron is in the table too: it is emitted as
# one event per occurrence over the feed horizon, which covers the year compared here.
CASES: dict[str, dict[str, Any]] = {
    "daily, wall-clock end across the change": {
        "every": "daily", "start_time": "01:00", "end_time": "04:00"},
    "daily, start inside the spring gap": {
        "every": "daily", "start_time": "02:30", "end_time": "05:00"},
    "daily, start inside the autumn fold": {
        "every": "daily", "start_time": "01:30", "end_time": "03:15"},
    "daily, collapses to nothing on the spring change": {
        "every": "daily", "start_time": "02:30", "end_time": "03:30"},
    "daily, elapsed duration across the change": {
        "every": "daily", "start_time": "01:00", "duration": "PT3H"},
    "daily, overnight": {"every": "daily", "start_time": "22:00", "end_time": "02:00"},
    "weekly on three days": {
        "every": "weekly", "days_of_week": ["mon", "wed", "sun"], "start_time": "02:00",
        "end_time": "04:00"},
    "monthly on the 31st, last day in short months": {
        "every": "monthly", "day_of_month": 31, "start_time": "23:00", "end_time": "01:00"},
    "monthly on the 31st, skipping short months": {
        "every": "monthly", "day_of_month": 31, "short_month": "skip", "start_time": "03:00",
        "duration": "PT90M"},
    "monthly on the last day": {
        "every": "monthly", "day_of_month": -1, "start_time": "02:00", "end_time": "03:00"},
    "patch tuesday": {
        "every": "monthly", "weekday_of_month": "2TU", "start_time": "18:00",
        "end_time": "22:00"},
    "last friday": {
        "every": "monthly", "weekday_of_month": "-1FR", "start_time": "20:00",
        "duration": "PT6H"},
    "rrule every other saturday": {
        "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", "start_time": "01:00", "end_time": "05:00"},
    "rrule on the DST days themselves": {
        "rrule": "FREQ=YEARLY;BYMONTH=3,10,11;BYDAY=-1SU,1SU,2SU", "start_time": "00:30",
        "end_time": "04:30"},
    "rrule with COUNT": {"rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=30", "start_time": "02:15",
                         "end_time": "03:45"},
    # UNTIL half a year ahead: inside the year the test expands, whenever it runs.
    "rrule with UNTIL": {"rrule": "FREQ=DAILY;INTERVAL=3;UNTIL="
                                  f"{datetime.now(UTC) + timedelta(days=183):%Y%m%d}",
                         "start_time": "07:00", "duration": "PT1H"},
    "schedule count and until": {"every": "daily", "start_time": "12:00", "end_time": "13:00",
                                 "count": 200},
    "cron (horizon events)": {"cron": "30 2 * * 0", "duration": "PT2H"},
}


def _once(now: datetime, zone: str) -> list[dict[str, Any]]:
    local = (now + timedelta(days=3)).astimezone(ZoneInfo(zone)).replace(
        tzinfo=None, microsecond=0)
    utc_start = (now + timedelta(days=200)).replace(microsecond=0)
    return [
        {"kind": "once", "timezone": zone, "start": local.isoformat(),
         "end": (local + timedelta(hours=2)).isoformat()},
        {"kind": "once", "start": utc_start.isoformat().replace("+00:00", "Z"),
         "end": (utc_start + timedelta(hours=5)).isoformat().replace("+00:00", "Z")},
    ]


def _create(tenant: Tenant, name: str, schedule: dict[str, Any]) -> int:
    response = tenant.editor.post("/api/v1/windows", json={
        "name": name, "schedule": schedule, "targets": ["service:db"]})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _running_now(now: datetime, zone: str) -> dict[str, Any]:
    """A daily window whose today's occurrence is running (to cancel it mid-occurrence)."""
    local = now.astimezone(ZoneInfo(zone))
    began = local - timedelta(hours=1)
    # A series without ``starts_on`` begins today: just after midnight the running occurrence
    # began yesterday, so the series must begin on the day it did.
    return {"every": "daily", "start_time": began.strftime("%H:%M"),
            "end_time": (local + timedelta(hours=2)).strftime("%H:%M"),
            "starts_on": began.date().isoformat()}


def _expected(tenant: Tenant, window_id: int, start: datetime, end: datetime) -> list[tuple]:
    response = tenant.viewer.get(f"/api/v1/windows/{window_id}/occurrences", params={
        "from": start.isoformat(), "to": end.isoformat(), "limit": 10000})
    assert response.status_code == 200, response.text
    # iCalendar counts in whole seconds; a cancellation cut carries microseconds.
    return [(_second(o["start"]), _second(o["end"])) for o in response.json()["occurrences"]]


def _second(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(microsecond=0)


def _expanded(feed: bytes, start: datetime, end: datetime) -> dict[int, list[tuple]]:
    calendar = icalendar.Calendar.from_ical(feed)
    out: dict[int, list[tuple]] = {}
    for event in recurring_ical_events.of(calendar).between(start, end):
        window_id = int(str(event["uid"]).split("@")[0].split("-")[1])
        out.setdefault(window_id, []).append((event["dtstart"].dt.astimezone(UTC),
                                              event["dtend"].dt.astimezone(UTC)))
    return {k: sorted(v) for k, v in out.items()}


def _feed(tenant: Tenant) -> bytes:
    urls = tenant.admin.get("/api/v1/calendar")
    assert urls.status_code == 200, urls.text
    response = httpx.get(urls.json()["workspace_url"], timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    return response.content


@pytest.mark.parametrize("zone", ZONES)
def test_feed_expands_to_quietly_occurrences(tenant: Tenant, zone: str) -> None:
    now = datetime.now(UTC)
    ids: dict[int, str] = {}
    for name, fields in CASES.items():
        ids[_create(tenant, name, _recurring(zone, **fields))] = name
    for i, schedule in enumerate(_once(now, zone)):
        ids[_create(tenant, f"once {i}", schedule)] = f"once {i}"
    cancelled_open = _create(tenant, "cancelled mid-occurrence",
                             _recurring(zone, **_running_now(now, zone)))
    cancelled_count = _create(tenant, "cancelled with COUNT",
                              _recurring(zone, **_running_now(now, zone), count=50))
    for window_id in (cancelled_open, cancelled_count):
        assert tenant.editor.post(f"/api/v1/windows/{window_id}/cancel").status_code == 200
        ids[window_id] = "cancelled"
    # A minute of slack before the cancellations: iCalendar keeps whole seconds, so a range
    # starting a split second before the cut would see the cut occurrence on one side only.
    start, end = now - timedelta(minutes=1), now + YEAR
    expanded = _expanded(_feed(tenant), start, end)
    for window_id, name in ids.items():
        expected = _expected(tenant, window_id, start, end)
        assert expanded.get(window_id, []) == expected, f"{zone}: {name}"


def test_feed_has_rrule_tzid_vtimezone_and_exdate(tenant: Tenant) -> None:
    weekly = _create(tenant, "weekly", _recurring(
        "Europe/Berlin", every="weekly", days_of_week=["sun"], start_time="02:00",
        end_time="04:00"))
    counted = _create(tenant, "counted", _recurring(
        "Europe/Berlin", **_running_now(datetime.now(UTC), "Europe/Berlin"), count=10))
    assert tenant.editor.post(f"/api/v1/windows/{counted}/cancel").status_code == 200
    calendar = icalendar.Calendar.from_ical(_feed(tenant))
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT") if "RRULE" in e}
    event = events[f"window-{weekly}@quietly"]
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=SU"
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert "EXDATE" in events[f"window-{counted}@quietly"]


def test_rotation_replaces_every_address(tenant: Tenant, other_tenant: Tenant) -> None:
    _create(tenant, "weekly", _recurring("Europe/Berlin", every="daily", start_time="02:00",
                                         end_time="03:00"))
    old = tenant.admin.get("/api/v1/calendar").json()
    assert [t["target"] for t in old["targets"]] == ["service:db"]
    for url in (old["workspace_url"], old["targets"][0]["url"]):
        assert httpx.get(url).status_code == 200
    new = tenant.admin.post("/api/v1/calendar/rotate").json()
    assert new["workspace_url"] != old["workspace_url"]
    for url in (old["workspace_url"], old["targets"][0]["url"]):
        assert httpx.get(url).status_code == 404
    assert httpx.get(new["workspace_url"]).status_code == 200
    # Another workspace's slug with this workspace's token opens nothing.
    token = new["workspace_url"].rsplit("/", 1)[1]
    assert httpx.get(f"{tenant.base_url}/calendar/{other_tenant.slug}/{token}").status_code \
        == 404


def test_only_admins_see_feed_addresses(tenant: Tenant) -> None:
    assert tenant.viewer.get("/api/v1/calendar").status_code == 403
    assert tenant.editor.post("/api/v1/calendar/rotate").status_code == 403


def test_target_feed_holds_only_windows_covering_the_target(tenant: Tenant) -> None:
    assert tenant.admin.post("/api/v1/groups", json={
        "name": "web", "targets": ["service:web"]}).status_code == 201
    base = {"schedule": _recurring("UTC", every="daily", start_time="02:00", end_time="03:00")}
    made = {}
    for name, scope in {"direct": {"targets": ["service:web"]}, "group": {"groups": ["web"]},
                        "all": {"all_targets": True}, "other": {"targets": ["service:db"]},
                        "labels": {"match": [[{"label": "env", "op": "=", "value": "x"}]]}
                        }.items():
        response = tenant.editor.post("/api/v1/windows", json={"name": name, **base, **scope})
        assert response.status_code == 201, response.text
        made[response.json()["id"]] = name
    feeds = tenant.admin.get("/api/v1/calendar", params={"target": "service:web"}).json()
    calendar = icalendar.Calendar.from_ical(httpx.get(feeds["targets"][0]["url"]).content)
    names = sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))
    assert names == ["all", "direct", "group"]
