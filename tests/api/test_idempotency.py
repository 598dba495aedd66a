"""``Idempotency-Key`` on every create (issue #14 point 3): a retry with the same key and
body gets the first answer and never makes a second object; another body is a 422."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.helpers import window_body
from tests.conftest import Tenant

CREATES: list[tuple[str, str, dict[str, Any]]] = [
    ("native window", "/api/v1/windows", window_body("idempotent")),
    ("maintenance start", "/api/v1/maintenance/start",
     {"targets": ["service:idempotent"], "duration": "PT5M"}),
    ("Oh Dear period", "/compat/ohdear/api/maintenance-periods",
     {"monitor_id": 7, "starts_at": "2040-01-01 02:00", "ends_at": "2040-01-01 03:00"}),
]


def _windows(tenant: Tenant) -> int:
    return len(tenant.viewer.get("/api/v1/windows", params={"limit": 500}).json()["windows"])


@pytest.mark.parametrize(("case", "path", "body"), CREATES, ids=[c[0] for c in CREATES])
def test_a_retry_gets_the_first_answer_and_creates_nothing_more(
        tenant: Tenant, case: str, path: str, body: dict[str, Any]) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    before = _windows(tenant)
    first = tenant.editor.post(path, json=body, headers=headers)
    again = tenant.editor.post(path, json=body, headers=headers)
    assert (first.status_code, again.status_code, again.json() == first.json(),
            again.headers.get("idempotent-replayed"), _windows(tenant) - before) == (
        201, 201, True, "true", 1), first.text


def test_the_same_key_with_another_body_is_422(tenant: Tenant) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = tenant.editor.post("/api/v1/windows", json=window_body("a"), headers=headers)
    other = tenant.editor.post("/api/v1/windows", json=window_body("b"), headers=headers)
    body = other.json()
    assert (first.status_code, other.status_code, body["field"]) == (
        201, 422, "Idempotency-Key"), body


def test_alert_ingest_replays_its_summary(tenant: Tenant) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    batch = {"alerts": [{"labels": {"alertname": "Idem", "name": "idem"}}]}
    first = tenant.editor.post("/api/v1/alerts", json=batch, headers=headers)
    again = tenant.editor.post("/api/v1/alerts", json=batch, headers=headers)
    listed = tenant.viewer.get("/api/v1/alerts").json()["alerts"]
    revisions = [a.get("revision") for a in listed if a["labels"].get("name") == "idem"]
    assert (first.status_code, again.json() == first.json(), revisions) == (200, True, [1]), (
        first.text, again.text, again.headers)


def test_keys_are_per_credential(tenant: Tenant, other_tenant: Tenant) -> None:
    # Another workspace's key reusing the same Idempotency-Key creates its own window.
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    mine = tenant.editor.post("/api/v1/windows", json=window_body("x"), headers=headers)
    theirs = other_tenant.editor.post("/api/v1/windows", json=window_body("x"),
                                      headers=headers)
    assert (mine.status_code, theirs.status_code, mine.json()["id"] != theirs.json()["id"]) == (
        201, 201, True)


def test_a_failed_request_releases_its_key(tenant: Tenant) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    with_viewer = tenant.viewer.post("/api/v1/windows", json=window_body("r"), headers=headers)
    with_editor = tenant.editor.post("/api/v1/windows", json=window_body("r"), headers=headers)
    assert (with_viewer.status_code, with_editor.status_code) == (403, 201)
