"""The web UI in a real browser (Playwright + Debian's Chromium) against a real server.

Each test signs in with a key of the ``tenant`` workspace (Europe/Berlin) from a browser set
to America/New_York, and saves a screenshot of each page it visits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from quietly.core.records import Role
from tests.conftest import Tenant
from tests.web.conftest import BROWSER_ZONE, needs_chromium, sign_in

pytestmark = needs_chromium


def _preview(page: Page) -> Any:
    return page.locator("#preview")


def test_sign_in_create_weekly_window_extend_and_cancel(page: Page, tenant: Tenant,
                                                         shoot: Any) -> None:
    page.goto(tenant.base_url + "/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    shoot(page, "01-sign-in")
    sign_in(page, tenant)
    empty = page.get_by_role("heading", name="Nothing scheduled in the next 14 days")
    expect(empty).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="New window").click()
    page.get_by_label("Name", exact=True).fill("Weekly DB patching")
    preview = _preview(page)
    # The form opens on a one-time window; make it weekly on Sundays, 02:00-04:00.
    expect(preview).to_contain_text("Once, ")
    page.locator("label[for=kind-recurring]").click()
    page.get_by_label("Repeats").select_option("weekly")
    for day in page.locator("input[name=days_of_week]:checked").all():
        page.locator(f"label[for={day.get_attribute('id')}]").click()
    page.locator("label[for=day-sun]").click()
    page.get_by_label("Starts at").fill("02:00")
    page.get_by_label("Ends at").fill("04:00")
    expect(preview).to_contain_text("Every Sunday from 02:00 to 04:00 (Europe/Berlin)")
    expect(preview.locator(".occ")).to_have_count(5)
    first_before = preview.locator(".occ").first.inner_text()

    page.locator("label[for=day-wed]").click()
    expect(preview).to_contain_text("Every Wednesday and Sunday from 02:00 to 04:00")
    page.get_by_label("Starts at").fill("03:30")
    expect(preview).to_contain_text("Every Wednesday and Sunday from 03:30 to 04:00")
    expect(preview.locator(".occ").first).not_to_have_text(first_before)
    # Times in three zones: the window's (Berlin), the browser's (New York) and UTC.
    expect(preview.locator(".preview-zone")).to_contain_text("Europe/Berlin")
    expect(preview.locator(".occ").first).to_contain_text("Your time")
    expect(preview.locator(".occ").first).to_contain_text("UTC")
    page.locator("#targets").fill("service:postgres\nmonitor:42")
    shoot(page, "02-window-form")
    page.get_by_role("button", name="Create window").click()

    expect(page.get_by_role("status")).to_contain_text("Window created.")
    expect(page.locator("h1")).to_contain_text("Weekly DB patching")
    window_url = page.url.split("?")[0]
    # Shown in the browser's zone (New York: the evening before), the window's zone on hover.
    window_id = int(window_url.rsplit("/", 1)[1])
    start = datetime.fromisoformat(
        tenant.viewer.get(f"/api/v1/windows/{window_id}").json()["next_occurrence"]["start"])
    first = page.locator("table tbody tr").first.locator("time").first
    expect(first).to_contain_text(start.astimezone(ZoneInfo(BROWSER_ZONE)).strftime("%H:%M"))
    expect(first).to_have_attribute("title", re.compile(r"03:30 UTC\+[12] \(Europe/Berlin\)"))
    shoot(page, "03-window-page")

    page.get_by_role("link", name="Timeline").click()
    row = page.locator(".tl-row", has=page.get_by_role("link", name=re.compile("Weekly DB")))
    expect(row.first).to_be_visible()
    expect(row.first.locator(".tl-bar")).not_to_have_count(0)  # a week holds Wed and Sun
    expect(page.locator(".tl-group-label")).to_contain_text(["monitor:42", "service:postgres"])
    expect(page.locator(".tl-day.today")).to_have_count(1)
    shoot(page, "04-timeline")

    page.goto(window_url)
    page.get_by_role("button", name="Extend +30 min").click()
    expect(page.get_by_role("status")).to_contain_text("Extended by 30 minutes.")
    page.get_by_role("button", name="Extend +1 h").click()
    expect(page.get_by_role("status")).to_contain_text("Extended by 1 hour.")
    extensions = page.locator("h3:has-text('Extensions') + ul li")
    expect(extensions).to_have_count(1)  # extending again lengthens the same extension
    shoot(page, "05-window-extended")

    page.get_by_role("button", name="Cancel window").click()
    expect(page.get_by_role("status")).to_contain_text("Window cancelled")
    expect(page.locator("h1 .badge")).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Cancel window")).to_have_count(0)
    shoot(page, "06-window-cancelled")
    assert tenant.viewer.get(f"/api/v1/windows/{window_id}").json()["state"] == "cancelled"
    children = tenant.viewer.get("/api/v1/windows", params={"state": "cancelled"}).json()
    assert len(children["windows"]) == 2  # the series and its extension


def test_validation_errors_show_beside_their_fields(page: Page, tenant: Tenant,
                                                    shoot: Any) -> None:
    sign_in(page, tenant)
    page.goto(tenant.base_url + "/windows/new")
    page.get_by_label("Name", exact=True).fill("Hourly is not allowed")
    page.locator("label[for=kind-recurring]").click()
    page.get_by_label("Repeats").select_option("rrule")
    page.get_by_label("RRULE").fill("FREQ=HOURLY")
    expect(_preview(page)).to_contain_text("finer than daily")
    page.locator("#targets").fill("service:web")
    page.get_by_role("button", name="Create window").click()
    error = page.locator("#err-rrule")
    expect(error).to_contain_text("FREQ=HOURLY is finer than daily")
    expect(page.get_by_label("RRULE")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("RRULE")).to_have_value("FREQ=HOURLY")  # the input is kept
    shoot(page, "07-validation-error")

    page.get_by_label("RRULE").fill("FREQ=WEEKLY;BYDAY=MO")
    page.locator("#targets").fill("not a target")
    page.get_by_role("button", name="Create window").click()
    expect(page.locator("#err-targets")).to_contain_text("is not a target; write kind:id")
    assert tenant.viewer.get("/api/v1/windows").json()["windows"] == []


def test_viewer_sees_everything_and_no_write_controls(page: Page, tenant: Tenant,
                                                      shoot: Any) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    created = tenant.editor.post("/api/v1/windows", json={
        "name": "Running now", "targets": ["service:checkout"],
        "schedule": {"kind": "once", "start": start.isoformat(),
                     "end": (start + timedelta(hours=2)).isoformat()}})
    assert created.status_code == 201
    sign_in(page, tenant, Role.VIEWER)
    expect(page.locator(".tl-bar.active")).to_have_count(1)
    for name in ("New window", "Maintenance now"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    page.get_by_role("link", name=re.compile("Running now")).first.click()
    expect(page.locator("h1")).to_contain_text("Running now")
    for name in ("Edit", "Extend +30 min", "Extend +1 h", "Cancel window", "Delete"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    shoot(page, "08-viewer-window-page")
    page.goto(tenant.base_url + "/windows/new")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_maintenance_now_and_window_list(page: Page, tenant: Tenant, shoot: Any) -> None:
    sign_in(page, tenant)
    page.get_by_role("navigation", name="Main").get_by_role("link",
                                                           name="Maintenance now").click()
    shoot(page, "09-maintenance-now")
    page.locator("#targets").fill("service:checkout service:cart")
    page.locator("label[for=minutes-30]").click()
    page.get_by_label("Name").fill("Deploy 2026.11")
    page.get_by_role("button", name="Start maintenance").click()
    expect(page.locator("h1 .badge")).to_have_text("active")
    tenant.editor.post("/api/v1/windows", json={
        "name": "Nightly backups", "targets": ["service:postgres"],
        # Starting in 2031, so it is never active while the test runs, whatever the hour.
        "schedule": {"kind": "recurring", "timezone": "UTC", "every": "daily",
                     "start_time": "01:00", "duration": "PT1H", "starts_on": "2031-01-01"}})

    page.get_by_role("link", name="Windows").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Active").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Deploy 2026.11")
    page.get_by_role("link", name="All").click()
    page.get_by_label("Search by name or target").fill("postgres")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Nightly backups")
    shoot(page, "10-window-list")


def test_phone_layout(page: Page, tenant: Tenant, shoot: Any) -> None:
    tenant.editor.post("/api/v1/windows", json={
        "name": "Weekly DB patching", "targets": ["service:postgres"],
        "schedule": {"kind": "recurring", "timezone": "Europe/Berlin", "every": "daily",
                     "start_time": "02:00", "end_time": "04:00"}})
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, tenant)
    expect(page.locator(".tl-bar").first).to_be_visible()
    shoot(page, "11-phone-timeline")
    page.goto(tenant.base_url + "/windows/new")
    expect(_preview(page)).to_contain_text("Once, ")
    shoot(page, "12-phone-form")
    # Nothing overflows the viewport except the timeline's own scroller.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
