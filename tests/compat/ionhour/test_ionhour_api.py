"""Ionhour's maintenance-window API, built from Ionhour's document (seeds/ionhour.md).

The document's examples are sent as written — against the default workspace (id 1) with a
quietly key, dates moved to 2030 — and every default, required field and state rule is checked,
with NestJS's error shape for bad input. Windows are checked to change native decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from tests.conftest import Tenant

from quietly.core.records import Role
from quietly.services import workspaces
from quietly.storage.db import Database

BASE = "/compat/ionhour/api/maintenance-windows"

EXAMPLE: dict[str, Any] = {
    "workspaceId": 1,
    "name": "Database migration - March 2025",
    "description": "Upgrading PostgreSQL from 15 to 16",
    "startAt": "2041-03-15T02:00:00Z",
    "endAt": "2041-03-15T04:00:00Z",
    "projectIds": [1, 3],
    "suppressAlerts": True,
    "suppressIncidents": True,
    "autoPublishToStatusPage": True,
}


@pytest.fixture
def default_ws(db: Database, server: str) -> Iterator[httpx.Client]:
    """An editor key of the default workspace (id 1), the one the document's examples use."""
    with db.transaction() as session:
        # Key names are unique per workspace, and this fixture runs once per test.
        _, key = workspaces.create_key(session, 1, name=f"ionhour-doc-{uuid.uuid4().hex[:8]}",
                                       role=Role.EDITOR, now=datetime.now(UTC))
    with httpx.Client(base_url=server, timeout=30,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def _body(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    return {**EXAMPLE, "workspaceId": tenant.id, **overrides}


def _create(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = tenant.editor.post(BASE, json=_body(tenant, **overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _verdict(client: httpx.Client, target: str, at: str) -> str:
    response = client.get("/api/v1/decide", params={"target": target, "at": at})
    assert response.status_code == 200, response.text
    verdict: str = response.json()["verdict"]
    return verdict


def _nest(response: httpx.Response, status: int) -> list[str] | str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "message", "error"}, body
    assert body["statusCode"] == status
    message: list[str] | str = body["message"]
    return message


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class TestDocumentExamples:
    def test_create_as_documented(self, default_ws: httpx.Client) -> None:
        response = default_ws.post(BASE, json=EXAMPLE)
        assert response.status_code == 201, response.text
        body = response.json()
        assert {k: body[k] for k in EXAMPLE} == {
            **EXAMPLE, "startAt": "2041-03-15T02:00:00.000Z", "endAt": "2041-03-15T04:00:00.000Z"}
        assert (body["state"], body["timezone"], body["recurringCron"]) == (
            "SCHEDULED", "UTC", None)
        assert body["projects"] == [{"id": 1}, {"id": 3}]

    def test_list_get_update_cancel_delete_as_documented(
            self, default_ws: httpx.Client) -> None:
        created = default_ws.post(BASE, json=EXAMPLE).json()
        listed = default_ws.get(BASE, params={"workspaceId": 1, "state": "SCHEDULED"})
        assert created["id"] in [w["id"] for w in listed.json()]
        got = default_ws.get(f"{BASE}/{created['id']}")
        assert got.json() == created
        updated = default_ws.put(f"{BASE}/{created['id']}",
                                 json={"endAt": "2041-03-15T06:00:00Z"})
        assert updated.status_code == 200, updated.text
        assert updated.json()["endAt"] == "2041-03-15T06:00:00.000Z"
        cancelled = default_ws.post(f"{BASE}/{created['id']}/cancel")
        assert (cancelled.status_code, cancelled.json()["state"]) == (200, "CANCELLED")
        deleted = default_ws.delete(f"{BASE}/{created['id']}")
        assert deleted.status_code == 200
        assert default_ws.get(f"{BASE}/{created['id']}").status_code == 404


class TestCreate:
    def test_defaults(self, tenant: Tenant) -> None:
        minimal = {"workspaceId": tenant.id, "name": "m", "startAt": "2041-01-01T00:00:00Z",
                   "endAt": "2041-01-01T01:00:00Z", "projectIds": [5]}
        response = tenant.editor.post(BASE, json=minimal)
        assert response.status_code == 201, response.text
        body = response.json()
        assert {k: body[k] for k in ("suppressAlerts", "suppressIncidents",
                                     "autoPublishToStatusPage", "timezone", "recurringCron",
                                     "description")} == {
            "suppressAlerts": True, "suppressIncidents": True,
            "autoPublishToStatusPage": False, "timezone": "UTC", "recurringCron": None,
            "description": None}
        native = tenant.viewer.get(f"/api/v1/windows/{body['id']}").json()
        assert (native["targets"], native["effects"], native["publish_to_status_page"]) == (
            ["project:5"], ["mute", "suppress_incidents"], False)

    @pytest.mark.parametrize(("alerts", "incidents", "verdict"), [
        (True, True, "mute"), (True, False, "mute"), (False, True, "suppress_incident")])
    def test_suppression_flags_change_decisions(self, tenant: Tenant, alerts: bool,
                                                incidents: bool, verdict: str) -> None:
        _create(tenant, suppressAlerts=alerts, suppressIncidents=incidents)
        inside, after = "2041-03-15T03:00:00Z", "2041-03-15T05:00:00Z"
        assert _verdict(tenant.viewer, "project:3", inside) == verdict
        assert _verdict(tenant.viewer, "project:3", after) == "deliver"
        assert _verdict(tenant.viewer, "project:2", inside) == "deliver"

    def test_both_flags_false_is_a_maintenance_that_suppresses_nothing(
            self, tenant: Tenant) -> None:
        """The document sets no rule against it (issue 16, point 12)."""
        body = _create(tenant, suppressAlerts=False, suppressIncidents=False,
                       autoPublishToStatusPage=True)
        native = tenant.viewer.get(f"/api/v1/windows/{body['id']}").json()
        assert ((body["suppressAlerts"], body["suppressIncidents"]), native["effects"],
                _verdict(tenant.viewer, "project:3", "2041-03-15T03:00:00Z")) == (
            (False, False), [], "deliver")

    @pytest.mark.parametrize(("field", "value"), [
        ("suppressAlerts", "yes"), ("suppressIncidents", "no"), ("suppressAlerts", 0),
        ("autoPublishToStatusPage", "true"), ("workspaceId", "1"), ("projectIds", ["3"]),
    ])
    def test_no_coercion_where_class_validator_answers_400(self, tenant: Tenant, field: str,
                                                           value: object) -> None:
        response = tenant.editor.post(BASE, json=_body(tenant, **{field: value}))
        assert field in str(_nest(response, 400))

    def test_a_new_cron_alone_moves_start_at_to_its_first_occurrence(
            self, tenant: Tenant) -> None:
        """PUT with only ``recurringCron`` used to leave ``startAt`` at a time the new cron
        never fires (issue 16, point 12)."""
        created = _create(tenant, timezone="Europe/Berlin", recurringCron="0 2 * * 6",
                          startAt="2041-03-16T02:00:00", endAt="2041-03-16T04:00:00")
        response = tenant.editor.put(f"{BASE}/{created['id']}", json={
            "workspaceId": tenant.id, "recurringCron": "30 5 * * 0"})
        body = response.json()
        assert (response.status_code, body["recurringCron"], body["startAt"],
                body["endAt"]) == (200, "30 5 * * 0", "2041-03-17T04:30:00.000Z",
                                   "2041-03-17T06:30:00.000Z")

    def test_a_native_weekly_window_shows_its_cron(self, tenant: Tenant) -> None:
        """A native recurring window used to look like a one-time window here (issue 16)."""
        window = tenant.editor.post("/api/v1/windows", json={
            "name": "patching", "targets": ["project:7"], "schedule": {
                "kind": "recurring", "timezone": "Europe/Berlin", "every": "weekly",
                "days_of_week": ["sun"], "start_time": "05:00", "end_time": "07:00",
                "starts_on": "2041-03-10"}}).json()
        body = tenant.viewer.get(f"{BASE}/{window['id']}").json()
        assert (body["recurringCron"], body["timezone"], body["startAt"], body["endAt"]) == (
            "0 5 * * 0", "Europe/Berlin", "2041-03-10T04:00:00.000Z", "2041-03-10T06:00:00.000Z")

    def test_timezone_reads_naive_times(self, tenant: Tenant) -> None:
        body = _create(tenant, timezone="Europe/Berlin", startAt="2041-03-15T02:00:00",
                       endAt="2041-03-15T04:00:00")
        assert (body["startAt"], body["timezone"]) == ("2041-03-15T01:00:00.000Z",
                                                       "Europe/Berlin")

    def test_recurring_cron(self, tenant: Tenant) -> None:
        # Saturdays 02:00-04:00 Berlin from 2041-03-16 (a Saturday); DST starts 2041-03-31.
        body = _create(tenant, timezone="Europe/Berlin", recurringCron="0 2 * * 6",
                       startAt="2041-03-16T02:00:00", endAt="2041-03-16T04:00:00")
        assert (body["recurringCron"], body["startAt"], body["endAt"]) == (
            "0 2 * * 6", "2041-03-16T01:00:00.000Z", "2041-03-16T03:00:00.000Z")
        cases = {"2041-03-16T01:30:00Z": "mute",   # first Saturday, 02:30 CET
                 "2041-04-06T00:30:00Z": "mute",   # 02:30 CEST, after the DST change
                 "2041-04-06T02:30:00Z": "deliver",  # 04:30 CEST
                 "2041-04-05T00:30:00Z": "deliver",  # a Friday
                 "2041-03-09T01:30:00Z": "deliver"}  # before startAt's date
        assert {at: _verdict(tenant.viewer, "project:1", at) for at in cases} == cases
        native = tenant.viewer.get(f"/api/v1/windows/{body['id']}").json()["schedule"]
        assert (native["cron"], native["duration"], native["starts_on"]) == (
            "0 2 * * 6", "PT2H", "2041-03-16")

    def test_unknown_properties_are_ignored(self, tenant: Tenant) -> None:
        assert _create(tenant, color="red", state="ACTIVE")["state"] == "SCHEDULED"


class TestValidation:
    @pytest.mark.parametrize("field", ["workspaceId", "name", "startAt", "endAt",
                                       "projectIds"])
    def test_required_fields(self, tenant: Tenant, field: str) -> None:
        body = {k: v for k, v in _body(tenant).items() if k != field}
        message = _nest(tenant.editor.post(BASE, json=body), 400)
        assert message == [f"{field} should not be empty"]

    @pytest.mark.parametrize(("change", "expected"), [
        ({"name": " "}, ["name should not be empty"]),
        ({"projectIds": []}, ["projectIds should not be empty"]),
        ({"projectIds": ["a"]}, ["projectIds[0] must be a number conforming to the specified "
                                 "constraints"]),
        ({"suppressAlerts": "maybe"}, ["suppressAlerts must be a boolean value"]),
        ({"timezone": "Mars/Base"}, ["timezone must be a valid IANA time zone, e.g. "
                                     "Europe/Berlin"]),
        ({"startAt": "soon"}, ["startAt must be a valid ISO 8601 date string"]),
        ({"endAt": "2041-03-15T01:00:00Z"}, ["endAt must be after startAt"]),
        ({"recurringCron": "61 * * * *"}, None),
    ])
    def test_bad_values(self, tenant: Tenant, change: dict[str, Any],
                        expected: list[str] | None) -> None:
        message = _nest(tenant.editor.post(BASE, json=_body(tenant, **change)), 400)
        if expected is None:
            assert isinstance(message, list)
            assert message[0].startswith("recurringCron ")
        else:
            assert message == expected

    def test_another_workspace_id_is_404(self, tenant: Tenant, other_tenant: Tenant) -> None:
        response = tenant.editor.post(BASE, json=_body(tenant, workspaceId=other_tenant.id))
        assert _nest(response, 404) == f"Workspace with id {other_tenant.id} not found"
        listed = tenant.viewer.get(BASE, params={"workspaceId": other_tenant.id})
        assert _nest(listed, 404) == f"Workspace with id {other_tenant.id} not found"


def _active(tenant: Tenant) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    return _create(tenant, startAt=_iso(now - timedelta(minutes=5)),
                   endAt=_iso(now + timedelta(hours=1)))


class TestStates:
    def test_list_requires_workspace_id(self, tenant: Tenant) -> None:
        assert _nest(tenant.viewer.get(BASE), 400) == ["workspaceId should not be empty"]

    def test_list_filters_by_state(self, tenant: Tenant) -> None:
        scheduled, active = _create(tenant), _active(tenant)
        def ids(state: str | None) -> list[int]:
            params: dict[str, Any] = {"workspaceId": tenant.id}
            if state:
                params["state"] = state
            return [w["id"] for w in tenant.viewer.get(BASE, params=params).json()]
        assert ids(None) == [scheduled["id"], active["id"]]
        assert ids("SCHEDULED") == [scheduled["id"]]
        assert ids("ACTIVE") == [active["id"]]
        assert ids("COMPLETED") == []
        response = tenant.viewer.get(BASE, params={"workspaceId": tenant.id, "state": "active"})
        assert _nest(response, 400) == ["state must be one of the following values: SCHEDULED, "
                                        "ACTIVE, COMPLETED, CANCELLED"]

    def test_put_is_partial(self, tenant: Tenant) -> None:
        created = _create(tenant)
        updated = tenant.editor.put(f"{BASE}/{created['id']}",
                                    json={"projectIds": [9], "suppressIncidents": False}).json()
        assert {k: v for k, v in updated.items() if updated[k] != created[k]} == {
            "projectIds": [9], "projects": [{"id": 9}], "suppressIncidents": False,
            "updatedAt": updated["updatedAt"]}
        assert _verdict(tenant.viewer, "project:9", "2041-03-15T03:00:00Z") == "mute"

    def test_put_on_an_active_window_is_refused_as_immutable(self, tenant: Tenant) -> None:
        active = _active(tenant)
        message = _nest(tenant.editor.put(f"{BASE}/{active['id']}", json={"name": "x"}), 400)
        assert message == (f"Maintenance window {active['id']} is ACTIVE and cannot be "
                           "modified: only SCHEDULED windows can be updated (ACTIVE, "
                           "COMPLETED and CANCELLED windows are immutable)")

    def test_put_on_a_cancelled_window_is_refused(self, tenant: Tenant) -> None:
        created = _create(tenant)
        tenant.editor.post(f"{BASE}/{created['id']}/cancel")
        message = _nest(tenant.editor.put(f"{BASE}/{created['id']}", json={"name": "x"}), 400)
        assert "is CANCELLED and cannot be modified" in message

    def test_cancel_an_active_window_stops_suppression_at_once(self, tenant: Tenant) -> None:
        active = _active(tenant)
        assert _verdict(tenant.viewer, "project:1", _iso(datetime.now(UTC))) == "mute"
        cancelled = tenant.editor.post(f"{BASE}/{active['id']}/cancel")
        assert (cancelled.status_code, cancelled.json()["state"]) == (200, "CANCELLED")
        assert cancelled.json()["cancelledAt"] is not None
        assert _verdict(tenant.viewer, "project:1", _iso(datetime.now(UTC))) == "deliver"
        again = tenant.editor.post(f"{BASE}/{active['id']}/cancel")
        assert _nest(again, 400) == (f"Maintenance window {active['id']} is CANCELLED: only "
                                     "SCHEDULED or ACTIVE windows can be cancelled")

    def test_delete_and_unknown_ids(self, tenant: Tenant) -> None:
        created = _create(tenant)
        assert tenant.editor.delete(f"{BASE}/{created['id']}").status_code == 200
        for raw in (str(created["id"]), "0", "abc"):
            assert _nest(tenant.viewer.get(f"{BASE}/{raw}"), 404) == \
                f"Maintenance window {raw} not found"


class TestVisibility:
    def test_native_windows_on_projects_are_visible(self, tenant: Tenant) -> None:
        schedule = {"kind": "once", "start": "2041-05-01T10:00:00Z",
                    "end": "2041-05-01T11:00:00Z"}
        fits = tenant.editor.post("/api/v1/windows", json={
            "name": "native", "schedule": schedule, "targets": ["project:7", "service:x"],
            "effects": ["suppress_incidents"]}).json()
        other = tenant.editor.post("/api/v1/windows", json={
            "name": "n", "schedule": schedule, "targets": ["project:abc"]}).json()
        listed = tenant.viewer.get(BASE, params={"workspaceId": tenant.id}).json()
        assert [w["id"] for w in listed] == [fits["id"]]
        assert {k: listed[0][k] for k in ("projectIds", "suppressAlerts", "suppressIncidents",
                                          "startAt", "timezone")} == {
            "projectIds": [7], "suppressAlerts": False, "suppressIncidents": True,
            "startAt": "2041-05-01T10:00:00.000Z", "timezone": "UTC"}
        assert tenant.viewer.get(f"{BASE}/{other['id']}").status_code == 404

    def test_auth(self, tenant: Tenant, other_tenant: Tenant, server: str) -> None:
        assert _nest(httpx.get(server + BASE, params={"workspaceId": 1}), 401)
        assert _nest(tenant.viewer.post(BASE, json=_body(tenant)), 403)
        created = _create(tenant)
        assert _nest(other_tenant.viewer.get(f"{BASE}/{created['id']}"), 404)

    def test_unknown_routes_answer_like_nestjs(self, tenant: Tenant) -> None:
        response = tenant.viewer.get("/compat/ionhour/api/maintenance-windowz")
        assert _nest(response, 404) == "Cannot GET /api/maintenance-windowz"
