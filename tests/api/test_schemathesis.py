"""Schemathesis over the whole native API: no 5xx and no response that breaks the schema."""

from __future__ import annotations

from quietly.core.records import Role
from tests.api.fuzz import fuzz
from tests.conftest import Tenant


def test_native_api_never_fails(tenant: Tenant) -> None:
    tenant.editor.post("/api/v1/groups", json={"name": "web", "targets": ["host:a"]})
    done = fuzz(tenant.base_url, r"^/(api/v1/|healthz)",
                {"Authorization": f"Bearer {tenant.keys[Role.ADMIN]}"})
    assert len(done) >= 20
