"""The UI's security rules over plain HTTP: cookies, CSRF, roles, isolation, sign-out."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from tests.conftest import Tenant
from tests.web.conftest import CSRF, cookie_client, signed_in, submit_sign_in


def _window(tenant: Tenant) -> int:
    start = datetime.now(UTC) + timedelta(hours=1)
    response = tenant.editor.post("/api/v1/windows", json={
        "name": "w", "targets": ["service:x"],
        "schedule": {"kind": "once", "start": start.isoformat(),
                     "end": (start + timedelta(hours=1)).isoformat()}})
    return int(response.json()["id"])


def test_pages_redirect_to_sign_in(tenant: Tenant) -> None:
    for path in ("/", "/windows", "/windows/new", "/maintenance", "/windows/1"):
        response = httpx.get(tenant.base_url + path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next=")


def test_wrong_key_and_missing_sign_in_token_are_refused(tenant: Tenant) -> None:
    client = cookie_client(tenant.base_url)
    token = CSRF.findall(client.get("/sign-in").text)[0]
    wrong = client.post("/sign-in", data={"api_key": "qly_nope", "csrf_token": token})
    assert wrong.status_code == 401
    assert "unknown or revoked" in wrong.text
    forged = httpx.post(tenant.base_url + "/sign-in", data={"api_key": tenant.keys[Role.ADMIN]})
    assert forged.status_code == 403
    assert "set-cookie" not in forged.headers


def test_next_never_leaves_the_site(tenant: Tenant) -> None:
    response = submit_sign_in(cookie_client(tenant.base_url), tenant.keys[Role.VIEWER],
                              "//evil.example/x")
    assert response.headers["location"] == "/"


def test_every_write_needs_the_csrf_token(tenant: Tenant) -> None:
    window_id = _window(tenant)
    client, csrf = signed_in(tenant, Role.EDITOR)
    for path in (f"/windows/{window_id}/cancel", f"/windows/{window_id}/extend",
                 f"/windows/{window_id}/delete", "/maintenance", "/windows/new", "/sign-out"):
        response = client.post(path, data={"csrf_token": "forged", "targets": "service:x"})
        assert response.status_code == 403, path
    assert tenant.viewer.get(f"/api/v1/windows/{window_id}").json()["state"] == "scheduled"
    ok = client.post(f"/windows/{window_id}/extend", data={"csrf_token": csrf, "minutes": "30"})
    assert ok.status_code == 303


def test_viewers_cannot_write(tenant: Tenant) -> None:
    window_id = _window(tenant)
    client, csrf = signed_in(tenant, Role.VIEWER)
    assert client.get(f"/windows/{window_id}").status_code == 200
    for path in (f"/windows/{window_id}/cancel", f"/windows/{window_id}/delete",
                 "/maintenance"):
        response = client.post(path, data={"csrf_token": csrf, "targets": "service:x"})
        assert response.status_code == 403, path
    assert client.get("/windows/new").status_code == 403
    assert tenant.viewer.get(f"/api/v1/windows/{window_id}").json()["state"] == "scheduled"


def test_other_workspaces_windows_are_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = _window(other_tenant)
    client, csrf = signed_in(tenant, Role.ADMIN)
    assert client.get(f"/windows/{theirs}").status_code == 404
    assert client.post(f"/windows/{theirs}/cancel", data={"csrf_token": csrf}).status_code \
        == 404
    assert client.get(f"/windows/{2**70}").status_code == 404


@pytest.mark.parametrize("how", ["sign-out", "revoke"])
def test_session_ends_on_sign_out_and_on_key_revocation(tenant: Tenant, how: str) -> None:
    client, csrf = signed_in(tenant, Role.EDITOR)
    if how == "sign-out":
        assert client.post("/sign-out", data={"csrf_token": csrf}).status_code == 303
    else:
        keys = tenant.admin.get("/api/v1/keys").json()["keys"]
        editor = next(k for k in keys if k["role"] == "editor")
        assert tenant.admin.delete(f"/api/v1/keys/{editor['id']}").status_code in (200, 204)
    assert client.get("/windows").status_code == 303


def test_preview_answers_in_words_and_with_field_errors(tenant: Tenant) -> None:
    client, _ = signed_in(tenant, Role.VIEWER)
    form = {"kind": "recurring", "rule": "monthly", "monthly_by": "weekday",
            "weekday_of_month": "2TU", "start_time": "18:00", "end_mode": "end_time",
            "end_time": "22:00", "timezone": "Europe/Berlin"}
    response = client.post("/windows/preview", data=form)
    assert response.status_code == 200
    text = re.sub(r"<[^>]+>", "", response.text)
    assert "On the second Tuesday of every month from 18:00 to 22:00 (Europe/Berlin)" in text
    assert response.text.count('<li class="occ') == 5  # five occurrences
    bad = client.post("/windows/preview", data={**form, "weekday_of_month": "9XX"})
    assert bad.status_code == 200
    assert "weekday of month" in bad.text
    assert "is not a weekday of the month; write e.g." in bad.text  # the API's own message


_BASE_FORM = {"name": "form window", "targets": "service:db", "effects": "mute",
              "timezone": "Europe/Berlin", "start_time": "02:00", "end_mode": "end_time",
              "end_time": "04:00"}
FORM_KINDS: dict[str, tuple[dict[str, str], dict[str, object]]] = {
    # form fields → the schedule the API then shows (subset)
    "daily": ({"kind": "recurring", "rule": "daily"}, {"every": "daily"}),
    "weekly": ({"kind": "recurring", "rule": "weekly", "days_of_week": "tue"},
               {"every": "weekly", "days_of_week": ["tue"]}),
    "monthly day": ({"kind": "recurring", "rule": "monthly", "monthly_by": "day",
                     "day_of_month": "31", "short_month": "skip"},
                    {"every": "monthly", "day_of_month": 31, "short_month": "skip"}),
    "monthly weekday": ({"kind": "recurring", "rule": "monthly", "monthly_by": "weekday",
                         "weekday_of_month": "-1fr"},
                        {"every": "monthly", "weekday_of_month": "-1FR"}),
    "rrule + duration": ({"kind": "recurring", "rule": "rrule",
                          "rrule": "FREQ=YEARLY;BYMONTH=1", "end_mode": "duration",
                          "duration_minutes": "90"},
                         {"rrule": "FREQ=YEARLY;BYMONTH=1", "duration": "PT1H30M"}),
    "cron": ({"kind": "recurring", "rule": "cron", "cron": "15 3 * * 1-5",
              "duration_minutes": "45"}, {"cron": "15 3 * * 1-5", "duration": "PT45M"}),
    "once": ({"kind": "once", "start": "2031-05-01T10:00", "end": "2031-05-01T12:30"},
             {"kind": "once", "start": "2031-05-01T08:00:00Z", "end": "2031-05-01T10:30:00Z",
              "timezone": "Europe/Berlin"}),
}


@pytest.mark.parametrize("kind", list(FORM_KINDS))
def test_the_form_creates_and_edits_every_schedule_kind(tenant: Tenant, kind: str) -> None:
    fields, expected = FORM_KINDS[kind]
    client, csrf = signed_in(tenant, Role.EDITOR)
    if fields["kind"] == "recurring":
        # Not yet begun, so never active while the test runs (an active window may only change
        # its end and description, and 02:00-04:00 Berlin would be active at that hour).
        fields = {**fields, "starts_on": "2031-01-06"}
    response = client.post("/windows/new", data={**_BASE_FORM, **fields, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    window_id = int(response.headers["location"].split("/")[2].split("?")[0])
    schedule = tenant.viewer.get(f"/api/v1/windows/{window_id}").json()["schedule"]
    assert {k: schedule.get(k) for k in expected} == expected
    # The edit form comes back filled in; saving it unchanged changes nothing.
    edit = client.get(f"/windows/{window_id}/edit")
    assert edit.status_code == 200
    assert 'value="form window"' in edit.text
    form = _form_fields(edit.text)
    saved = _post_form(client, f"/windows/{window_id}/edit", form)
    assert saved.status_code == 303, saved.text
    assert tenant.viewer.get(f"/api/v1/windows/{window_id}").json()["schedule"] == schedule
    renamed = _post_form(client, f"/windows/{window_id}/edit",
                         [(k, "renamed" if k == "name" else v) for k, v in form])
    assert renamed.status_code == 303, renamed.text
    assert tenant.viewer.get(f"/api/v1/windows/{window_id}").json()["name"] == "renamed"


def _form_fields(page: str) -> list[tuple[str, str]]:
    """What a browser would submit from the edit form (inputs, checked boxes, selects)."""
    start = page.index('<form id="window-form"')
    form = page[start:page.index("</form>", start)]
    out: list[tuple[str, str]] = []
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name:
            continue
        if kind and kind[1] in ("checkbox", "radio") and "checked" not in tag:
            continue
        out.append((name[1], html.unescape(value[1]) if value else ("on" if kind else "")))
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form,
                                 re.S):
        out.append((name, html.unescape(body)))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]+)"\s+selected', body)
        out.append((name, chosen[1] if chosen else re.findall(r'value="([^"]+)"', body)[0]))
    return out


def _post_form(client: httpx.Client, path: str, form: list[tuple[str, str]]) -> httpx.Response:
    return client.post(path, content=urlencode(form),
                       headers={"content-type": "application/x-www-form-urlencoded"})


def test_delete_archives_and_returns_to_the_list(tenant: Tenant) -> None:
    window_id = _window(tenant)
    client, csrf = signed_in(tenant, Role.EDITOR)
    response = client.post(f"/windows/{window_id}/delete", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/windows?deleted=1"
    assert "Window deleted." in client.get("/windows?deleted=1").text
    assert tenant.viewer.get(f"/api/v1/windows/{window_id}").status_code == 404
    assert client.get(f"/windows/{window_id}").status_code == 404


def test_extending_an_active_one_time_window_moves_its_end(tenant: Tenant) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    created = tenant.editor.post("/api/v1/windows", json={
        "name": "deploy", "targets": ["service:x"],
        "schedule": {"kind": "once", "start": start.isoformat(),
                     "end": (start + timedelta(hours=1)).isoformat()}}).json()
    client, csrf = signed_in(tenant, Role.EDITOR)
    response = client.post(f"/windows/{created['id']}/extend",
                           data={"csrf_token": csrf, "minutes": "60"})
    assert response.status_code == 303
    after = tenant.viewer.get(f"/api/v1/windows/{created['id']}").json()
    assert after["state"] == "active"
    assert datetime.fromisoformat(after["schedule"]["end"]) == \
        datetime.fromisoformat(created["schedule"]["end"]) + timedelta(hours=1)


def test_admins_see_and_rotate_the_feed_address_others_do_not(tenant: Tenant) -> None:
    client, csrf = signed_in(tenant, Role.ADMIN)
    current = tenant.admin.get("/api/v1/calendar").json()["workspace_url"]
    assert current in client.get("/").text
    assert client.post("/calendar/rotate", data={"csrf_token": csrf}).status_code == 303
    rotated = tenant.admin.get("/api/v1/calendar").json()["workspace_url"]
    assert rotated != current
    assert httpx.get(current).status_code == 404
    editor, editor_csrf = signed_in(tenant, Role.EDITOR)
    assert "/calendar/" not in editor.get("/").text
    assert editor.post("/calendar/rotate", data={"csrf_token": editor_csrf}).status_code == 403
    assert tenant.admin.get("/api/v1/calendar").json()["workspace_url"] == rotated


def test_pages_are_not_cached_framed_or_open_to_foreign_scripts(tenant: Tenant) -> None:
    client, _ = signed_in(tenant, Role.VIEWER)
    headers = client.get("/").headers
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in headers["content-security-policy"]
