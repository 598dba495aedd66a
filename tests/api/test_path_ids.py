"""Path ids are bounded at the edge the same way in every API, and nothing fails after commit.

Issue #14 point 4: ``POST /compat/ohdear/api/monitors/1000000000000000000/start-maintenance``
answered 500 three times and created three running windows its own listing did not show;
``PATCH /api/v1/channels/1 {"name": null}`` was a 500.
"""

from __future__ import annotations

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from tests.conftest import Tenant

NINETEEN_DIGITS = "1000000000000000000"  # 10**18: one digit past every API's path ids
HUGE = "9" * 30

# (method, path with {id}, auth style) over every surface with an id in its path.
PATHS = [
    ("GET", "/api/v1/windows/{id}", "bearer"),
    ("POST", "/api/v1/windows/{id}/cancel", "bearer"),
    ("GET", "/api/v1/channels/{id}", "bearer"),
    ("DELETE", "/api/v1/keys/{id}", "bearer"),
    ("PATCH", "/api/v1/syncs/{id}", "bearer"),
    ("GET", "/api/v1/routes/{id}", "bearer"),
    ("GET", "/api/v1/windows/{id}/occurrences", "bearer"),
    ("GET", "/compat/pagertree/api/v4/maintenance_windows/{id}", "bearer"),
    ("GET", "/compat/ionhour/api/maintenance-windows/{id}", "bearer"),
    ("GET", "/compat/incidentio/v1/maintenance_windows/{id}", "bearer"),
    ("GET", "/compat/ohdear/api/recurring-maintenance-periods/{id}", "bearer"),
    ("DELETE", "/compat/ohdear/api/maintenance-periods/{id}", "bearer"),
    ("GET", "/compat/ohdear/api/monitors/{id}/maintenance-periods", "bearer"),
    ("POST", "/compat/ohdear/api/monitors/{id}/start-maintenance", "bearer"),
    ("POST", "/compat/ohdear/api/monitors/{id}/stop-maintenance", "bearer"),
    ("DELETE", "/compat/uptrends/v4/Monitor/m-1/MaintenancePeriod/{id}", "basic"),
]


def _send(tenant: Tenant, style: str, method: str, path: str) -> httpx.Response:
    if style == "basic":  # Uptrends authenticates with HTTP Basic, the key as password
        with httpx.Client(base_url=tenant.base_url, timeout=30,
                          auth=httpx.BasicAuth("api", tenant.keys[Role.ADMIN])) as client:
            return client.request(method, path)
    return tenant.admin.request(method, path)


def _window_count(tenant: Tenant) -> int:
    listed = tenant.viewer.get("/api/v1/windows", params={"limit": 500}).json()
    return len(listed["windows"])


@pytest.mark.parametrize("raw", [NINETEEN_DIGITS, HUGE, "0", "-1", "abc", "1e3", "1.5"])
@pytest.mark.parametrize(("method", "path", "style"), PATHS, ids=[p[1] for p in PATHS])
def test_an_id_no_api_could_have_issued_is_a_404_and_changes_nothing(
        tenant: Tenant, method: str, path: str, style: str, raw: str) -> None:
    before = _window_count(tenant)
    response = _send(tenant, style, method, path.format(id=raw))
    assert (response.status_code, _window_count(tenant)) == (404, before), response.text


def test_the_largest_path_id_is_an_ordinary_monitor(tenant: Tenant) -> None:
    monitor = "9" * 18
    started = tenant.editor.post(f"/compat/ohdear/api/monitors/{monitor}/start-maintenance")
    listed = tenant.viewer.get(f"/compat/ohdear/api/monitors/{monitor}/maintenance-periods")
    assert (started.status_code, started.json()["monitor_id"],
            [p["id"] for p in listed.json()["data"]]) == (
        201, int(monitor), [started.json()["id"]]), started.text


def test_a_body_monitor_id_past_the_bound_is_refused(tenant: Tenant) -> None:
    response = tenant.editor.post("/compat/ohdear/api/maintenance-periods", json={
        "monitor_id": int(NINETEEN_DIGITS), "starts_at": "2040-01-01 02:00",
        "ends_at": "2040-01-01 03:00"})
    assert (response.status_code, list(response.json()["errors"])) == (422, ["monitor_id"])


@pytest.mark.parametrize("field", ["name", "type", "url"])
def test_patching_a_channel_field_to_null_is_a_problem_naming_it(
        tenant: Tenant, field: str) -> None:
    created = tenant.admin.post("/api/v1/channels", json={
        "name": "ops", "type": "webhook", "url": "https://hooks.example.com/x"})
    assert created.status_code == 201, created.text
    response = tenant.admin.patch(f"/api/v1/channels/{created.json()['id']}",
                                  json={field: None})
    body = response.json()
    assert (response.status_code, body["field"]) == (422, field), body


NOT_NULL_ON_PATCH = [("/api/v1/windows/{window_id}", "WindowUpdate", f) for f in (
    "name", "all_targets", "resolve_on_end", "reroute_on_end", "publish_to_status_page",
    "show_in_sidebar")] + [("/api/v1/channels/{channel_id}", "ChannelUpdate", f)
                           for f in ("name", "type", "url")]


@pytest.mark.parametrize(("path", "schema", "field"), NOT_NULL_ON_PATCH,
                         ids=[f"{s}.{f}" for _, s, f in NOT_NULL_ON_PATCH])
def test_the_spec_refuses_null_where_the_server_does(
        server: str, path: str, schema: str, field: str) -> None:
    # Issue #14 point 5: the spec allowed "name": null on PATCH windows, the server refused.
    with httpx.Client(base_url=server, timeout=30) as client:
        spec = client.get("/openapi.json").json()
    prop = spec["components"]["schemas"][schema]["properties"][field]
    types = [prop.get("type")] + [option.get("type") for option in prop.get("anyOf", [])]
    assert "null" not in types, prop
