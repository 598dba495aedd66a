"""Alerts through the outbox (acceptance 6): routes get delivered alerts, escalation targets get
rerouted ones, and at the end of an occurrence ``resolve_on_end`` resolves what it held and
``reroute_on_end`` re-delivers what still fires — alerts ingested through ``/api/v1/alerts``."""

from __future__ import annotations

import time
import uuid
from typing import Any

from quietly.worker.runner import Worker
from tests.conftest import Tenant
from tests.worker.conftest import make_channel, make_window, seconds_from_now
from tests.worker.sink import Sink


def _ingest(tenant: Tenant, *alerts: dict[str, Any]) -> list[dict[str, Any]]:
    response = tenant.editor.post("/api/v1/alerts", json={"alerts": list(alerts)})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["alerts"]
    return found


def _route(tenant: Tenant, channel_id: int, **extra: Any) -> dict[str, Any]:
    response = tenant.admin.post("/api/v1/routes", json={
        "name": "r-" + uuid.uuid4().hex[:8], "channel": channel_id, **extra})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _alert(tenant: Tenant, alert_id: int) -> dict[str, Any]:
    for status in ("held", "delivered"):
        listed = tenant.viewer.get("/api/v1/alerts", params={"status": status}).json()
        for alert in listed["alerts"]:
            if alert["id"] == alert_id:
                return dict(alert)
    raise AssertionError(f"alert {alert_id} not listed")


def _running_window(tenant: Tenant, target: str, **extra: Any) -> dict[str, Any]:
    start = seconds_from_now(-5)
    return make_window(tenant.editor, start, seconds_from_now(3), [], targets=[target],
                       **extra)


def test_delivered_alerts_go_to_matching_routes_once_per_revision(
        tenant: Tenant, sink: Sink, worker: Worker) -> None:
    channel = make_channel(tenant.admin, sink.url("/routes"))
    _route(tenant, channel["id"], targets=["service:routed"])
    _route(tenant, channel["id"], match=[[{"label": "team", "op": "=", "value": "db"}]])
    alert = {"targets": ["service:routed"], "labels": {"alertname": "Down", "team": "web"}}
    first = _ingest(tenant, alert)[0]
    _ingest(tenant, {"targets": ["service:other"], "labels": {"alertname": "X"}})
    sink.wait_for("/routes", 1, timeout=10)
    second = _ingest(tenant, alert)[0]
    received = sink.wait_for("/routes", 2, timeout=10)
    time.sleep(0.5)
    received = sink.at("/routes")
    assert [(r.json["type"], r.json["alert"]["id"], r.json["alert"]["revision"])
            for r in received] == [("alert.forwarded", first["id"], 1),
                                   ("alert.forwarded", second["id"], 2)]
    assert received[0].json["alert"]["labels"] == alert["labels"]


def test_reroute_windows_send_held_alerts_to_their_escalation_targets(
        tenant: Tenant, sink: Sink, worker: Worker) -> None:
    channel = make_channel(tenant.admin, sink.url("/escalate"))
    window = _running_window(tenant, "service:esc", effects=["reroute"],
                             escalation_targets=[channel["name"]])
    outcome = _ingest(tenant, {"targets": ["service:esc"], "labels": {"alertname": "Hot"}})[0]
    assert (outcome["verdict"], outcome["delivery"]) == ("reroute", "held")
    received = sink.wait_for("/escalate", 1, timeout=10)
    assert received[0].json["reason"] == "reroute"
    assert received[0].json["alert"]["windows"] == [window["id"]]


def test_resolve_on_end_resolves_the_alerts_the_window_held(
        tenant: Tenant, sink: Sink, worker: Worker) -> None:
    channel = make_channel(tenant.admin, sink.url("/resolve"))
    _route(tenant, channel["id"])
    _running_window(tenant, "service:res", resolve_on_end=True)
    held = _ingest(tenant, {"targets": ["service:res"], "labels": {"alertname": "A"}})[0]
    assert held["delivery"] == "held"
    deadline = time.monotonic() + 15
    while _alert(tenant, held["id"])["status"] != "resolved":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert _alert(tenant, held["id"])["delivery"] == "held"
    time.sleep(0.5)
    assert sink.at("/resolve") == []  # resolving sends nothing


def test_reroute_on_end_redelivers_alerts_still_firing_to_their_routes(
        tenant: Tenant, sink: Sink, worker: Worker) -> None:
    channel = make_channel(tenant.admin, sink.url("/reroute"))
    _route(tenant, channel["id"], targets=["service:rr"])
    window = _running_window(tenant, "service:rr", reroute_on_end=True)
    firing = _ingest(tenant, {"targets": ["service:rr"], "labels": {"alertname": "F"}})[0]
    gone = _ingest(tenant, {"targets": ["service:rr"], "labels": {"alertname": "G"},
                            "status": "resolved"})[0]
    assert (firing["delivery"], gone["delivery"]) == ("held", "held")
    received = sink.wait_for("/reroute", 1, timeout=15)
    time.sleep(0.5)
    received = sink.at("/reroute")
    assert [(r.json["reason"], r.json["alert"]["id"]) for r in received] == [
        ("reroute_on_end", firing["id"])]
    assert _alert(tenant, firing["id"])["delivery"] == "delivered"
    log = tenant.viewer.get("/api/v1/deliveries", params={"window": window["id"]}).json()
    assert [d["type"] for d in log["deliveries"]] == ["alert.forwarded"]


def test_a_batch_forwards_each_alert_once_to_each_matching_route(
        tenant: Tenant, sink: Sink, worker: Worker) -> None:
    channel = make_channel(tenant.admin, sink.url("/batch"))
    _route(tenant, channel["id"], targets=["service:batch"])
    _route(tenant, channel["id"], match=[[{"label": "sev", "op": "=", "value": "page"}]])
    alerts = [{"targets": ["service:batch"], "labels": {"alertname": f"a{i}",
                                                        "sev": "page" if i % 2 else "info"}}
              for i in range(40)]
    response = tenant.editor.post("/api/v1/alerts", json={"alerts": alerts})
    assert response.status_code == 200, response.text
    received = sink.wait_for("/batch", 60, timeout=15)
    time.sleep(0.5)
    received = sink.at("/batch")
    assert len(received) == 60  # 40 by target, 20 more by the sev=page condition
    assert len({r.webhook_id for r in received}) == 60
