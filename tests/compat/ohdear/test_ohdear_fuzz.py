"""Schemathesis over the Oh Dear compatibility API: no 5xx, every answer as declared."""

from __future__ import annotations

from tests.api.fuzz import fuzz
from tests.conftest import Tenant

from quietly.core.records import Role


def test_ohdear_api_never_fails(tenant: Tenant) -> None:
    done = fuzz(tenant.base_url, r"^/compat/ohdear/",
                {"Authorization": f"Bearer {tenant.keys[Role.EDITOR]}"}, max_examples=20)
    assert len(done) == 11
