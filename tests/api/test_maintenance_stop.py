"""``POST /api/v1/maintenance/stop`` ends one's own maintenance, not other people's (issue 16).

The story from the issue: one team runs ``start service:pay --for 10m`` while another team's
planned three-hour window covers ``service:pay`` and ``service:ledger``. Stopping pay must end
the first and leave the second (and ledger) alone unless asked for everything.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.helpers import active_body, now, once, window_body
from tests.conftest import Tenant

STOP = "/api/v1/maintenance/stop"


def _verdicts(tenant: Tenant, *targets: str) -> dict[str, str]:
    return {t: tenant.viewer.get(f"/api/v1/decide?target={t}").json()["verdict"]
            for t in targets}


def _start(tenant: Tenant, *targets: str) -> dict[str, Any]:
    response = tenant.editor.post("/api/v1/maintenance/start",
                                  json={"targets": list(targets), "duration": "10m"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _planned(tenant: Tenant, *targets: str) -> dict[str, Any]:
    body: dict[str, Any] = tenant.editor.post(
        "/api/v1/windows", json=active_body("other team", list(targets))).json()
    return body


def _ids(windows: list[dict[str, Any]]) -> list[int]:
    return [w["id"] for w in windows]


def test_stop_by_target_ends_only_immediate_maintenance(tenant: Tenant) -> None:
    planned = _planned(tenant, "service:pay", "service:ledger")
    mine = _start(tenant, "service:pay")
    result = tenant.editor.post(STOP, json={"targets": ["service:pay"]}).json()
    other = tenant.viewer.get(f"/api/v1/windows/{planned['id']}").json()
    assert (_ids(result["stopped"]), result["stopped"][0]["state"],
            _ids(result["left_running"]), other["state"], other["targets"],
            _verdicts(tenant, "service:pay", "service:ledger")) == (
        [mine["id"]], "completed", [planned["id"]], "active",
        ["service:ledger", "service:pay"], {"service:pay": "mute", "service:ledger": "mute"})


def test_scope_all_narrows_a_planned_window_and_keeps_its_other_targets(
        tenant: Tenant) -> None:
    planned = _planned(tenant, "service:pay", "service:ledger")
    result = tenant.editor.post(STOP, json={"targets": ["service:pay"], "scope": "all"}).json()
    narrowed = result["stopped"][0]
    assert (_ids(result["stopped"]), narrowed["state"], narrowed["targets"],
            narrowed["schedule"]["end"] == planned["schedule"]["end"],
            _verdicts(tenant, "service:pay", "service:ledger")) == (
        [planned["id"]], "active", ["service:ledger"], True,
        {"service:pay": "deliver", "service:ledger": "mute"})


def test_stopping_part_of_my_own_multi_target_maintenance_keeps_the_rest(
        tenant: Tenant) -> None:
    mine = _start(tenant, "service:pay", "service:ledger")
    first = tenant.editor.post(STOP, json={"targets": ["service:pay"]}).json()
    middle = _verdicts(tenant, "service:pay", "service:ledger")
    last = tenant.editor.post(STOP, json={"targets": ["service:ledger"]}).json()
    assert ((_ids(first["stopped"]), first["stopped"][0]["targets"]), middle,
            (_ids(last["stopped"]), last["stopped"][0]["state"])) == (
        ([mine["id"]], ["service:ledger"]), {"service:pay": "deliver", "service:ledger": "mute"},
        ([mine["id"]], "completed"))


def test_stop_by_window_id_ends_that_window_only(tenant: Tenant) -> None:
    mine = _start(tenant, "service:pay")
    theirs = _start(tenant, "service:pay")
    result = tenant.editor.post(STOP, json={"window_id": mine["id"]}).json()
    states = [tenant.viewer.get(f"/api/v1/windows/{w['id']}").json()["state"]
              for w in (mine, theirs)]
    assert (_ids(result["stopped"]), states) == ([mine["id"]], ["completed", "active"])


def test_stop_by_window_id_and_target_narrows_it(tenant: Tenant) -> None:
    planned = _planned(tenant, "service:pay", "service:ledger")
    result = tenant.editor.post(STOP, json={"window_id": planned["id"],
                                            "targets": ["service:ledger"]}).json()
    assert (result["stopped"][0]["targets"], _verdicts(tenant, "service:pay", "service:ledger")
            ) == (["service:pay"], {"service:pay": "mute", "service:ledger": "deliver"})


def test_narrowing_is_in_the_audit_log_with_before_and_after(tenant: Tenant) -> None:
    planned = _planned(tenant, "service:pay", "service:ledger")
    tenant.editor.post(STOP, json={"targets": ["service:pay"], "scope": "all"})
    entries = tenant.viewer.get("/api/v1/audit", params={
        "object_type": "window", "object_id": str(planned["id"])}).json()["entries"]
    last = entries[-1]
    assert (last["action"], last["before"]["targets"], last["after"]["targets"]) == (
        "update", ["service:ledger", "service:pay"], ["service:ledger"])


def test_an_ended_window_is_nothing_to_stop(tenant: Tenant) -> None:
    mine = _start(tenant, "service:pay")
    tenant.editor.post(STOP, json={"window_id": mine["id"]})
    again = tenant.editor.post(STOP, json={"window_id": mine["id"]})
    assert (again.status_code, again.json()) == (200, {"stopped": [], "left_running": []})


def test_recurring_windows_are_left_running_and_reported(tenant: Tenant) -> None:
    start = now() - timedelta(minutes=5)
    recurring = tenant.editor.post("/api/v1/windows", json=window_body(
        "nightly", ["service:pay"], {
            "kind": "recurring", "timezone": "UTC", "every": "daily",
            "start_time": start.strftime("%H:%M"), "duration": "PT1H",
            "starts_on": (start - timedelta(days=1)).date().isoformat()})).json()
    result = tenant.editor.post(STOP, json={"targets": ["service:pay"], "scope": "all"}).json()
    assert (result["stopped"], _ids(result["left_running"])) == ([], [recurring["id"]])


def _refusal(response: Any) -> tuple[int, str | None]:
    return response.status_code, response.json().get("field")


@pytest.mark.parametrize(("case", "status", "field"), [
    ("nothing named", 422, "targets"),
    ("unknown window", 404, "id"),
    ("not started yet", 409, "window_id"),
    ("recurring", 409, "window_id"),
    ("target not in the window", 422, "targets[0]"),
    ("part of a window later", 422, "delay_seconds"),
    ("bad scope", 422, "scope"),
])
def test_refusals_name_the_field(tenant: Tenant, case: str, status: int, field: str) -> None:
    later = now() + timedelta(days=400)
    future = tenant.editor.post("/api/v1/windows", json=window_body(
        targets=["service:pay"], schedule=once(later, later + timedelta(hours=1)))).json()
    recurring = tenant.editor.post("/api/v1/windows", json=window_body(
        targets=["service:pay"], schedule={
            "kind": "recurring", "timezone": "UTC", "every": "daily", "start_time": "00:00",
            "end_time": "23:59", "starts_on": "2020-01-01"})).json()
    both = _start(tenant, "service:pay", "service:ledger")
    bodies: dict[str, dict[str, Any]] = {
        "nothing named": {},
        "unknown window": {"window_id": 2**62},
        "not started yet": {"window_id": future["id"]},
        "recurring": {"window_id": recurring["id"]},
        "target not in the window": {"window_id": both["id"], "targets": ["service:x"]},
        "part of a window later": {"targets": ["service:pay"], "delay_seconds": 60},
        "bad scope": {"targets": ["service:pay"], "scope": "everything"},
    }
    assert _refusal(tenant.editor.post(STOP, json=bodies[case])) == (status, field)
