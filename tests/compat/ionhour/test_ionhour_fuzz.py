"""Schemathesis over the Ionhour compatibility API: no 5xx, every answer (errors included) as
its OpenAPI under the "compat: Ionhour" tag declares.

Generated ``workspaceId`` values are pointed at the key's own workspace, so that creates, lists
and updates get past the workspace check and exercise the rest of the API.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from tests.api.fuzz import CHECKS
from tests.conftest import Tenant

from quietly.core.records import Role


def _aim(case: schemathesis.Case, workspace_id: int) -> None:
    if isinstance(case.body, dict) and isinstance(case.body.get("workspaceId"), int):
        case.body["workspaceId"] = workspace_id
    if case.query and "workspaceId" in case.query:
        case.query["workspaceId"] = workspace_id


def test_ionhour_api_never_fails(tenant: Tenant) -> None:
    tenant.editor.post("/compat/ionhour/api/maintenance-windows", json={
        "workspaceId": tenant.id, "name": "seed", "startAt": "2030-01-01T00:00:00Z",
        "endAt": "2030-01-01T01:00:00Z", "projectIds": [1]})
    headers = {"Authorization": f"Bearer {tenant.keys[Role.EDITOR]}"}
    schema = schemathesis.openapi.from_url(f"{tenant.base_url}/openapi.json").include(
        path_regex=r"^/compat/ionhour/")
    done = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            _aim(case, tenant.id)
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
        done.append(operation.label)
    assert len(done) == 6


def test_openapi_lists_every_operation_under_the_vendor_tag(server: str) -> None:
    import httpx2 as httpx

    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    tags = [op["tags"] for path, ops in paths.items() if path.startswith("/compat/ionhour/")
            for op in ops.values()]
    assert tags == [["compat: Ionhour"]] * 6
