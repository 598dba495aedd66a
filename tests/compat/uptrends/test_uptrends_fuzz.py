"""Schemathesis over the Uptrends compatibility API: no 5xx, every answer as declared."""

from __future__ import annotations

import base64

from tests.api.fuzz import fuzz
from tests.conftest import Tenant

from quietly.core.records import Role


def test_uptrends_api_never_fails(tenant: Tenant) -> None:
    tenant.editor.post("/api/v1/groups", json={"name": "web", "targets": ["monitor:a"]})
    token = base64.b64encode(f"user:{tenant.keys[Role.EDITOR]}".encode()).decode()
    done = fuzz(tenant.base_url, r"^/compat/uptrends/", {"Authorization": f"Basic {token}"},
                max_examples=25)
    assert len(done) == 6
