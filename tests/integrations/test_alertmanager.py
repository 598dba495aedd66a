"""The Alertmanager receiver, with payloads recorded from Debian's real Alertmanager.

``fixtures/`` holds webhook bodies exactly as ``prometheus-alertmanager`` 0.25 sent them
(``record_alertmanager.py`` re-records them); the last test runs the binary itself against
the test server, and skips with a message when it is not installed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from quietly.core.records import Role
from quietly.integrations.alertmanager.targets import parse_target_rule
from quietly.settings import Settings
from tests.api.helpers import active_body
from tests.conftest import Tenant
from tests.integrations.amharness import BINARY, Alertmanager

FIXTURES = Path(__file__).with_name("fixtures")
HOOK = "/api/v1/integrations/alertmanager"


def _fixture(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return payload


def _mute(tenant: Tenant, **scope: Any) -> int:
    body = {**active_body(targets=scope.pop("targets", [])), **scope}
    response = tenant.editor.post("/api/v1/windows", json=body)
    assert response.status_code == 201, response.text
    window_id: int = response.json()["id"]
    return window_id


def _by_instance(tenant: Tenant) -> dict[str, dict[str, Any]]:
    alerts = tenant.viewer.get("/api/v1/alerts").json()["alerts"]
    return {a["labels"]["instance"]: a for a in alerts}


def test_a_recorded_firing_group_is_held_by_target_and_by_labels(tenant: Tenant) -> None:
    by_target = _mute(tenant, targets=["service:checkout"])
    by_label = _mute(tenant, match=[[{"label": "severity", "op": "=", "value": "page"}]])
    payload = _fixture("alertmanager_firing.json")
    response = tenant.editor.post(HOOK, json=payload)
    summary = response.json()
    outcomes = {a["fingerprint"]: (a["verdict"], a["windows"]) for a in summary["alerts"]}
    sent = {a["labels"]["instance"]: a["fingerprint"] for a in payload["alerts"]}
    # No route in the workspace: the alert to deliver went nowhere, and says so (issue 16).
    assert (response.status_code, summary["held"], summary["delivered"], summary["unrouted"],
            outcomes) == (200, 2, 0, 1, {
            sent["web-1:9100"]: ("mute", [by_target]),
            sent["web-2:9100"]: ("mute", sorted([by_target, by_label])),
            sent["search-1:9100"]: ("deliver", []),
        })


def test_a_recorded_resolution_updates_the_stored_alert(tenant: Tenant) -> None:
    tenant.editor.post(HOOK, json=_fixture("alertmanager_firing.json"))
    tenant.editor.post(HOOK, json=_fixture("alertmanager_one_resolved.json"))
    stored = _by_instance(tenant)
    search, web = stored["search-1:9100"], stored["web-1:9100"]
    assert ((search["status"], search["revision"], search["ends_at"] is not None,
             search["targets"]), (web["status"], web["ends_at"], web["starts_at"][:4])) == (
        ("resolved", 2, True, ["service:search"]), ("firing", None, "2026"))


def test_fingerprints_equal_alertmanagers_own(tenant: Tenant) -> None:
    recorded = json.loads((FIXTURES / "alertmanager_api_fingerprints.json").read_text())
    summary = tenant.editor.post(HOOK, json=_fixture("alertmanager_one_resolved.json")).json()
    assert sorted(a["fingerprint"] for a in summary["alerts"]) == sorted(recorded)


def test_the_receiver_needs_an_editor_key_and_a_version_4_payload(tenant: Tenant) -> None:
    payload = _fixture("alertmanager_firing.json")
    anonymous = tenant.viewer.post(HOOK, json=payload, headers={"Authorization": ""})
    viewer = tenant.viewer.post(HOOK, json=payload)
    old = tenant.editor.post(HOOK, json={**payload, "version": "3"})
    bad_time = tenant.editor.post(HOOK, json={**payload, "alerts": [
        {**payload["alerts"][0], "startsAt": "soon"}]})
    newer = tenant.editor.post(HOOK, json={**payload, "someNewField": {"x": 1}})
    assert ((anonymous.status_code, viewer.status_code, old.status_code,
             old.json()["field"], bad_time.status_code, bad_time.json()["field"],
             newer.status_code)) == (401, 403, 422, "version", 422, "alerts[0].startsAt", 200)


RULES = {
    # rule, labels → targets
    "default": ("service:{service}", {"service": "checkout", "job": "node"},
                ("service:checkout",)),
    "missing label yields nothing": ("service:{service}", {"job": "node"}, ()),
    "empty label yields nothing": ("service:{service}", {"service": ""}, ()),
    "several templates in order": ("service:{service},host:{instance},job:{job}",
                                   {"job": "node", "instance": "web-1", "service": "a"},
                                   ("service:a", "host:web-1", "job:node")),
    "two labels in one target": ("svc:{namespace}/{service}", {"namespace": "prod",
                                                               "service": "api"},
                                 ("svc:prod/api",)),
    "duplicates collapse": ("service:{service},service:{app}", {"service": "a", "app": "a"},
                            ("service:a",)),
    "empty rule": ("", {"service": "a"}, ()),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_target_rule(name: str) -> None:
    rule, labels, expected = RULES[name]
    assert parse_target_rule(rule).targets(labels) == expected


@pytest.mark.parametrize("bad", ["service", "service:{}", "Service:{service}",
                                 "service:{ser vice}", "service:fixed"])
def test_a_broken_target_rule_is_refused_at_start(bad: str) -> None:
    with pytest.raises(ValueError, match="target template"):
        parse_target_rule(bad)
    with pytest.raises(ValueError, match="target template"):
        Settings(alertmanager_target_labels=bad)


def _wait_for(tenant: Tenant, count: int, timeout: float = 20) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    stored = _by_instance(tenant)
    while (len(stored) < count or any(a["status"] != "resolved" for a in stored.values()
                                      if a["labels"].get("end") == "yes")) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
        stored = _by_instance(tenant)
    return stored


@pytest.mark.skipif(BINARY is None, reason="prometheus-alertmanager is not installed "
                    "(apt-get install prometheus-alertmanager); the recorded fixtures above "
                    "still cover its payloads")
def test_real_alertmanager_delivers_through_quietly(tenant: Tenant) -> None:
    window = _mute(tenant, targets=["service:checkout"])
    url = tenant.base_url + HOOK
    with Alertmanager(url, bearer=tenant.keys[Role.EDITOR]) as am:
        am.post_alerts([
            {"labels": {"alertname": "Down", "service": "checkout", "instance": "a:1"}},
            {"labels": {"alertname": "Down", "service": "search", "instance": "b:1"}},
        ])
        stored = _wait_for(tenant, 2)
        am_fingerprints = sorted(a["fingerprint"] for a in am.alerts())
    assert ({i: (a["delivery"], a["windows"], a["targets"]) for i, a in stored.items()},
            sorted(a["fingerprint"] for a in stored.values())) == (
        {"a:1": ("held", [window], ["service:checkout"]),
         "b:1": ("unrouted", [], ["service:search"])}, am_fingerprints)
