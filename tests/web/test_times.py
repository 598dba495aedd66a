"""Dates, times and zones in the web UI (issue 16, points 7 and 8) over plain HTTP.

The format rules are checked as a table against ``timefmt`` with the clock passed in; the
pages are then checked as served (without JavaScript: what a page says before ``app.js``
runs must already follow the same rules). The browser side is in ``test_browser_times.py``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.web import timefmt
from tests.api.helpers import active_body, window_body
from tests.conftest import Tenant
from tests.web.conftest import cookie_client, signed_in

NOW = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
LOCALE_ZONES = re.compile(r"\b(GMT|CET|CEST|EST|EDT)\b")
U = datetime  # short alias for the table


def next_spring_change_in_berlin(after: date) -> date:
    """The last Sunday of March (Europe/Berlin springs forward) after ``after``."""
    for year in (after.year, after.year + 1):
        last = date(year, 3, 31)
        sunday = last - timedelta(days=(last.weekday() + 1) % 7)
        if sunday > after:
            return sunday
    raise AssertionError("unreachable")


def day_text(day: date) -> str:
    """``Sun 30 Mar 2031``: how the UI writes a date of another year."""
    return f"{day:%a} {day.day} {day:%b} {day.year}"


def _text(html: str) -> str:
    """The page's text: tags dropped, entities decoded, white space collapsed."""
    html = re.sub(r"<p[^>]* hidden>.*?</p>", "", html, flags=re.S)  # shown by app.js only
    html = re.sub(r"</?(?:p|dt|dd|li|td|th|h\d)\b[^>]*>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html))).strip()


INSTANTS: dict[str, tuple[datetime, str, str, timefmt.Clock, str]] = {
    "this year, 24-hour": (U(2026, 12, 24, 22, 0, tzinfo=UTC), "Europe/Berlin", "datetime",
                           "h23", "Thu 24 Dec, 23:00 UTC+1"),
    "another year gets its year": (U(2030, 1, 15, 22, 0, tzinfo=UTC), "Europe/Berlin",
                                   "datetime", "h23", "Tue 15 Jan 2030, 23:00 UTC+1"),
    "12-hour habit": (U(2030, 1, 15, 22, 0, tzinfo=UTC), "Europe/Berlin", "datetime", "h12",
                      "Tue 15 Jan 2030, 11:00 PM UTC+1"),
    "midnight and noon in 12-hour": (U(2026, 7, 1, 22, 0, tzinfo=UTC), "Europe/Berlin", "time",
                                     "h12", "12:00 AM"),
    "summer offset": (U(2026, 7, 1, 10, 0, tzinfo=UTC), "Europe/Berlin", "datetime", "h23",
                      "Wed 1 Jul, 12:00 UTC+2"),
    "negative offset, minus sign": (U(2026, 7, 1, 10, 0, tzinfo=UTC), "America/New_York",
                                    "datetime", "h23", "Wed 1 Jul, 06:00 UTC\u22124"),
    "half-hour offset": (U(2026, 4, 4, 10, 0, tzinfo=UTC), "Australia/Lord_Howe", "datetime",
                         "h23", "Sat 4 Apr, 21:00 UTC+11"),
    "Lord Howe in winter": (U(2026, 6, 4, 10, 0, tzinfo=UTC), "Australia/Lord_Howe",
                            "datetime", "h23", "Thu 4 Jun, 20:30 UTC+10:30"),
    "UTC itself": (U(2026, 6, 4, 10, 0, tzinfo=UTC), "UTC", "datetime", "h23",
                   "Thu 4 Jun, 10:00 UTC"),
    "a date": (U(2031, 3, 30, 10, 0, tzinfo=UTC), "UTC", "date", "h23", "Sun 30 Mar 2031"),
    "the timeline's first of a month": (U(2027, 2, 1, 10, 0, tzinfo=UTC), "UTC", "day", "h23",
                                        "Mon 1 Feb"),
}


@pytest.mark.parametrize("name", list(INSTANTS))
def test_instant_format(name: str) -> None:
    instant, zone, style, clock, expected = INSTANTS[name]
    assert timefmt.instant_text(instant, zone, style, clock, NOW) == expected


RANGES: dict[str, tuple[datetime, datetime, str, timefmt.Clock, str]] = {
    "same day": (U(2027, 3, 28, 1, 30, tzinfo=UTC), U(2027, 3, 28, 2, 0, tzinfo=UTC),
                 "Europe/Berlin", "h23", "Sun 28 Mar 2027, 03:30\u201304:00 UTC+2"),
    "across the autumn change": (U(2026, 10, 24, 23, 0, tzinfo=UTC),
                                 U(2026, 10, 25, 3, 0, tzinfo=UTC), "Europe/Berlin", "h23",
                                 "Sun 25 Oct, 01:00 UTC+2 \u2013 04:00 UTC+1"),
    "overnight": (U(2026, 12, 31, 21, 0, tzinfo=UTC), U(2027, 1, 1, 5, 0, tzinfo=UTC),
                  "Europe/Berlin", "h12", "Thu 31 Dec, 10:00 PM \u2013 Fri 1 Jan 2027, "
                  "6:00 AM UTC+1"),
}


@pytest.mark.parametrize("name", list(RANGES))
def test_range_format(name: str) -> None:
    start, end, zone, clock, expected = RANGES[name]
    assert timefmt.range_text(start, end, zone, clock, NOW) == expected


@pytest.mark.parametrize(("accept", "cookie", "expected"), [
    (None, None, "h23"), ("en-GB,en;q=0.9", None, "h23"), ("en-US,en;q=0.9", None, "h12"),
    ("de-DE", None, "h23"), ("en-US", "h23", "h23"), ("de-DE", "h12", "h12"),
    ("en-US", "bogus", "h12"),
])
def test_the_habit_comes_from_the_browser_then_its_language(
        tenant: Tenant, accept: str | None, cookie: str | None, expected: str) -> None:
    client, _ = signed_in(tenant, Role.VIEWER)
    if cookie:
        client.cookies.set(timefmt.CLOCK_COOKIE, cookie)
    headers = {"Accept-Language": accept} if accept else {}
    form = {"kind": "recurring", "rule": "daily", "start_time": "14:30", "end_mode": "end_time",
            "end_time": "16:00", "timezone": "Europe/Berlin"}
    text = _text(client.post("/windows/preview", data=form, headers=headers).text)
    words = {"h23": "Every day from 14:30 to 16:00 (Europe/Berlin)",
             "h12": "Every day from 2:30 PM to 4:00 PM (Europe/Berlin)"}
    assert words[expected] in text


def _preview(client: httpx.Client, **fields: str) -> str:
    form = {"kind": "recurring", "rule": "daily", "end_mode": "end_time",
            "timezone": "Europe/Berlin", **fields}
    response = client.post("/windows/preview", data=form)
    assert response.status_code == 200, response.text
    return response.text


def _items(html: str) -> list[str]:
    return [_text(item).strip() for item in re.findall(r'<li class="occ[^"]*">(.*?)</li>', html,
                                                       re.S)]


def test_the_preview_says_what_daylight_saving_does_beside_each_occurrence(
        tenant: Tenant) -> None:
    """Berlin's spring change more than a year ahead (a Sunday in another year): a window
    from 02:00 to 03:00 has no occurrence that day, one from 02:30 to 04:00 starts at 03:30;
    the days around say nothing."""
    change = next_spring_change_in_berlin(datetime.now(UTC).date() + timedelta(days=400))
    before, after = (day_text(change + timedelta(days=d)) for d in (-1, 1))
    client, _ = signed_in(tenant, Role.VIEWER)
    dropped = _items(_preview(client, start_time="02:00", end_time="03:00",
                              starts_on=(change - timedelta(days=1)).isoformat(), count="3"))
    assert dropped[:3] == [
        f"{before}, 02:00\u201303:00 UTC+1 UTC {before}, 01:00\u201302:00 UTC",
        f"No occurrence on {day_text(change)} \u26a0 02:00 to 03:00 does not exist that day "
        "in Europe/Berlin (clocks go forward 1 hour at 02:00): no occurrence",
        f"{after}, 02:00\u201303:00 UTC+2 UTC {after}, 00:00\u201301:00 UTC"]
    shifted = _items(_preview(client, start_time="02:30", end_time="04:00",
                              starts_on=change.isoformat(), count="2"))
    assert shifted == [
        f"{day_text(change)}, 03:30\u201304:00 UTC+2 UTC {day_text(change)}, "
        "01:30\u201302:00 UTC \u26a0 02:30 does not exist that day in Europe/Berlin (clocks go "
        "forward 1 hour at 02:00): starts at 03:30 \u26a0 lasts 30 minutes instead of 1 hour "
        "30 minutes",
        f"{after}, 02:30\u201304:00 UTC+2 UTC {after}, 00:30\u201302:00 UTC"]


def test_the_new_window_form_opens_on_a_one_time_window_from_the_next_hour(
        tenant: Tenant) -> None:
    client, _ = signed_in(tenant, Role.EDITOR)
    before = datetime.now(UTC)
    html = client.get("/windows/new").text
    after = datetime.now(UTC)
    assert re.search(r'id="kind-once" name="kind" value="once" checked', html)
    assert not re.search(r'id="kind-recurring"[^>]*checked', html)
    zone = ZoneInfo("Europe/Berlin")
    # The next full hour in the workspace's zone, one hour long (either side of a tick).
    starts = {(t.astimezone(zone) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00")
              for t in (before, after)}
    start = re.search(r'id="start" name="start" type="datetime-local" value="([^"]+)"', html)
    assert start is not None
    assert start[1] in starts
    # No Sunday-night rule waiting behind "Recurring": its day is the start's own weekday.
    checked = re.findall(r'id="day-(\w+)" name="days_of_week" value="\w+" checked', html)
    assert checked == [["mon", "tue", "wed", "thu", "fri", "sat", "sun"][
        date.fromisoformat(start[1][:10]).weekday()]]


def test_a_maintenance_now_window_names_one_zone(tenant: Tenant) -> None:
    response = tenant.editor.post("/api/v1/maintenance/start",
                                  json={"targets": ["service:checkout"], "duration": "PT30M"})
    assert response.status_code == 201, response.text
    window = response.json()
    client, _ = signed_in(tenant, Role.VIEWER)
    text = _text(client.get(f"/windows/{window['id']}").text)
    # The schedule in the zone the next row names (across a DST change both offsets show).
    assert re.search(r"Schedule Once, [^()]+ UTC\+[12] \(Europe/Berlin\) "
                     r"Time zone Europe/Berlin \(the workspace's", text), text
    assert "(UTC)" not in text


def test_a_window_in_another_year_shows_its_year(tenant: Tenant) -> None:
    start = datetime(datetime.now(UTC).year + 4, 1, 15, 22, tzinfo=UTC)  # 23:00 in Berlin
    body = window_body("years ahead", schedule={
        "kind": "once", "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat()})
    assert tenant.editor.post("/api/v1/windows", json=body).status_code == 201
    client, _ = signed_in(tenant, Role.VIEWER)
    text = _text(client.get("/windows").text)
    first, second = day_text(start.date()), day_text(start.date() + timedelta(days=1))
    assert f"Once, {first}, 23:00 \u2013 {second}, 00:00 UTC+1 (Europe/Berlin)" in text
    assert f"{first}, 23:00 UTC+1" in text  # the "next" column
    assert LOCALE_ZONES.findall(text) == []


def test_the_audit_trail_shows_schedules_in_words(tenant: Tenant) -> None:
    body = window_body("sched", schedule={
        "kind": "recurring", "timezone": "Europe/Berlin", "every": "daily",
        "start_time": "02:00", "end_time": "03:00",
        "starts_on": f"{datetime.now(UTC).year + 4}-01-01"})
    window = tenant.editor.post("/api/v1/windows", json=body).json()
    patched = tenant.editor.patch(f"/api/v1/windows/{window['id']}", json={"schedule": {
        **body["schedule"], "start_time": "01:00"}})
    assert patched.status_code == 200, patched.text
    client, _ = signed_in(tenant, Role.VIEWER)
    html = client.get(f"/windows/{window['id']}").text
    diff = re.findall(r"<dt>schedule</dt><dd>(.*?)</dd>", html, re.S)
    assert [_text(d) for d in diff] == [
        "Every day from 02:00 to 03:00 (Europe/Berlin) \u2192 "
        "Every day from 01:00 to 03:00 (Europe/Berlin)"]


def test_the_timeline_can_hide_completed_and_cancelled_windows(tenant: Tenant) -> None:
    """A window cancelled while it ran keeps its bar up to the cancellation (hidden on
    request); one cancelled before it started has no bar at all."""
    soon = datetime.now(UTC) + timedelta(days=2)
    kept = window_body("kept", schedule={"kind": "once", "start": soon.isoformat(),
                                         "end": (soon + timedelta(hours=1)).isoformat()})
    ids = {"kept": tenant.editor.post("/api/v1/windows", json=kept).json()["id"],
           "cancelled": tenant.editor.post("/api/v1/windows",
                                           json=active_body("cancelled")).json()["id"]}
    assert tenant.editor.post(f"/api/v1/windows/{ids['cancelled']}/cancel").status_code == 200
    client, _ = signed_in(tenant, Role.VIEWER)

    def shown(url: str) -> set[int]:
        html = client.get(url).text
        return {int(i) for i in re.findall(r'class="tl-label" href="/windows/(\d+)"', html)}

    assert shown("/") == {ids["kept"], ids["cancelled"]}
    assert shown("/?hide=ended") == {ids["kept"]}
    hidden = client.get("/?hide=ended").text
    assert 'href="/">Show completed and cancelled</a>' in hidden
    assert "Completed and cancelled windows are hidden (1)." in _text(hidden)
    assert 'href="/?hide=ended">Hide completed and cancelled</a>' in client.get("/").text


PAGES = ["/", "/windows", "/windows/new", "/maintenance", "/windows/999999"]


def test_the_favicon_is_an_svg_linked_from_every_page(tenant: Tenant) -> None:
    client, _ = signed_in(tenant, Role.EDITOR)
    icon = client.get("/static/favicon.svg")
    assert (icon.status_code, icon.headers["content-type"].split(";")[0]) == (200,
                                                                             "image/svg+xml")
    assert icon.text.startswith("<svg")
    link = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    pages = {url: client.get(url).text for url in PAGES}
    anonymous = cookie_client(tenant.base_url)
    pages["/sign-in"] = anonymous.get("/sign-in").text
    pages["/status"] = anonymous.get(f"/status/{tenant.slug}").text
    pages["/status (unknown)"] = anonymous.get("/status/no-such-workspace").text
    assert [url for url, html in pages.items() if link not in html] == []
    # The API docs (Swagger UI's own page) name the same icon.
    assert 'rel="shortcut icon" href="/static/favicon.svg"' in anonymous.get("/docs").text



def test_wall_times_are_marked_for_thesigned_in() -> None:
    marked = str(timefmt.mark_wall_times("from 02:00 to 14:30:15 (Europe/Berlin) <b>", "h12"))
    assert marked == ('from <time datetime="02:00" data-wall>2:00 AM</time> to '
                      '<time datetime="14:30:15" data-wall>2:30:15 PM</time> '
                      "(Europe/Berlin) &lt;b&gt;")
    assert timefmt.date_text(date(2027, 1, 1), 2027) == "Fri 1 Jan"
    assert timefmt.clock_text(time(0, 5), "h12") == "12:05 AM"


def test_the_sync_pages_write_times_like_every_other_page(tenant: Tenant) -> None:
    created = tenant.admin.post("/api/v1/syncs", json={
        "name": "am-times", "url": "http://127.0.0.1:9", "interval": "1h",
        "target_labels": {"service": "service"}})
    assert created.status_code == 201, created.text
    sync = created.json()
    try:
        client, _ = signed_in(tenant, Role.ADMIN)
        pages = [client.get("/syncs").text, client.get(f"/syncs/{sync['id']}").text]
        # No raw RFC 3339 text: every instant is a <time> in the one format.
        raw = re.compile(r">[^<]*\d{4}-\d\d-\d\dT\d\d:\d\d")
        assert [bool(raw.search(html)) for html in pages] == [False, False]
        next_run = re.search(r"<dt>Next run</dt><dd>(.*?)</dd>", pages[1], re.S)
        assert next_run is not None
        assert re.fullmatch(r"(\w{3} \d+ \w{3}( \d{4})?, \d\d:\d\d UTC\+[12]|\u2014)",
                            _text(next_run[1])), next_run[1]
    finally:
        tenant.admin.delete(f"/api/v1/syncs/{sync['id']}")


def test_the_window_page_notes_daylight_saving_beside_its_occurrences(tenant: Tenant) -> None:
    """The page lists the occurrences of the coming 800 days: the next spring change."""
    change = next_spring_change_in_berlin(datetime.now(UTC).date() + timedelta(days=2))
    body = window_body("spring", schedule={
        "kind": "recurring", "timezone": "Europe/Berlin", "every": "daily",
        "start_time": "02:30", "end_time": "04:00",
        "starts_on": (change - timedelta(days=1)).isoformat()})
    window = tenant.editor.post("/api/v1/windows", json=body).json()
    client, _ = signed_in(tenant, Role.VIEWER)
    html = client.get(f"/windows/{window['id']}").text
    notes = [_text(n) for n in re.findall(r'<tr class="dst-row">(.*?)</tr>', html, re.S)]
    assert notes == ["\u26a0 02:30 does not exist that day in Europe/Berlin (clocks go forward "
                     "1 hour at 02:00): starts at 03:30 \u26a0 lasts 30 minutes instead of "
                     "1 hour 30 minutes"]
