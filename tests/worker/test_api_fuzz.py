"""Schemathesis over channels, routes, deliveries, /metrics and /readyz: no 5xx, no response
that breaks the schema."""

from __future__ import annotations

import pytest

from quietly.core.records import Role
from tests.api.fuzz import fuzz
from tests.conftest import Tenant


@pytest.mark.slow
def test_channel_route_and_delivery_endpoints_never_fail(tenant: Tenant) -> None:
    done = fuzz(tenant.base_url, r"^/(api/v1/(channels|routes|deliveries)|metrics|readyz)",
                {"Authorization": f"Bearer {tenant.keys[Role.ADMIN]}"}, max_examples=25)
    assert len(done) >= 12
