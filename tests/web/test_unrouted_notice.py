"""The timeline says when alerts went nowhere for want of a route (issue 16, point 6)."""

from __future__ import annotations

from quietly.core.records import Role
from tests.conftest import Tenant
from tests.web.conftest import signed_in


def test_the_timeline_warns_about_unrouted_alerts(tenant: Tenant) -> None:
    client, _ = signed_in(tenant, Role.VIEWER)
    quiet_before = "id=\"unrouted\"" in client.get("/").text
    tenant.editor.post("/api/v1/alerts", json={"alerts": [
        {"targets": ["service:a"], "labels": {"alertname": "A"}},
        {"targets": ["service:b"], "labels": {"alertname": "B"}}]})
    text = client.get("/").text
    assert (quiet_before, "2 alerts in the last 24 hours went nowhere:" in text) == (
        False, True)

