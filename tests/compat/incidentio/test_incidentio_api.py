"""incident.io's maintenance-window API, built from incident.io's document (seeds/incidentio.md).

The documented Create request is sent as written (host and key changed, dates in 2030) and must
answer the documented shape; list, show, update and archive answer in the same shape; every
required field, operation and effect rule is checked, with incident.io's error shape.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from tests.conftest import Tenant

BASE = "/compat/incidentio/v1/maintenance_windows"
BINDING = {"literal": "SEV123", "reference": "incident.severity"}
LABELLED = {"label": "SEV123", **BINDING}

EXAMPLE: dict[str, Any] = {
    "alert_condition_groups": [{"conditions": [{
        "operation": "one_of",
        "param_bindings": [{"array_value": [BINDING], "value": BINDING}],
        "subject": "incident.severity"}]}],
    "end_at": "2041-08-17T14:28:57.801578Z",
    "escalation_targets": [{
        "escalation_paths": {"array_value": [BINDING], "value": BINDING},
        "users": {"array_value": [BINDING], "value": BINDING}}],
    "incident_id": "01FCNDV6P870EA6S7TK1DSYDG0",
    "lead": {"email": "bob@example.com", "id": "01G0J1EXE7AXZ2C93K61WBPYEH",
             "slack_user_id": "USER123"},
    "name": "Planned database migration",
    "notification_message": "Scheduled downtime for database migration",
    "notify_channels": [{"channel_id": "C0ACTHQMHS8", "channel_name": "general",
                         "channel_type": "public"}],
    "notify_end_minutes_before": 5,
    "notify_start_minutes_before": 15,
    "reroute_on_end": False,
    "resolve_on_end": False,
    "show_in_sidebar": True,
    "start_at": "2041-08-17T13:28:57.801578Z",
}
INSIDE = "2041-08-17T14:00:00Z"
AFTER = "2041-08-17T15:00:00Z"


def _payload(**overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def _conditions(subject: str, operation: str, *values: str) -> list[dict[str, Any]]:
    bindings = [{"array_value": [{"literal": v} for v in values]}] if values else []
    return [{"conditions": [{"subject": subject, "operation": operation,
                             "param_bindings": bindings}]}]


def _create(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = tenant.editor.post(BASE, json=_payload(**overrides))
    assert response.status_code == 201, response.text
    window: dict[str, Any] = response.json()["maintenance_window"]
    return window


def _verdict(tenant: Tenant, labels: dict[str, str], at: str = INSIDE) -> str:
    response = tenant.viewer.post("/api/v1/decide", json={
        "at": at, "alerts": [{"targets": [], "labels": labels}]})
    assert response.status_code == 200, response.text
    verdict: str = response.json()["decisions"][0]["verdict"]
    return verdict


def _error(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "status", "request_id", "errors"}, body
    assert body["status"] == status
    assert len(body["request_id"]) == 36
    errors: list[dict[str, Any]] = body["errors"]
    return errors


class TestCreateAsDocumented:
    def test_answers_201_in_the_documented_shape(self, tenant: Tenant) -> None:
        window = _create(tenant)
        assert set(window) == {
            "alert_condition_groups", "archived_at", "created_at", "end_at",
            "escalation_targets", "id", "incident_id", "lead", "name", "notification_message",
            "notify_channels", "notify_end_minutes_before", "notify_start_minutes_before",
            "reroute_on_end", "resolve_on_end", "show_in_sidebar", "start_at", "updated_at"}
        assert window["alert_condition_groups"] == [{"conditions": [{
            "operation": {"label": "is one of", "value": "one_of"},
            "param_bindings": [{"array_value": [LABELLED], "value": LABELLED}],
            "subject": {"label": "Incident Severity", "reference": "incident.severity"}}]}]
        assert window["escalation_targets"] == [{
            "escalation_paths": {"array_value": [LABELLED], "value": LABELLED},
            "users": {"array_value": [LABELLED], "value": LABELLED}}]
        assert window["lead"] == {"user": {
            "email": "bob@example.com", "id": "01G0J1EXE7AXZ2C93K61WBPYEH",
            "name": "Bob", "role": "unset", "slack_user_id": "USER123"}}
        assert window["notify_channels"] == [{**EXAMPLE["notify_channels"][0],
                                              "is_private": False}]
        same = ("end_at", "incident_id", "name", "notification_message",
                "notify_end_minutes_before", "notify_start_minutes_before", "reroute_on_end",
                "resolve_on_end", "show_in_sidebar", "start_at")
        assert {k: window[k] for k in same} == {k: EXAMPLE[k] for k in same}
        assert window["archived_at"] is None
        assert window["created_at"].endswith("Z")
        assert window["id"].isdigit()

    def test_is_stored_natively(self, tenant: Tenant) -> None:
        window = _create(tenant)
        native = tenant.viewer.get(f"/api/v1/windows/{window['id']}").json()
        assert [(m["label"], m["op"], m["values"]) for m in native["match"][0]] == [
            ("incident.severity", "one_of", ["SEV123"])]
        assert {k: native[k] for k in ("effects", "escalation_targets", "incident_id",
                                       "notify_channels", "lead", "origin", "show_in_sidebar",
                                       "notify_start_minutes_before")} == {
            "effects": ["reroute", "attach"],
            "escalation_targets": ["escalation_path:SEV123", "user:SEV123"],
            "incident_id": "01FCNDV6P870EA6S7TK1DSYDG0",
            "notify_channels": [],  # no quietly channel is called C0ACTHQMHS8 or general
            "lead": EXAMPLE["lead"], "origin": "incidentio", "show_in_sidebar": True,
            "notify_start_minutes_before": 15}

    def test_matching_alerts_are_rerouted(self, tenant: Tenant) -> None:
        _create(tenant)
        assert _verdict(tenant, {"incident.severity": "SEV123"}) == "reroute"
        assert _verdict(tenant, {"incident.severity": "SEV1"}) == "deliver"
        assert _verdict(tenant, {"incident.severity": "SEV123"}, AFTER) == "deliver"
        got = tenant.viewer.get("/api/v1/decide", params={
            "label.incident.severity": "SEV123", "at": INSIDE}).json()
        assert got["verdict"] == "reroute"


class TestEffects:
    @pytest.mark.parametrize(("escalations", "incident", "verdict"), [
        (..., ..., "mute"), ([], None, "mute"), (..., "01INC", "attach"),
        ([{"users": {"value": {"literal": "U1"}}}], ..., "reroute")])
    def test_effect_follows_the_fields(self, tenant: Tenant, escalations: Any, incident: Any,
                                       verdict: str) -> None:
        _create(tenant, escalation_targets=escalations, incident_id=incident)
        assert _verdict(tenant, {"incident.severity": "SEV123"}) == verdict

    def test_an_escalation_target_needs_a_literal(self, tenant: Tenant) -> None:
        response = tenant.editor.post(BASE, json=_payload(
            escalation_targets=[{"users": {"value": {"reference": "x"}}}]))
        assert _error(response, 422)[0]["source"] == {"field": "escalation_targets[0]"}

    @pytest.mark.parametrize(("operation", "values", "matching", "other"), [
        ("is", ("prod",), "prod", "dev"),
        ("is_not", ("prod",), "dev", "prod"),
        ("one_of", ("a", "b"), "b", "c"),
        ("not_one_of", ("a", "b"), "c", "a"),
        ("contains", ("db.",), "main-db.eu", "main-dbxeu"),
        ("does_not_contain", ("db",), "web", "mydb"),
        ("starts_with", ("pay",), "payments", "repay"),
        ("is_set", (), "x", ""),
        ("is_blank", (), "", "x"),
    ])
    def test_operations(self, tenant: Tenant, operation: str, values: tuple[str, ...],
                        matching: str, other: str) -> None:
        _create(tenant, escalation_targets=..., incident_id=...,
                alert_condition_groups=_conditions("service", operation, *values))
        def labels(v: str) -> dict[str, str]:
            return {"service": v} if v else {}
        assert (_verdict(tenant, labels(matching)), _verdict(tenant, labels(other))) == (
            "mute", "deliver")

    def test_groups_are_or_and_conditions_are_and(self, tenant: Tenant) -> None:
        both = _conditions("env", "is", "p")[0]["conditions"] + \
            _conditions("team", "is", "db")[0]["conditions"]
        groups = [{"conditions": both}, *_conditions("severity", "is", "critical")]
        _create(tenant, escalation_targets=..., incident_id=..., alert_condition_groups=groups)
        cases = {("p", "db", ""): "mute", ("p", "web", ""): "deliver",
                 ("", "", "critical"): "mute", ("d", "db", "low"): "deliver"}
        got = {k: _verdict(tenant, {"env": k[0], "team": k[1], "severity": k[2]})
               for k in cases}
        assert got == cases

    def test_empty_condition_groups_are_refused_and_mute_nothing(self, tenant: Tenant) -> None:
        """An empty list used to be accepted and then mute every alert (issue 16)."""
        response = tenant.editor.post(BASE, json=_payload(
            escalation_targets=..., incident_id=..., alert_condition_groups=[]))
        assert (_error(response, 422)[0]["source"], _verdict(tenant, {"anything": "x"})) == (
            {"field": "alert_condition_groups"}, "deliver")


class TestValidation:
    @pytest.mark.parametrize("field", ["name", "start_at", "end_at", "lead", "show_in_sidebar",
                                       "alert_condition_groups"])
    def test_required_fields(self, tenant: Tenant, field: str) -> None:
        errors = _error(tenant.editor.post(BASE, json=_payload(**{field: ...})), 422)
        assert errors == [{"code": "is_required", "message": f"{field} is required",
                           "source": {"field": field}}]

    @pytest.mark.parametrize(("change", "field"), [
        ({"alert_condition_groups": _conditions("svc", "matches_everything", "x")},
         "alert_condition_groups[0].conditions[0].operation"),
        ({"alert_condition_groups": _conditions("svc", "one_of")},
         "alert_condition_groups[0].conditions[0].param_bindings"),
        ({"alert_condition_groups": [{"conditions": []}]},
         "alert_condition_groups[0].conditions"),
        ({"start_at": "tomorrow"}, "start_at"),
        ({"end_at": "2041-08-17T12:00:00Z"}, "end_at"),
        ({"lead": {}}, "lead"),
        ({"name": "  "}, "name"),
        ({"notify_start_minutes_before": -1}, "notify_start_minutes_before"),
        ({"show_in_sidebar": "sometimes"}, "show_in_sidebar"),
        # Issue 16: no coercion, an offset and seconds required, conditions required.
        ({"show_in_sidebar": "yes"}, "show_in_sidebar"),
        ({"resolve_on_end": 1}, "resolve_on_end"),
        ({"start_at": "2041-08-18 13:00"}, "start_at"),
        ({"end_at": "2041-08-18T15:00:00"}, "end_at"),
        ({"alert_condition_groups": []}, "alert_condition_groups"),
    ])
    def test_invalid_values_name_the_field(self, tenant: Tenant, change: dict[str, Any],
                                           field: str) -> None:
        errors = _error(tenant.editor.post(BASE, json=_payload(**change)), 422)
        assert (errors[0]["code"], errors[0]["source"]) in (
            ("invalid_value", {"field": field}), ("is_required", {"field": field}))

    def test_auth_errors(self, tenant: Tenant, server: str) -> None:
        errors = _error(httpx.post(server + BASE, json=EXAMPLE), 401)
        assert errors[0]["code"] == "missing_authorization_material"
        bad = httpx.get(server + BASE, headers={"Authorization": "Bearer nope"})
        assert _error(bad, 401)[0]["code"] == "invalid_authorization_material"
        assert _error(tenant.viewer.post(BASE, json=EXAMPLE), 403)[0]["code"] == \
            "insufficient_permissions"


class TestListShowUpdateArchive:
    def test_show(self, tenant: Tenant) -> None:
        window = _create(tenant)
        response = tenant.viewer.get(f"{BASE}/{window['id']}")
        assert response.json() == {"maintenance_window": window}

    def test_list_pages_with_after(self, tenant: Tenant) -> None:
        ids = [_create(tenant, name=f"w{i}")["id"] for i in range(3)]
        first = tenant.viewer.get(BASE, params={"page_size": 2}).json()
        assert [w["id"] for w in first["maintenance_windows"]] == ids[:2]
        assert first["pagination_meta"] == {"after": ids[1], "page_size": 2}
        second = tenant.viewer.get(BASE, params={"page_size": 2, "after": ids[1]}).json()
        assert [w["id"] for w in second["maintenance_windows"]] == ids[2:]
        assert second["pagination_meta"] == {"after": None, "page_size": 2}

    def test_list_status_filter(self, tenant: Tenant) -> None:
        now = datetime.now(UTC)
        upcoming = _create(tenant)
        active = _create(tenant, start_at=(now - timedelta(minutes=5)).isoformat(),
                         end_at=(now + timedelta(hours=1)).isoformat())
        def ids(status: str) -> list[str]:
            found = tenant.viewer.get(BASE, params={"status": status}).json()
            return [w["id"] for w in found["maintenance_windows"]]
        assert (ids("upcoming"), ids("active"), ids("past")) == (
            [upcoming["id"]], [active["id"]], [])

    def test_native_windows_with_conditions_are_listed(self, tenant: Tenant) -> None:
        schedule = {"kind": "once", "start": "2041-05-01T10:00:00Z",
                    "end": "2041-05-01T11:00:00Z"}
        native = tenant.editor.post("/api/v1/windows", json={
            "name": "native", "schedule": schedule,
            "match": [[{"label": "env", "op": "=~", "value": "prod-.*"}]]}).json()
        tenant.editor.post("/api/v1/windows", json={
            "name": "targets only", "schedule": schedule, "targets": ["service:x"]})
        listed = tenant.viewer.get(BASE).json()["maintenance_windows"]
        assert [w["id"] for w in listed] == [str(native["id"])]
        assert listed[0]["alert_condition_groups"] == [{"conditions": [{
            "operation": {"label": "matches regex", "value": "matches_regex"},
            "param_bindings": [{"value": {"label": "prod-.*", "literal": "prod-.*"}}],
            "subject": {"label": "Env", "reference": "env"}}]}]
        assert listed[0]["lead"] == {"api_key": {"id": "key:editor-key", "name": "editor-key"}}

    def test_update_replaces_the_window(self, tenant: Tenant) -> None:
        window = _create(tenant)
        response = tenant.editor.put(f"{BASE}/{window['id']}", json=_payload(
            name="Moved", end_at="2041-08-17T16:00:00Z", escalation_targets=...,
            incident_id=...))
        assert response.status_code == 200, response.text
        updated = response.json()["maintenance_window"]
        assert (updated["name"], updated["end_at"], updated["escalation_targets"],
                updated["incident_id"]) == ("Moved", "2041-08-17T16:00:00.000000Z", [], None)
        assert _verdict(tenant, {"incident.severity": "SEV123"}, AFTER) == "mute"

    def test_update_requires_the_create_fields(self, tenant: Tenant) -> None:
        window = _create(tenant)
        errors = _error(tenant.editor.put(f"{BASE}/{window['id']}", json={"name": "x"}), 422)
        assert {e["source"]["field"] for e in errors} >= {"start_at", "end_at", "lead"}

    def test_archive(self, tenant: Tenant) -> None:
        window = _create(tenant)
        response = tenant.editor.delete(f"{BASE}/{window['id']}")
        assert (response.status_code, response.content) == (204, b"")
        gone = _error(tenant.viewer.get(f"{BASE}/{window['id']}"), 404)
        assert gone[0]["code"] == "not_found"
        assert _verdict(tenant, {"incident.severity": "SEV123"}) == "deliver"

    def test_an_active_window_cannot_be_archived(self, tenant: Tenant) -> None:
        now = datetime.now(UTC)
        window = _create(tenant, start_at=(now - timedelta(minutes=5)).isoformat(),
                         end_at=(now + timedelta(hours=1)).isoformat())
        errors = _error(tenant.editor.delete(f"{BASE}/{window['id']}"), 422)
        assert errors[0]["message"].startswith("an active maintenance window cannot be")

    def test_other_workspaces_and_unknown_ids_are_404(self, tenant: Tenant,
                                                      other_tenant: Tenant) -> None:
        window = _create(tenant)
        for client, raw in ((other_tenant.viewer, window["id"]), (tenant.viewer, "01FCND"),
                            (tenant.viewer, "999999")):
            assert _error(client.get(f"{BASE}/{raw}"), 404)[0]["code"] == "not_found"
