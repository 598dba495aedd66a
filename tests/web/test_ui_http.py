"""The UI's security rules over plain HTTP: cookies, CSRF, roles, isolation, sign-out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from tests.conftest import Tenant

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_OPEN: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _client(tenant: Tenant) -> httpx.Client:
    client = httpx.Client(base_url=tenant.base_url, timeout=30)
    _OPEN.append(client)
    return client


def _browser(tenant: Tenant, role: Role) -> tuple[httpx.Client, str]:
    """A signed-in cookie client and the CSRF token its forms carry."""
    client = _client(tenant)
    token = CSRF.findall(client.get("/sign-in").text)[0]
    response = client.post("/sign-in", data={"api_key": tenant.keys[role],
                                              "csrf_token": token, "next": "/windows"})
    assert response.status_code == 303
    assert response.headers["location"] == "/windows"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    page = client.get("/windows")
    assert page.status_code == 200
    return client, CSRF.findall(page.text)[0]


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
    client = _client(tenant)
    token = CSRF.findall(client.get("/sign-in").text)[0]
    wrong = client.post("/sign-in", data={"api_key": "qly_nope", "csrf_token": token})
    assert wrong.status_code == 401
    assert "unknown or revoked" in wrong.text
    forged = httpx.post(tenant.base_url + "/sign-in", data={"api_key": tenant.keys[Role.ADMIN]})
    assert forged.status_code == 403
    assert "set-cookie" not in forged.headers


def test_next_never_leaves_the_site(tenant: Tenant) -> None:
    client = _client(tenant)
    token = CSRF.findall(client.get("/sign-in").text)[0]
    response = client.post("/sign-in", data={"api_key": tenant.keys[Role.VIEWER],
                                             "csrf_token": token,
                                             "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


def test_every_write_needs_the_csrf_token(tenant: Tenant) -> None:
    window_id = _window(tenant)
    client, csrf = _browser(tenant, Role.EDITOR)
    for path in (f"/windows/{window_id}/cancel", f"/windows/{window_id}/extend",
                 f"/windows/{window_id}/delete", "/maintenance", "/windows/new", "/sign-out"):
        response = client.post(path, data={"csrf_token": "forged", "targets": "service:x"})
        assert response.status_code == 403, path
    assert tenant.viewer.get(f"/api/v1/windows/{window_id}").json()["state"] == "scheduled"
    ok = client.post(f"/windows/{window_id}/extend", data={"csrf_token": csrf, "minutes": "30"})
    assert ok.status_code == 303


def test_viewers_cannot_write(tenant: Tenant) -> None:
    window_id = _window(tenant)
    client, csrf = _browser(tenant, Role.VIEWER)
    assert client.get(f"/windows/{window_id}").status_code == 200
    for path in (f"/windows/{window_id}/cancel", f"/windows/{window_id}/delete",
                 "/maintenance"):
        response = client.post(path, data={"csrf_token": csrf, "targets": "service:x"})
        assert response.status_code == 403, path
    assert client.get("/windows/new").status_code == 403
    assert tenant.viewer.get(f"/api/v1/windows/{window_id}").json()["state"] == "scheduled"


def test_other_workspaces_windows_are_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = _window(other_tenant)
    client, csrf = _browser(tenant, Role.ADMIN)
    assert client.get(f"/windows/{theirs}").status_code == 404
    assert client.post(f"/windows/{theirs}/cancel", data={"csrf_token": csrf}).status_code \
        == 404
    assert client.get(f"/windows/{2**70}").status_code == 404


@pytest.mark.parametrize("how", ["sign-out", "revoke"])
def test_session_ends_on_sign_out_and_on_key_revocation(tenant: Tenant, how: str) -> None:
    client, csrf = _browser(tenant, Role.EDITOR)
    if how == "sign-out":
        assert client.post("/sign-out", data={"csrf_token": csrf}).status_code == 303
    else:
        keys = tenant.admin.get("/api/v1/keys").json()["keys"]
        editor = next(k for k in keys if k["role"] == "editor")
        assert tenant.admin.delete(f"/api/v1/keys/{editor['id']}").status_code in (200, 204)
    assert client.get("/windows").status_code == 303


def test_preview_answers_in_words_and_with_field_errors(tenant: Tenant) -> None:
    client, _ = _browser(tenant, Role.VIEWER)
    form = {"kind": "recurring", "rule": "monthly", "monthly_by": "weekday",
            "weekday_of_month": "2TU", "start_time": "18:00", "end_mode": "end_time",
            "end_time": "22:00", "timezone": "Europe/Berlin"}
    response = client.post("/windows/preview", data=form)
    assert response.status_code == 200
    assert "On the second Tuesday of every month from 18:00 to 22:00 (Europe/Berlin)" \
        in response.text
    assert response.text.count("<tr>") == 6  # header + five occurrences
    bad = client.post("/windows/preview", data={**form, "weekday_of_month": "9XX"})
    assert bad.status_code == 200
    assert "weekday of month" in bad.text
    assert "should match pattern" in bad.text  # the API's own message
