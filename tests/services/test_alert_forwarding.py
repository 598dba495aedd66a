"""Ingestion → outbox: one message per (alert, route, revision), however a batch repeats
itself, on SQLite and PostgreSQL alike (``store_alerts`` writes both in one transaction).

No worker runs here: the messages stay in the outbox, where the test reads their keys."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from quietly.services import alerts
from quietly.storage.db import Database
from quietly.storage.tables import OutboxRow
from tests.api.helpers import active_body
from tests.conftest import Tenant


def _ingest(tenant: Tenant, *batch: dict[str, Any]) -> dict[str, Any]:
    response = tenant.editor.post("/api/v1/alerts", json={"alerts": list(batch)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _channel(tenant: Tenant, path: str) -> dict[str, Any]:
    response = tenant.admin.post("/api/v1/channels", json={
        "name": path.strip("/"), "type": "webhook", "url": f"http://127.0.0.1:9{path}"})
    assert response.status_code == 201, response.text
    channel: dict[str, Any] = response.json()
    return channel


def _reroute_window(tenant: Tenant, target: str, channel: str) -> None:
    body = {**active_body(targets=[target]), "effects": ["reroute"],
            "escalation_targets": [channel]}
    assert tenant.editor.post("/api/v1/windows", json=body).status_code == 201


def _outbox(db: Database, tenant: Tenant) -> dict[str, dict[str, Any]]:
    """dedupe key → payload of the workspace's messages."""
    with db.read() as session:
        return {row.dedupe_key: row.payload for row in session.scalars(
            select(OutboxRow).where(OutboxRow.workspace_id == tenant.id))}


def _keys(messages: dict[str, Any], ids: dict[str, int]) -> list[str]:
    """Dedupe keys with alert ids replaced by the alerts' fingerprints, sorted."""
    names = {str(v): k for k, v in ids.items()}
    return sorted(re.sub(r"^a(\d+)", lambda m: names[m[1]], key) for key in messages)


def test_each_alert_revision_is_forwarded_once_per_route(db: Database, tenant: Tenant) -> None:
    routed = _channel(tenant, "/routes")
    escalation = _channel(tenant, "/escalation")
    route = tenant.admin.post("/api/v1/routes", json={
        "name": "fw", "channel": routed["id"], "targets": ["service:fw"]}).json()
    _reroute_window(tenant, "service:esc", escalation["name"])
    batch = [
        {"fingerprint": "routed", "targets": ["service:fw"], "annotations": {"copy": "1"}},
        {"fingerprint": "other", "targets": ["service:elsewhere"]},
        {"fingerprint": "rerouted", "targets": ["service:esc"]},
        {"fingerprint": "routed", "targets": ["service:fw"], "annotations": {"copy": "2"}},
    ]
    first, second = _ingest(tenant, *batch), _ingest(tenant, *batch)
    ids = {a["fingerprint"]: a["id"] for a in first["alerts"]}
    with db.transaction() as session:  # a retried forward, and one of a past revision
        again = alerts.enqueue_alerts_for_routes(
            session, tenant.id, [(ids["routed"], 2), (ids["rerouted"], 2), (ids["other"], 1)])
    messages = _outbox(db, tenant)
    r, x = route["id"], escalation["id"]
    assert (first["forwarded"], second["forwarded"], again, _keys(messages, ids),
            messages[f"a{ids['routed']}:r{r}:v2"]["alert"]["annotations"]) == (
        2, 2, 0, [f"rerouted:x{x}:v1", f"rerouted:x{x}:v2", f"routed:r{r}:v1",
                  f"routed:r{r}:v2"], {"copy": "2"})


def test_without_routes_only_rerouted_alerts_are_forwarded(db: Database,
                                                           tenant: Tenant) -> None:
    escalation = _channel(tenant, "/escalation")
    _reroute_window(tenant, "service:esc", escalation["name"])
    body = _ingest(tenant, {"fingerprint": "delivered", "targets": ["service:free"]},
                   {"fingerprint": "rerouted", "targets": ["service:esc"]})
    ids = {a["fingerprint"]: a["id"] for a in body["alerts"]}
    # No route: the alert to deliver is unrouted (nothing sent), the rerouted one escalates.
    assert (body["delivered"], body["unrouted"], body["forwarded"],
            _keys(_outbox(db, tenant), ids)) == (0, 1, 1, [f"rerouted:x{escalation['id']}:v1"])
