"""Roles and tenant isolation, for every native endpoint.

Each endpoint is listed once with the least role it needs. For each we check: no key → 401, a
key one role too weak → 403, the needed role → not 401/403, and another workspace's object
→ 404 (never 403, never its data).
"""

from __future__ import annotations

from typing import Any

import pytest

from quietly.core.records import Role
from tests.api.helpers import active_body, window_body
from tests.conftest import Tenant

# (method, path template, body, least role). {id} is a window of the tenant, {group} a group.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, Role]] = [
    ("GET", "/api/v1/windows", None, Role.VIEWER),
    ("POST", "/api/v1/windows", window_body(), Role.EDITOR),
    ("GET", "/api/v1/windows/{id}", None, Role.VIEWER),
    ("PATCH", "/api/v1/windows/{id}", {"description": "x"}, Role.EDITOR),
    ("GET", "/api/v1/windows/{id}/occurrences", None, Role.VIEWER),
    ("POST", "/api/v1/windows/{id}/cancel", None, Role.EDITOR),
    ("DELETE", "/api/v1/windows/{id}", None, Role.EDITOR),
    ("POST", "/api/v1/maintenance/start", {"targets": ["service:a"], "duration": "PT5M"},
     Role.MAINTENANCE),
    ("POST", "/api/v1/maintenance/stop", {"targets": ["service:a"]}, Role.MAINTENANCE),
    ("GET", "/api/v1/decide?target=service:a", None, Role.VIEWER),
    ("POST", "/api/v1/decide", {"alerts": [{"targets": ["service:a"]}]}, Role.VIEWER),
    ("GET", "/api/v1/groups", None, Role.VIEWER),
    ("POST", "/api/v1/groups", {"name": "fresh", "targets": ["host:a"]}, Role.EDITOR),
    ("GET", "/api/v1/groups/{group}", None, Role.VIEWER),
    ("PUT", "/api/v1/groups/{group}", {"targets": ["host:b"]}, Role.EDITOR),
    ("DELETE", "/api/v1/groups/{group}", None, Role.EDITOR),
    ("GET", "/api/v1/keys", None, Role.ADMIN),
    ("POST", "/api/v1/keys", {"name": "k", "role": "viewer"}, Role.ADMIN),
    ("DELETE", "/api/v1/keys/{key}", None, Role.ADMIN),
    ("GET", "/api/v1/workspace", None, Role.VIEWER),
    ("PATCH", "/api/v1/workspace", {"name": "renamed"}, Role.ADMIN),
    ("GET", "/api/v1/audit", None, Role.VIEWER),
]
# The role just below: a maintenance key may start and stop, never create, edit or delete.
WEAKER = {Role.MAINTENANCE: Role.VIEWER, Role.EDITOR: Role.MAINTENANCE, Role.ADMIN: Role.EDITOR}


def _objects(tenant: Tenant) -> dict[str, str]:
    window = tenant.editor.post("/api/v1/windows", json=window_body()).json()
    tenant.editor.post("/api/v1/groups", json={"name": "web", "targets": ["host:web1"]})
    key = tenant.admin.post("/api/v1/keys", json={"name": "spare", "role": "viewer"}).json()
    return {"id": str(window["id"]), "group": "web", "key": str(key["id"])}


def _ids(endpoints: list[tuple[str, str, Any, Role]]) -> list[str]:
    return [f"{m} {p}" for m, p, _, _ in endpoints]


@pytest.mark.parametrize(("method", "path", "body", "role"), ENDPOINTS, ids=_ids(ENDPOINTS))
def test_no_key_is_401(tenant: Tenant, method: str, path: str, body: Any, role: Role) -> None:
    url = path.format(**_objects(tenant))
    client = tenant.viewer
    response = client.request(method, url, json=body, headers={"Authorization": ""})
    bad_key = client.request(method, url, json=body, headers={"Authorization": "Bearer nope"})
    assert (response.status_code, bad_key.status_code,
            response.headers["content-type"]) == (401, 401, "application/problem+json")


