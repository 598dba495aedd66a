"""Differential test of the iCalendar feed: what libical makes of it is what quietly enforces.

Random recurring windows (``random_schedules``, first dates within two years of today, in the
thirteen zones) are created through the native API, a few of them cancelled; the workspace feed
is expanded by libical (``libical_expand.py``: RRULE, EXDATE, RECURRENCE-ID overrides, DTEND
as an exact duration and DURATION per RFC 5545, the feed's own VTIMEZONEs) over the coming
year and compared, window by window, with ``GET /api/v1/windows/{id}/occurrences``. The seed
changes every run and is printed on failure (``QUIETLY_LIBICAL_SEED`` reruns one).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx

from tests.conftest import Tenant
from tests.differential import libical
from tests.differential.random_schedules import ZONES, schedule_json
from tests.differential.test_libical_rules import SEED

WINDOWS = 64
YEAR = timedelta(days=365)


def _create(tenant: Tenant, rng: random.Random, now: datetime,
            index: int) -> tuple[int, dict[str, Any]] | None:
    zone = ZONES[index % len(ZONES)]
    schedule = schedule_json(rng, zone, now.year, now.year + 1)
    response = tenant.editor.post("/api/v1/windows", json={
        "name": f"random {index}", "schedule": schedule, "targets": ["service:db"]})
    if response.status_code == 422:  # a rule that never fires, or an occurrence collapsing
        return None
    assert response.status_code == 201, response.text
    return int(response.json()["id"]), schedule


def _api(tenant: Tenant, window_id: int, lo: datetime, hi: datetime) -> list[libical.Span]:
    response = tenant.viewer.get(f"/api/v1/windows/{window_id}/occurrences", params={
        "from": lo.isoformat(), "to": hi.isoformat(), "limit": 10000})
    assert response.status_code == 200, response.text
    spans = [(datetime.fromisoformat(o["start"]), datetime.fromisoformat(o["end"]))
             for o in response.json()["occurrences"]]
    # iCalendar counts whole seconds (a cancellation cut carries microseconds).
    return [(s.replace(microsecond=0), e.replace(microsecond=0)) for s, e in spans if s >= lo]


def _feed(tenant: Tenant) -> str:
    urls = tenant.admin.get("/api/v1/calendar")
    assert urls.status_code == 200, urls.text
    response = httpx.get(urls.json()["workspace_url"], timeout=60)
    assert response.status_code == 200
    return response.text


def test_feed_expands_in_libical_to_the_api_occurrences(tenant: Tenant) -> None:
    libical.require()
    print(f"libical feed seed: {SEED} (QUIETLY_LIBICAL_SEED={SEED} reruns it)")
    rng, now = random.Random(SEED), datetime.now(UTC).replace(microsecond=0)
    windows: dict[int, dict[str, Any]] = {}
    for index in range(WINDOWS * 3):
        if len(windows) >= WINDOWS:
            break
        created = _create(tenant, rng, now, index)
        if created is not None:
            windows[created[0]] = created[1]
    for window_id in list(windows)[::8]:
        cancel = tenant.editor.post(f"/api/v1/windows/{window_id}/cancel")
        assert cancel.status_code in (200, 409), cancel.text  # 409: completed already
    # A minute of slack before the cancellations (they cut at the request's instant).
    lo, hi = now - timedelta(minutes=1), now + YEAR
    answer = libical.run({"feeds": [{"id": "feed", "ics": _feed(tenant),
                                     "lo": libical.stamp(lo), "hi": libical.stamp(hi)}]},
                         f"seed {SEED}")
    expanded = answer["feeds"]["feed"]
    disagreements = []
    total = 0
    for window_id, schedule in windows.items():
        ours = _api(tenant, window_id, lo, hi)
        theirs = libical.spans(expanded.get(f"window-{window_id}@quietly", []))
        total += len(ours)
        if ours != theirs:
            disagreements.append(
                f"window {window_id} {schedule}: only the API "
                f"{sorted(set(ours) - set(theirs))[:3]}, only libical "
                f"{sorted(set(theirs) - set(ours))[:3]}")
    assert len(windows) >= WINDOWS // 2, f"seed {SEED}: only {len(windows)} windows accepted"
    assert disagreements == [], (
        f"seed {SEED}: {len(disagreements)} of {len(windows)} windows ({total} occurrences) "
        "disagree:\n" + "\n".join(disagreements[:8]))
