"""Issue 16, points 7-9 in a real browser: one date/time format, the preview's DST notes and
layout, the form's defaults, the timeline's filter, the favicon. Screenshots of each page go
to ``$QUIETLY_ARTIFACTS/screenshots`` (``ui16-*``).

The workspace is in Europe/Berlin; browsers are in America/New_York, once with a 24-hour
language (en-GB) and once with a 12-hour one (en-US). Windows are years ahead or built from
the current time, so every check holds whatever the hour and date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from quietly.core.records import Role
from tests.api.helpers import active_body, window_body
from tests.conftest import Tenant
from tests.web.conftest import BROWSER_ZONE, needs_chromium, sign_in
from tests.web.test_times import LOCALE_ZONES, day_text, next_spring_change_in_berlin

pytestmark = needs_chromium

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1360, "height": 900}


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Any]:
    """``open(locale, js=True)`` → a page in its own context, closed after the test."""
    opened: list[Any] = []

    def open_page(locale: str, *, js: bool = True, viewport: dict[str, int] = DESKTOP
                  ) -> Page:
        context = browser.new_context(locale=locale, timezone_id=BROWSER_ZONE,
                                      java_script_enabled=js, viewport=viewport)
        opened.append(context)
        return context.new_page()

    yield open_page
    for context in opened:
        context.close()


YEARS_AHEAD = datetime(datetime.now(UTC).year + 4, 1, 15, 22, tzinfo=UTC)  # 23:00 in Berlin


def _seed_times(tenant: Tenant) -> dict[str, int]:
    start = YEARS_AHEAD  # and 17:00 in New York
    bodies = {
        "ahead": window_body("Upgrade years ahead", schedule={
            "kind": "once", "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(), "timezone": "Europe/Berlin"}),
        "nightly": window_body("Nightly reindex", schedule={
            "kind": "recurring", "timezone": "Europe/Berlin", "every": "daily",
            "start_time": "02:00", "end_time": "04:00", "starts_on": f"{start.year}-01-01"}),
    }
    return {k: tenant.editor.post("/api/v1/windows", json=b).json()["id"]
            for k, b in bodies.items()}


@pytest.mark.parametrize(("locale", "habit"), [("en-GB", "24-hour"), ("en-US", "12-hour")])
def test_one_format_in_the_browsers_habit_with_and_without_javascript(
        contexts: Any, tenant: Tenant, shoot: Any, locale: str, habit: str) -> None:
    ids = _seed_times(tenant)
    seen: dict[bool, dict[str, str]] = {}
    for js in (True, False):
        page = contexts(locale, js=js)
        sign_in(page, tenant, Role.VIEWER)
        page.goto(f"{tenant.base_url}/windows/{ids['ahead']}")
        lead = page.locator(".lead").inner_text()
        page.goto(f"{tenant.base_url}/windows/{ids['nightly']}")
        nightly = page.locator(".lead").inner_text()
        page.goto(tenant.base_url + "/windows")
        seen[js] = {"lead": lead, "nightly": nightly, "list": page.locator("main").inner_text(),
                    "foot": page.locator("footer").inner_text()}
        shoot(page, f"ui16-windows-{locale}-{'js' if js else 'no-js'}")
    # A window's own zone reads the same with and without JavaScript.
    assert seen[True]["lead"] == seen[False]["lead"]
    assert seen[True]["nightly"] == seen[False]["nightly"]
    day = day_text(YEARS_AHEAD.date())
    expected = {
        "24-hour": (f"Once, {day}, 23:00\u201323:30 UTC+1 (Europe/Berlin)",
                    "Every day from 02:00 to 04:00", f"{day}, 17:00 UTC\u22125"),
        "12-hour": (f"Once, {day}, 11:00 PM\u201311:30 PM UTC+1 (Europe/Berlin)",
                    "Every day from 2:00 AM to 4:00 AM", f"{day}, 5:00 PM UTC\u22125"),
    }[habit]
    assert seen[True]["lead"] == expected[0]
    # The list's "next" column is in the browser's zone (New York), its year included.
    assert expected[2] in seen[True]["list"]
    assert LOCALE_ZONES.findall(seen[True]["list"]) == []
    assert re.search(r"your browser's time zone, America/New_York \(UTC\u2212[45]\)",
                     seen[True]["foot"])
    assert "each window's own time zone" in seen[False]["foot"]
    words = seen[True]["nightly"]
    assert words.startswith(expected[1]), words


def _fill_recurring(page: Page, start: str, end: str, first_date: str) -> None:
    page.locator("label[for=kind-recurring]").click()
    page.get_by_label("Repeats").select_option("daily")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_label("Starts at").fill(start)
    page.get_by_label("Ends at").fill(end)
    page.locator("details.more summary").click()
    page.get_by_label("First date").fill(first_date)


def _one_line(page: Page, selector: str) -> list[str]:
    """The elements matching ``selector`` that wrap onto a second line (by their height)."""
    return page.evaluate("""sel => [...document.querySelectorAll(sel)].filter(el => {
        const style = getComputedStyle(el);
        return el.getBoundingClientRect().height > 1.6 * parseFloat(style.lineHeight || 20);
      }).map(el => el.textContent)""", selector)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_preview_notes_daylight_saving_and_keeps_each_range_on_one_line(
        page: Page, tenant: Tenant, shoot: Any, size: str) -> None:
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONE)
    sign_in(page, tenant)
    page.goto(tenant.base_url + "/windows/new")
    preview = page.locator("#preview")
    # The form opens on a one-time window from the next full hour, not a weekly Sunday.
    expect(page.locator("#kind-once")).to_be_checked()
    expect(preview.locator("[data-preview-human]")).to_have_text(
        re.compile(r"^Once, .+ \(Europe/Berlin\)$"))
    expect(preview.locator(".occ")).to_have_count(1)

    # Berlin springs forward on the last Sunday of March: 02:30 does not exist that day.
    change = next_spring_change_in_berlin(datetime.now(UTC).date() + timedelta(days=400))
    _fill_recurring(page, "02:30", "04:00", (change - timedelta(days=1)).isoformat())
    expect(preview).to_contain_text("Every day from 02:30 to 04:00")
    items = preview.locator(".occ")
    expect(items).to_have_count(5)
    expect(items.nth(0).locator("[data-dst-note]")).to_have_count(0)
    noted = items.nth(1)
    expect(noted.locator(".occ-main")).to_have_text(f"{day_text(change)}, 03:30\u201304:00 UTC+2")
    expect(noted.locator("[data-dst-note]")).to_have_text([
        re.compile(r"02:30 does not exist that day in Europe/Berlin \(clocks go forward 1 hour "
                   r"at 02:00\): starts at 03:30"),
        re.compile(r"lasts 30 minutes instead of 1 hour 30 minutes")])
    # The browser (New York) sees its own time too; UTC is named, never split across lines.
    expect(noted).to_contain_text("Your time")
    expect(noted).to_contain_text(f"UTC {day_text(change)}, 01:30\u201302:00 UTC")
    assert _one_line(page, "#preview .when") == []
    shoot(page, f"ui16-preview-dst-{size}")

    page.get_by_label("Starts at").fill("02:00")
    page.get_by_label("Ends at").fill("03:00")
    dropped = preview.locator(".occ-dropped")
    expect(dropped).to_have_count(1)
    expect(dropped).to_contain_text(f"No occurrence on {day_text(change)}")
    expect(dropped).to_contain_text("02:00 to 03:00 does not exist that day in Europe/Berlin")
    shoot(page, f"ui16-preview-dropped-{size}")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_the_timeline_hides_ended_windows_on_request_and_the_url_keeps_it(
        page: Page, tenant: Tenant, shoot: Any) -> None:
    soon = datetime.now(UTC) + timedelta(days=2)
    tenant.editor.post("/api/v1/windows", json=window_body("Planned", schedule={
        "kind": "once", "start": soon.isoformat(),
        "end": (soon + timedelta(hours=3)).isoformat()}))
    cancelled = tenant.editor.post("/api/v1/windows", json=active_body("Called off")).json()
    tenant.editor.post(f"/api/v1/windows/{cancelled['id']}/cancel")
    sign_in(page, tenant, Role.VIEWER)
    labels = page.locator(".tl-label .tl-name")
    expect(labels).to_contain_text(["Called off"])
    shoot(page, "ui16-timeline-all")
    page.get_by_role("link", name="Hide completed and cancelled").click()
    expect(page).to_have_url(re.compile(r"/\?hide=ended$"))
    expect(labels).to_have_text(["Planned"])
    expect(page.locator("[data-ended-toggle]")).to_contain_text("hidden (1)")
    page.reload()
    expect(labels).to_have_text(["Planned"])
    shoot(page, "ui16-timeline-hidden")
    page.get_by_role("link", name="Show completed and cancelled").click()
    expect(labels).to_contain_text(["Called off"])


def test_the_list_puts_active_windows_first_and_every_page_has_the_favicon(
        page: Page, tenant: Tenant, shoot: Any) -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    sooner = datetime.now(UTC) + timedelta(days=3)
    for name, start in (("Later", later), ("Sooner", sooner)):
        tenant.editor.post("/api/v1/windows", json=window_body(name, schedule={
            "kind": "once", "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat()}))
    tenant.editor.post("/api/v1/windows", json=active_body("Running"))
    sign_in(page, tenant, Role.VIEWER)
    page.goto(tenant.base_url + "/windows")
    expect(page.locator("tbody tr td:first-child")).to_have_text(["Running", "Sooner", "Later"])
    shoot(page, "ui16-window-list")
    for url in ("/", "/windows", f"/status/{tenant.slug}", "/sign-in"):
        page.goto(tenant.base_url + url)
        kind = page.evaluate("""() => fetch(document.querySelector("link[rel=icon]").href)
            .then(r => r.headers.get("content-type"))""")
        assert (url, kind) == (url, "image/svg+xml")


def test_on_a_phone_a_range_over_two_days_breaks_at_its_dash_not_the_page(
        page: Page, tenant: Tenant) -> None:
    """A one-time window from 23:00 to 01:00 next year: its range (two dates with their
    years) is wider than a phone; it breaks at the dash, each end whole, and nothing is
    wider than the screen (it pushed the whole form sideways when the page was opened in the
    last hour of a Berlin day)."""
    page.set_viewport_size(PHONE)
    sign_in(page, tenant)
    page.goto(tenant.base_url + "/windows/new")
    year = datetime.now(UTC).year + 1
    page.locator("#start").fill(f"{year}-01-15T23:00")
    page.locator("#end").fill(f"{year}-01-16T01:00")
    main = page.locator("#preview .occ-main").first
    expect(main).to_have_text(f"Fri 15 Jan {year}, 23:00 \u2013 Sat 16 Jan {year}, 01:00 UTC+1"
                              if year == 2027 else re.compile(rf"15 Jan {year}, 23:00 \u2013 "))
    expect(main.locator(".nobr")).to_have_count(2)
    assert _one_line(page, "#preview .when .nobr") == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