@pytest.mark.parametrize(("method", "path", "body", "role"), ENDPOINTS, ids=_ids(ENDPOINTS))
def test_roles(tenant: Tenant, method: str, path: str, body: Any, role: Role) -> None:
    url = path.format(**_objects(tenant))
    weaker = WEAKER.get(role)
    if weaker is not None:
        assert tenant.client(weaker).request(method, url, json=body).status_code == 403
    allowed = tenant.client(role).request(method, url, json=body)
    assert allowed.status_code < 400, allowed.text


# PUT /groups/{name} creates the group when the caller's workspace lacks it (tested below).
OWNED = [e for e in ENDPOINTS if "{" in e[1] and e[0:2] != ("PUT", "/api/v1/groups/{group}")]


@pytest.mark.parametrize(("method", "path", "body", "role"), OWNED, ids=_ids(OWNED))
def test_other_workspaces_objects_are_404(tenant: Tenant, other_tenant: Tenant, method: str,
                                          path: str, body: Any, role: Role) -> None:
    theirs = _objects(other_tenant)
    _objects(tenant)
    if "{group}" in path:
        theirs["group"] = "only-theirs"
        other_tenant.editor.post("/api/v1/groups", json={"name": "only-theirs"})
    response = tenant.admin.request(method, path.format(**theirs), json=body)
    untouched = other_tenant.viewer.get(f"/api/v1/windows/{theirs['id']}")
    assert (response.status_code, untouched.status_code) == (404, 200)


def test_listings_never_show_another_workspace(tenant: Tenant, other_tenant: Tenant) -> None:
    other_tenant.editor.post("/api/v1/windows", json=active_body(targets=["service:shared"]))
    other_tenant.editor.post("/api/v1/groups", json={"name": "theirs"})
    mine = tenant.viewer.get("/api/v1/windows").json()["windows"]
    groups = tenant.viewer.get("/api/v1/groups").json()["groups"]
    audit = tenant.viewer.get("/api/v1/audit").json()["entries"]
    verdict = tenant.viewer.get("/api/v1/decide?target=service:shared").json()["verdict"]
    assert (mine, groups, audit, verdict) == ([], [], [], "deliver")


def test_revoked_key_stops_working(tenant: Tenant) -> None:
    created = tenant.admin.post("/api/v1/keys", json={"name": "temp", "role": "viewer"}).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    before = tenant.admin.get("/api/v1/workspace", headers=headers).status_code
    tenant.admin.delete(f"/api/v1/keys/{created['id']}")
    after = tenant.admin.get("/api/v1/workspace", headers=headers).status_code
    listed = next(k for k in tenant.admin.get("/api/v1/keys").json()["keys"]
              if k["id"] == created["id"])
    assert (before, after, listed["revoked_at"] is not None, "key" in listed) == (
        200, 401, True, False)


def test_put_group_of_same_name_creates_our_own(tenant: Tenant, other_tenant: Tenant) -> None:
    other_tenant.editor.post("/api/v1/groups", json={"name": "db", "targets": ["host:theirs"]})
    created = tenant.editor.put("/api/v1/groups/db", json={"targets": ["host:mine"]})
    theirs = other_tenant.viewer.get("/api/v1/groups/db").json()
    assert (created.status_code, created.json()["targets"], theirs["targets"]) == (
        201, ["host:mine"], ["host:theirs"])


@pytest.mark.parametrize("path", ["/api/v1/windows/9223372036854775808",
                                  "/api/v1/keys/2147483648"])
def test_ids_beyond_their_column_are_404(tenant: Tenant, path: str) -> None:
    # The same in every API (tests/api/test_path_ids.py): no such object, not an overflow.
    method = "DELETE" if "keys" in path else "GET"
    assert tenant.admin.request(method, path).status_code == 404
