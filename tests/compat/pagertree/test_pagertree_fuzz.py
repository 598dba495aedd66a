"""Schemathesis over the PagerTree compatibility API: no 5xx, every answer (errors included)
as its OpenAPI under the "compat: PagerTree" tag declares."""

from __future__ import annotations

from tests.api.fuzz import fuzz
from tests.conftest import Tenant

from quietly.core.records import Role


def test_pagertree_api_never_fails(tenant: Tenant) -> None:
    tenant.editor.post("/compat/pagertree/api/v4/maintenance_windows", json={
        "name": "seed", "start_datetime": "2030-01-01T00:00:00", "end_datetime":
        "2030-01-01T01:00:00", "time_zone": "UTC", "integration_ids": ["a"]})
    done = fuzz(tenant.base_url, r"^/compat/pagertree/",
                {"Authorization": f"Bearer {tenant.keys[Role.EDITOR]}"}, max_examples=25)
    assert len(done) == 5


def test_openapi_lists_every_operation_under_the_vendor_tag(server: str) -> None:
    import httpx2 as httpx

    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    tags = [op["tags"] for path, ops in paths.items() if path.startswith("/compat/pagertree/")
            for op in ops.values()]
    assert tags == [["compat: PagerTree"]] * 5
