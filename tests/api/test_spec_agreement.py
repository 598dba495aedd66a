"""The disagreements between the OpenAPI document and the server that schemathesis found
(issue #14 point 5), each pinned by a named table: the suite's fuzzing run
(``test_schemathesis.py``) keeps finding new ones; these keep the old ones fixed."""

from __future__ import annotations

import base64
from typing import Any

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from tests.conftest import Tenant

# (method sent, path, the methods the path has) — every API answers 405 with all of them.
NOT_ALLOWED = [
    ("PUT", "/api/v1/windows", "GET, POST"),
    ("POST", "/api/v1/windows/1", "DELETE, GET, PATCH"),
    ("DELETE", "/api/v1/keys", "GET, POST"),
    ("PUT", "/api/v1/workspace", "GET, PATCH"),
    ("PATCH", "/compat/pagertree/api/v4/maintenance_windows", "GET, POST"),
    ("POST", "/compat/pagertree/api/v4/maintenance_windows/1", "DELETE, GET, PUT"),
    ("PATCH", "/compat/ionhour/api/maintenance-windows/1", "DELETE, GET, PUT"),
    ("PATCH", "/compat/incidentio/v1/maintenance_windows/1", "DELETE, GET, PUT"),
    ("PATCH", "/compat/ohdear/api/maintenance-periods/1", "DELETE, PUT"),
    ("POST", "/compat/ohdear/api/recurring-maintenance-periods/1", "DELETE, GET, PUT"),
    ("PATCH", "/compat/uptrends/v4/Monitor/x/MaintenancePeriod", "GET, POST"),
    # Ids match digits only, so a concrete path beside an id has its own methods alone.
    ("DELETE", "/api/v1/windows/batch", "POST"),
    ("PUT", "/api/v1/channels/1", "DELETE, GET, PATCH"),
    ("POST", "/api/v1/syncs/1", "DELETE, GET, PATCH"),
    ("GET", "/api/v1/keys/1", "DELETE"),
    # The UI's pages (outside the document) name their methods too.
    ("DELETE", "/windows/new", "GET, POST"),
]


@pytest.mark.parametrize(("method", "path", "allow"), NOT_ALLOWED)
def test_405_lists_every_method_of_the_path(server: str, method: str, path: str,
                                            allow: str) -> None:
    answer = httpx.request(method, server + path)
    assert (answer.status_code, answer.headers.get("allow")) == (405, allow)


# Each operation's security requirement, by surface, in the document.
SECURITY = [
    ("/api/v1/windows", "get", [{"apiKey": []}]),
    ("/api/v1/keys/{key_id}", "delete", [{"apiKey": []}]),
    ("/compat/ohdear/api/maintenance-periods", "post", [{"apiKey": []}]),
    ("/compat/uptrends/v4/Monitor/{monitorGuid}/MaintenancePeriod", "get",
     [{"uptrendsBasic": []}]),
    ("/metrics", "get", [{}, {"metricsToken": []}]),
    ("/healthz", "get", []),
]


@pytest.mark.parametrize(("path", "method", "security"), SECURITY)
def test_the_document_says_how_each_operation_authenticates(
        server: str, path: str, method: str, security: list[dict[str, Any]]) -> None:
    document = httpx.get(f"{server}/openapi.json").json()
    assert (document["paths"][path][method]["security"],
            sorted(document["components"]["securitySchemes"])) == (
        security, ["apiKey", "metricsToken", "uptrendsBasic"])


CURSORS = ["/api/v1/windows", "/api/v1/audit", "/api/v1/alerts", "/api/v1/deliveries"]


@pytest.mark.parametrize("path", CURSORS)
def test_a_malformed_cursor_is_a_422_naming_it(tenant: Tenant, path: str) -> None:
    answers = [tenant.admin.get(path, params={"cursor": c})
               for c in ("0000", "aWQ6!!", "aWQ6eA")]  # not base64, bad characters, "id:x"
    assert [(a.status_code, a.json()["field"]) for a in answers] == [(422, "cursor")] * 3


@pytest.mark.parametrize("path", CURSORS)
def test_the_empty_cursor_is_the_first_page(tenant: Tenant, path: str) -> None:
    assert tenant.admin.get(path, params={"cursor": ""}).status_code == 200


# (path, body) with a boolean or integer of the wrong JSON type: the API's 422 naming it.
WRONG_TYPES = [
    ("/api/v1/maintenance/stop", {"targets": ["service:a"], "delay_seconds": False},
     "delay_seconds"),
    ("/api/v1/maintenance/start", {"targets": ["service:a"], "duration": "PT5M",
                                   "publish_to_status_page": 0}, "publish_to_status_page"),
    ("/api/v1/apply", {"source": "ci", "dry_run": 0}, "dry_run"),
    ("/api/v1/maintenance/stop", {"targets": ["service:a"], "delay_seconds": "5"},
     "delay_seconds"),
]


@pytest.mark.parametrize(("path", "body", "field"), WRONG_TYPES)
def test_no_bool_int_coercion(tenant: Tenant, path: str, body: dict[str, Any],
                              field: str) -> None:
    answer = tenant.admin.post(path, json=body)
    assert (answer.status_code, answer.json()["field"]) == (422, field)


