"""Schemathesis over the incident.io compatibility API: no 5xx, every answer (errors included)
as its OpenAPI under the "compat: incident.io" tag declares."""

from __future__ import annotations

from tests.api.fuzz import fuzz
from tests.compat.incidentio.test_incidentio_api import EXAMPLE
from tests.conftest import Tenant

from quietly.core.records import Role


def test_incidentio_api_never_fails(tenant: Tenant) -> None:
    tenant.editor.post("/compat/incidentio/v1/maintenance_windows", json=EXAMPLE)
    done = fuzz(tenant.base_url, r"^/compat/incidentio/",
                {"Authorization": f"Bearer {tenant.keys[Role.EDITOR]}"}, max_examples=25)
    assert len(done) == 5


def test_openapi_lists_every_operation_under_the_vendor_tag(server: str) -> None:
    import httpx2 as httpx

    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    tags = [op["tags"] for path, ops in paths.items() if path.startswith("/compat/incidentio/")
            for op in ops.values()]
    assert tags == [["compat: incident.io"]] * 5
