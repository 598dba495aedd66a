"""PagerTree's maintenance-window API, built from PagerTree's document (seeds/pagertree.md).

Every request is sent as the document describes it (host and key changed, dates in the future)
against a real server; the answers are checked in PagerTree's shapes, and the windows are
checked to change quietly's native decisions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import Tenant

from quietly.compat.pagertree.zones import RAILS_ZONES, resolve_zone

BASE = "/compat/pagertree/api/v4/maintenance_windows"

EXAMPLE: dict[str, Any] = {
    "name": "Database upgrade",
    "description": "Upgrading the primary",
    "start_datetime": "2041-03-15T02:00:00",
    "end_datetime": "2041-03-15T04:00:00",
    "time_zone": "Eastern Time (US & Canada)",
    "integration_ids": ["int_abc123", "int_def456"],
}


def _create(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = tenant.editor.post(BASE, json={**EXAMPLE, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _decide(tenant: Tenant, target: str, at: str) -> dict[str, Any]:
    response = tenant.viewer.get("/api/v1/decide", params={"target": target, "at": at})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _errors(response: Any) -> list[str]:
    body = response.json()
    assert set(body) == {"errors", "code"}, body
    assert body["code"] == response.status_code
    return [e["message"] for e in body["errors"]]


class TestCreate:
    def test_the_documented_create_answers_201_with_the_window(self, tenant: Tenant) -> None:
        body = _create(tenant)
        assert {k: body[k] for k in EXAMPLE} == {
            **EXAMPLE,
            # Naive date-times are read in the given zone; Rails renders them with milliseconds.
            "start_datetime": "2041-03-15T02:00:00.000-04:00",
            "end_datetime": "2041-03-15T04:00:00.000-04:00",
        }
        assert isinstance(body["id"], int)
        assert body["created_at"].endswith("Z")
        assert body["updated_at"].endswith("Z")

    def test_the_window_drops_its_integrations_and_nothing_else(self, tenant: Tenant) -> None:
        window = _create(tenant)
        inside, outside = "2041-03-15T07:30:00Z", "2041-03-15T08:30:00Z"  # 03:30 / 04:30 EDT
        assert _decide(tenant, "integration:int_abc123", inside) == {
            "verdict": "drop", "windows": [window["id"]], "at": inside, "stale": False}
        assert _decide(tenant, "integration:int_def456", inside)["verdict"] == "drop"
        assert _decide(tenant, "integration:int_abc123", outside)["verdict"] == "deliver"
        assert _decide(tenant, "integration:other", inside)["verdict"] == "deliver"

    def test_the_end_instant_is_outside(self, tenant: Tenant) -> None:
        _create(tenant)
        assert _decide(tenant, "integration:int_abc123",
                       "2041-03-15T08:00:00Z")["verdict"] == "deliver"

    def test_native_api_sees_a_drop_window_on_integration_targets(self, tenant: Tenant) -> None:
        window = _create(tenant)
        native = tenant.viewer.get(f"/api/v1/windows/{window['id']}").json()
        assert (native["targets"], native["effects"], native["origin"]) == (
            ["integration:int_abc123", "integration:int_def456"], ["drop"], "pagertree")
        assert native["schedule"]["timezone"] == "America/New_York"

    def test_parameters_outside_the_permitted_list_are_ignored(self, tenant: Tenant) -> None:
        body = _create(tenant, account_id=99, state="active", id=12345, effects=["mute"])
        assert body["id"] != 12345
        native = tenant.viewer.get(f"/api/v1/windows/{body['id']}").json()
        assert native["effects"] == ["drop"]

    def test_a_body_wrapped_in_maintenance_window_is_accepted(self, tenant: Tenant) -> None:
        response = tenant.editor.post(BASE, json={"maintenance_window": EXAMPLE})
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize(("zone", "start", "shown"), [
        ("America/New_York", "2041-03-15T02:00:00", "2041-03-15T02:00:00.000-04:00"),
        ("UTC", "2041-03-15T02:00:00", "2041-03-15T02:00:00.000Z"),
        ("Berlin", "2041-03-15 02:00", "2041-03-15T02:00:00.000+01:00"),
        ("Kyiv", "2041-07-01T02:00:00", "2041-07-01T02:00:00.000+03:00"),
        # An offset in the value wins over the zone; the answer is shown in the zone.
        ("Tokyo", "2041-03-15T00:00:00Z", "2041-03-15T09:00:00.000+09:00"),
    ])
    def test_time_zones_rails_and_iana(self, tenant: Tenant, zone: str, start: str,
                                       shown: str) -> None:
        body = _create(tenant, time_zone=zone, start_datetime=start,
                       end_datetime="2041-07-02T00:00:00Z")
        assert (body["time_zone"], body["start_datetime"]) == (zone, shown)


class TestRequiredParameters:
    @pytest.mark.parametrize("field", ["name", "start_datetime", "end_datetime", "time_zone",
                                       "integration_ids"])
    def test_a_missing_required_parameter_is_422(self, tenant: Tenant, field: str) -> None:
        body = {k: v for k, v in EXAMPLE.items() if k != field}
        response = tenant.editor.post(BASE, json=body)
        assert response.status_code == 422
        assert _errors(response) == [f"{field} can't be blank"]

    @pytest.mark.parametrize("field", ["name", "start_datetime", "time_zone"])
    def test_a_blank_required_parameter_is_422(self, tenant: Tenant, field: str) -> None:
        response = tenant.editor.post(BASE, json={**EXAMPLE, field: "  "})
        assert response.status_code == 422
        assert _errors(response) == [f"{field} can't be blank"]

    def test_at_least_one_integration_id(self, tenant: Tenant) -> None:
        response = tenant.editor.post(BASE, json={**EXAMPLE, "integration_ids": []})
        assert response.status_code == 422
        assert _errors(response)[0].startswith("integration_ids can't be blank")

    @pytest.mark.parametrize(("change", "message_start"), [
        ({"time_zone": "Mars/Olympus"}, "time_zone 'Mars/Olympus' is not a time zone"),
        ({"start_datetime": "next tuesday"}, "start_datetime 'next tuesday' is not a valid"),
        ({"end_datetime": "2041-03-15T01:00:00"}, "end_datetime "),
        ({"start_datetime": "2020-01-01T00:00:00", "end_datetime": "2020-01-01T01:00:00"},
         "end_datetime "),
    ])
    def test_bad_values_name_the_parameter(self, tenant: Tenant, change: dict[str, Any],
                                           message_start: str) -> None:
        response = tenant.editor.post(BASE, json={**EXAMPLE, **change})
        assert response.status_code == 422, response.text
        assert _errors(response)[0].startswith(message_start)

    def test_invalid_json_is_400_in_pagertree_shape(self, tenant: Tenant) -> None:
        response = tenant.editor.post(BASE, content=b"{not json",
                                      headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert _errors(response) == ["the body is not valid JSON"]


class TestReadUpdateDelete:
    def test_retrieve(self, tenant: Tenant) -> None:
        created = _create(tenant)
        response = tenant.viewer.get(f"{BASE}/{created['id']}")
        assert response.status_code == 200
        assert response.json() == created

    def test_put_changes_only_what_it_sends(self, tenant: Tenant) -> None:
        created = _create(tenant)
        response = tenant.editor.put(f"{BASE}/{created['id']}", json={"name": "Renamed"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "Renamed"
        for key in ("start_datetime", "end_datetime", "time_zone", "integration_ids"):
            assert body[key] == created[key]

    def test_put_moves_the_window_and_its_decisions(self, tenant: Tenant) -> None:
        created = _create(tenant)
        response = tenant.editor.put(f"{BASE}/{created['id']}", json={
            "end_datetime": "2041-03-15T06:00:00", "integration_ids": ["int_new"],
            "time_zone": "America/New_York"})
        body = response.json()
        assert (body["end_datetime"], body["integration_ids"], body["time_zone"]) == (
            "2041-03-15T06:00:00.000-04:00", ["int_new"], "America/New_York")
        assert _decide(tenant, "integration:int_new", "2041-03-15T09:00:00Z")["verdict"] == "drop"
        assert _decide(tenant, "integration:int_abc123",
                       "2041-03-15T07:00:00Z")["verdict"] == "deliver"

    def test_put_on_a_running_window_works(self, tenant: Tenant) -> None:
        """PagerTree's document sets no limit on updating a window that has begun (issue 16):
        name, integrations and zone change from now on; the start stays where it was."""
        start = datetime.now(UTC) - timedelta(minutes=10)
        created = _create(tenant, start_datetime=start.isoformat(),
                          end_datetime=(start + timedelta(hours=2)).isoformat())
        response = tenant.editor.put(f"{BASE}/{created['id']}", json={
            "name": "Upgrade, part 2", "integration_ids": ["int_abc123", "int_more"],
            "time_zone": "UTC"})
        body = response.json()
        now = datetime.now(UTC).isoformat()
        assert (response.status_code, body["name"], body["integration_ids"],
                body["time_zone"], _decide(tenant, "integration:int_more", now)["verdict"],
                _decide(tenant, "integration:int_def456", now)["verdict"]) == (
            200, "Upgrade, part 2", ["int_abc123", "int_more"], "UTC", "drop", "deliver")

    def test_put_refuses_blank_required_values(self, tenant: Tenant) -> None:
        created = _create(tenant)
        for change, field in (({"name": ""}, "name"),
                              ({"integration_ids": []}, "integration_ids")):
            response = tenant.editor.put(f"{BASE}/{created['id']}", json=change)
            assert response.status_code == 422
            assert _errors(response)[0].startswith(f"{field} can't be blank")

    def test_delete_answers_the_window_and_it_is_gone(self, tenant: Tenant) -> None:
        created = _create(tenant)
        response = tenant.editor.delete(f"{BASE}/{created['id']}")
        assert response.status_code == 200
        assert response.json()["id"] == created["id"]
        gone = tenant.viewer.get(f"{BASE}/{created['id']}")
        assert gone.status_code == 404
        assert _errors(gone) == [f"Couldn't find MaintenanceWindow with 'id'={created['id']}"]
        assert _decide(tenant, "integration:int_abc123",
                       "2041-03-15T07:00:00Z")["verdict"] == "deliver"

    @pytest.mark.parametrize("raw_id", ["999999999", "abc", "-1"])
    def test_unknown_ids_are_404(self, tenant: Tenant, raw_id: str) -> None:
        response = tenant.viewer.get(f"{BASE}/{raw_id}")
        assert response.status_code == 404
        assert len(_errors(response)) == 1


class TestList:
    def test_pagination_envelope(self, tenant: Tenant) -> None:
        ids = [_create(tenant, name=f"w{i}")["id"] for i in range(3)]
        first = tenant.viewer.get(BASE, params={"limit": 2}).json()
        assert ([w["id"] for w in first["data"]], first["has_more"], first["total_count"]) \
            == (ids[:2], True, 3)
        second = tenant.viewer.get(BASE, params={"limit": 2, "page": 2}).json()
        assert ([w["id"] for w in second["data"]], second["has_more"]) == (ids[2:], False)
        by_offset = tenant.viewer.get(BASE, params={"limit": 2, "offset": 1}).json()
        assert [w["id"] for w in by_offset["data"]] == ids[1:]

    def test_default_limit_is_10_and_bounds_are_enforced(self, tenant: Tenant) -> None:
        for i in range(11):
            _create(tenant, name=f"w{i}")
        assert len(tenant.viewer.get(BASE).json()["data"]) == 10
        response = tenant.viewer.get(BASE, params={"limit": 101})
        assert response.status_code == 422
        assert _errors(response)[0].startswith("limit ")

    def test_native_windows_on_integrations_are_listed(self, tenant: Tenant) -> None:
        schedule = {"kind": "once", "start": "2041-05-01T10:00:00Z",
                    "end": "2041-05-01T11:00:00Z"}
        fits = tenant.editor.post("/api/v1/windows", json={
            "name": "native", "schedule": schedule,
            "targets": ["integration:int_x", "service:db"]}).json()
        other = tenant.editor.post("/api/v1/windows", json={
            "name": "not pagertree", "schedule": schedule, "targets": ["service:db"]}).json()
        listed = tenant.viewer.get(BASE).json()["data"]
        assert [w["id"] for w in listed] == [fits["id"]]
        assert listed[0]["integration_ids"] == ["int_x"]
        assert listed[0]["time_zone"] == "Europe/Berlin"  # the workspace's zone
        assert listed[0]["start_datetime"] == "2041-05-01T12:00:00.000+02:00"
        assert tenant.viewer.get(f"{BASE}/{other['id']}").status_code == 404


class TestAuth:
    def test_no_key_is_401_in_pagertree_shape(self, tenant: Tenant, server: str) -> None:
        import httpx2 as httpx

        response = httpx.get(server + BASE)
        assert response.status_code == 401
        assert len(_errors(response)) == 1

    def test_viewer_cannot_write(self, tenant: Tenant) -> None:
        response = tenant.viewer.post(BASE, json=EXAMPLE)
        assert response.status_code == 403
        assert len(_errors(response)) == 1

    def test_other_workspaces_windows_are_404(self, tenant: Tenant,
                                              other_tenant: Tenant) -> None:
        created = _create(tenant)
        assert other_tenant.viewer.get(f"{BASE}/{created['id']}").status_code == 404
        assert other_tenant.editor.delete(f"{BASE}/{created['id']}").status_code == 404
        assert other_tenant.viewer.get(BASE).json()["total_count"] == 0


class TestRailsZones:
    """The full ActiveSupport::TimeZone::MAPPING resolves; a few spot checks by name."""

    def test_every_rails_zone_resolves_to_an_iana_zone(self) -> None:
        assert {name: resolve_zone(name) for name in RAILS_ZONES} == RAILS_ZONES

    @pytest.mark.parametrize(("name", "iana"), [
        ("Eastern Time (US & Canada)", "America/New_York"),
        ("Pacific Time (US & Canada)", "America/Los_Angeles"),
        ("Mid-Atlantic", "Atlantic/South_Georgia"),
        ("Nuku'alofa", "Pacific/Tongatapu"),
        ("Bern", "Europe/Zurich"),
        ("eastern time (us & canada)", "America/New_York"),
        ("Europe/Berlin", "Europe/Berlin"),
    ])
    def test_names(self, name: str, iana: str) -> None:
        assert resolve_zone(name) == iana