def test_ohdear_delay_seconds_false_is_the_vendors_422(tenant: Tenant) -> None:
    answer = tenant.editor.post("/compat/ohdear/api/monitors/7/stop-maintenance",
                                json={"delay_seconds": False})
    body = answer.json()
    assert (answer.status_code, sorted(body), list(body["errors"])) == (
        422, ["errors", "message"], ["delay_seconds"])


def test_an_integral_number_is_an_integer(tenant: Tenant) -> None:
    """JSON Schema's ``integer`` includes 30.0; so does the server now."""
    answer = tenant.admin.post("/api/v1/maintenance/stop",
                               json={"targets": ["service:none"], "delay_seconds": 30.0})
    assert answer.status_code == 200


def test_a_key_cannot_revoke_itself_but_another_admin_key_can(tenant: Tenant) -> None:
    keys = {k["name"]: k["id"] for k in tenant.admin.get("/api/v1/keys").json()["keys"]}
    own = tenant.admin.delete(f"/api/v1/keys/{keys['admin-key']}")
    made = tenant.admin.post("/api/v1/keys", json={"name": "rotated", "role": "admin"}).json()
    with httpx.Client(base_url=tenant.base_url,
                      headers={"Authorization": f"Bearer {made['key']}"}) as new:
        other = new.delete(f"/api/v1/keys/{keys['admin-key']}")
    assert ((own.status_code, own.json()["field"]), other.status_code,
            tenant.admin.get("/api/v1/keys").status_code) == ((409, "key_id"), 200, 401)


def test_the_text_backslash_u0000_is_no_nul(tenant: Tenant) -> None:
    answer = tenant.editor.post("/api/v1/groups", json={
        "name": "escaped", "targets": ["host:a"], "description": "\\u0000 is how JSON writes NUL"})
    nul = tenant.editor.post("/api/v1/groups", json={"name": "nul", "description": "a\x00b"})
    assert (answer.status_code, nul.status_code, nul.json()["field"]) == (201, 422, "body")


# Unicode digits that str.isdigit() accepts and int() does not: a 4xx, never a 500.
def test_non_ascii_digits_are_names_not_ids(tenant: Tenant) -> None:
    route = tenant.admin.post("/api/v1/routes", json={"name": "r", "channel": "³"})
    listing = tenant.viewer.get("/compat/incidentio/v1/maintenance_windows",
                                params={"after": "³"})
    assert (route.status_code, route.json()["field"], listing.status_code) == (
        422, "channel", 422)


def test_a_url_the_client_cannot_encode_is_refused_when_saved(tenant: Tenant) -> None:
    answer = tenant.admin.post("/api/v1/channels", json={
        "name": "idna", "type": "webhook", "url": "http://J\U0002e909l{/hook"})
    assert (answer.status_code, answer.json()["field"]) == (422, "url")


def test_uptrends_answers_with_basic_credentials(tenant: Tenant) -> None:
    basic = base64.b64encode(f"u:{tenant.keys[Role.VIEWER]}".encode()).decode()
    answer = httpx.get(f"{tenant.base_url}/compat/uptrends/v4/Monitor/"
                       "00000000-0000-0000-0000-000000000009/MaintenancePeriod",
                       headers={"Authorization": f"Basic {basic}"})
    assert answer.status_code == 200


def test_a_group_name_of_200_characters_is_stored_and_audited(tenant: Tenant) -> None:
    """PostgreSQL refused its audit entry (object_id is 64 characters): a 503 and no group."""
    name = "g" + "0" * 199
    created = tenant.editor.post("/api/v1/groups", json={"name": name, "targets": ["host:a"]})
    entries = tenant.admin.get("/api/v1/audit", params={"object_type": "group"}).json()
    audited = [e for e in entries["entries"] if e["after"] and e["after"]["name"] == name]
    assert (created.status_code, len(audited), audited[0]["object_id"]) == (
        201, 1, name[:63] + "…")


def test_an_rrule_count_of_non_ascii_digits_is_a_422(tenant: Tenant) -> None:
    answer = tenant.editor.post("/api/v1/windows", json={
        "name": "w", "targets": ["service:a"], "schedule": {
            "kind": "recurring", "rrule": "FREQ=DAILY;COUNT=³", "start_time": "02:00",
            "duration": "PT1H", "timezone": "UTC", "starts_on": "2031-01-01"}})
    assert (answer.status_code, answer.json()["field"]) == (422, "schedule.rrule")


def test_ohdear_recurring_update_with_null_times_keeps_them(tenant: Tenant) -> None:
    """Was a 500 (TypeError in the conversion): null keeps a field, as it does the name."""
    made = tenant.editor.post("/compat/ohdear/api/recurring-maintenance-periods", json={
        "monitor_id": 3, "name": "nightly", "recurrence_type": "daily",
        "start_time": "02:00", "end_time": "03:00"}).json()
    answer = tenant.editor.put(f"/compat/ohdear/api/recurring-maintenance-periods/{made['id']}",
                               json={"start_time": "01:00", "end_time": None})
    assert (answer.status_code, answer.json()["start_time"], answer.json()["end_time"]) == (
        200, "01:00", "03:00")
