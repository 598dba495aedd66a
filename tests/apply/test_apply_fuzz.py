"""Schemathesis over ``POST /api/v1/apply``: no 5xx, every answer in the OpenAPI schema."""

from __future__ import annotations

from quietly.core.records import Role
from tests.api.fuzz import fuzz
from tests.conftest import Tenant


def test_apply_never_fails_with_a_server_error(tenant: Tenant) -> None:
    done = fuzz(tenant.base_url, r"^/api/v1/apply$",
                {"Authorization": f"Bearer {tenant.keys[Role.EDITOR]}"}, max_examples=40)
    assert done == ["POST /api/v1/apply"]
