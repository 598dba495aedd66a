"""The timeline says when alerts went nowhere for want of a route (issue 16, point 6)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from quietly.core.records import Role
from tests.conftest import Tenant
from tests.web.test_ui_http import _OPEN, _browser


def test_the_timeline_warns_about_unrouted_alerts(tenant: Tenant) -> None:
    client, _ = _browser(tenant, Role.VIEWER)
    quiet_before = "id=\"unrouted\"" in client.get("/").text
    tenant.editor.post("/api/v1/alerts", json={"alerts": [
        {"targets": ["service:a"], "labels": {"alertname": "A"}},
        {"targets": ["service:b"], "labels": {"alertname": "B"}}]})
    text = client.get("/").text
    assert (quiet_before, "2 alerts in the last 24 hours went nowhere:" in text) == (
        False, True)


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """The signed-in clients ``_browser`` opens are closed after each test."""
    yield
    while _OPEN:
        _OPEN.pop().close()
