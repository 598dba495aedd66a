"""``POST /api/v1/windows`` through ``CreateShortcut`` (issue #19): the same answer as the
routed application, and every case it does not take answered by the application."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.helpers import window_body
from tests.conftest import Tenant


def test_a_shortcut_create_answers_as_the_application_reads_it(tenant: Tenant) -> None:
    body = window_body("fast", targets=["service:b", "service:a"], description="d",
                       match=[[{"label": "env", "op": "=", "value": "prod"}]])
    created = tenant.editor.post("/api/v1/windows", json=body)
    shown = tenant.viewer.get(f"/api/v1/windows/{created.json()['id']}")
    assert (created.status_code, created.headers["content-type"], created.json()) == (
        201, "application/json", shown.json())


@pytest.mark.parametrize(("case", "send", "status", "field"), [
    ("no key", lambda t, b: t.editor.post("/api/v1/windows", json=b,
                                          headers={"Authorization": ""}), 401, None),
    ("viewer", lambda t, b: t.viewer.post("/api/v1/windows", json=b), 403, None),
    ("not JSON", lambda t, b: t.editor.post("/api/v1/windows", content=b"{nope",
                                            headers={"Content-Type": "application/json"}),
     400, None),
    ("another content type", lambda t, b: t.editor.post(
        "/api/v1/windows", content=json.dumps(b), headers={"Content-Type": "text/plain"}),
     None, None),
    ("unknown field", lambda t, b: t.editor.post("/api/v1/windows",
                                                 json={**b, "colour": "red"}), 422, "colour"),
    ("unknown group", lambda t, b: t.editor.post("/api/v1/windows",
                                                 json={**b, "groups": ["nope"]}),
     422, "groups[0]"),
])
def test_what_the_shortcut_does_not_take_the_application_answers(
        tenant: Tenant, case: str, send: Any, status: int | None, field: str | None) -> None:
    response = send(tenant, window_body("slow"))
    if status is None:  # whatever the application does with it, never a 5xx
        assert response.status_code < 500, response.text
        return
    assert (response.status_code, response.headers["content-type"],
            response.json().get("field")) == (status, "application/problem+json", field), \
        response.text
