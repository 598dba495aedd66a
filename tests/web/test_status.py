"""The public status page shows only published windows of its own workspace, active and
upcoming, and nothing else — as HTML and as JSON, without authentication."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
from playwright.sync_api import Page, expect

from tests.conftest import Tenant
from tests.web.conftest import needs_chromium


def _once(start: datetime, hours: float) -> dict[str, Any]:
    return {"kind": "once", "start": start.isoformat(),
            "end": (start + timedelta(hours=hours)).isoformat()}


def _create(tenant: Tenant, name: str, schedule: dict[str, Any], **extra: Any) -> int:
    response = tenant.editor.post("/api/v1/windows", json={
        "name": name, "schedule": schedule, "targets": ["service:checkout"], **extra})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _seed(tenant: Tenant, other: Tenant) -> None:
    now = datetime.now(UTC)
    published = {"publish_to_status_page": True}
    _create(tenant, "Database upgrade", _once(now - timedelta(minutes=10), 2),
            description="Checkout may be slow.", **published)
    # Starts in two days, so it is upcoming and cannot be running now.
    _create(tenant, "Weekly patching", {
        "kind": "recurring", "timezone": "Europe/Berlin", "every": "weekly",
        "days_of_week": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "starts_on": (now + timedelta(days=2)).date().isoformat(),
        "start_time": "02:00", "duration": "PT1H"}, **published)
    _create(tenant, "Secret internal work", _once(now - timedelta(minutes=5), 1))
    _create(tenant, "Far future", _once(now + timedelta(days=90), 1), **published)
    cancelled = _create(tenant, "Cancelled one", _once(now + timedelta(days=1), 1),
                        **published)
    assert tenant.editor.post(f"/api/v1/windows/{cancelled}/cancel").status_code == 200
    deleted = _create(tenant, "Deleted one", _once(now + timedelta(days=1), 1), **published)
    assert tenant.editor.delete(f"/api/v1/windows/{deleted}").status_code == 204
    _create(other, "Other workspace's window", _once(now - timedelta(minutes=1), 1),
            **published)


def test_status_json_lists_only_published_windows_of_the_workspace(
        tenant: Tenant, other_tenant: Tenant) -> None:
    _seed(tenant, other_tenant)
    response = httpx.get(f"{tenant.base_url}/status/{tenant.slug}.json")
    assert response.status_code == 200
    body = response.json()
    assert body["workspace"]["slug"] == tenant.slug
    assert [w["name"] for w in body["active"]] == ["Database upgrade"]
    assert [w["name"] for w in body["upcoming"]] == ["Weekly patching"]
    active = body["active"][0]
    assert active == {"name": "Database upgrade", "description": "Checkout may be slow.",
                      "status": "in_progress", "start": active["start"],
                      "end": active["end"], "affects": ["service:checkout"]}
    assert "Secret" not in response.text
    assert "Other workspace" not in response.text


def test_status_html_shows_the_same_and_needs_no_key(tenant: Tenant,
                                                     other_tenant: Tenant) -> None:
    _seed(tenant, other_tenant)
    response = httpx.get(f"{tenant.base_url}/status/{tenant.slug}")
    assert response.status_code == 200
    html = response.text
    for shown in ("Database upgrade", "Checkout may be slow.", "Weekly patching",
                  "service:checkout", "Maintenance in progress"):
        assert shown in html
    for hidden in ("Secret internal work", "Far future", "Cancelled one", "Deleted one",
                   "Other workspace"):
        assert hidden not in html


def test_unknown_workspace_is_404(tenant: Tenant) -> None:
    assert httpx.get(f"{tenant.base_url}/status/no-such-slug.json").status_code == 404
    assert httpx.get(f"{tenant.base_url}/status/no-such-slug").status_code == 404


@needs_chromium
def test_status_page_in_a_browser(page: Page, tenant: Tenant, other_tenant: Tenant,
                                  shoot: Any) -> None:
    _seed(tenant, other_tenant)
    page.goto(f"{tenant.base_url}/status/{tenant.slug}")
    expect(page.locator(".status-item")).to_have_count(2)
    expect(page.locator("[data-zone-note]")).to_have_text(
        re.compile(r"^Times in your time zone, America/New_York \(UTC\u2212[45]\)\.$"))
    shoot(page, "13-status-page")
