"""Scoped keys and the maintenance role through every compatibility API (issue #15 point 3).

One table, one row per vendor: how it authenticates, a create inside and one outside the
key's scope, the requests that change a window, and how the vendor says "forbidden". The same
rules as natively (services/scopes.py), each in the vendor's own error shape and status.
incident.io windows are label conditions (or every target), which are outside every
restricted scope: a scoped key can read them there but never write one.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from tests.compat.incidentio.test_incidentio_api import EXAMPLE as INCIDENTIO_EXAMPLE
from tests.compat.ionhour.test_ionhour_api import EXAMPLE as IONHOUR_EXAMPLE
from tests.compat.pagertree.test_pagertree_api import EXAMPLE as PAGERTREE_EXAMPLE
from tests.compat.uptrends.test_uptrends_api import DAILY as UPTRENDS_DAILY
from tests.conftest import Tenant

from quietly.core.records import Role
from quietly.storage.db import Database
from quietly.storage.tables import ApiKeyRow

Send = Callable[[httpx.Client, bool], httpx.Response]  # (client, inside the scope?)
Change = Callable[[httpx.Client, dict[str, Any]], httpx.Response]  # on a created window

IN_MONITOR = "6f0c2f2e-0000-4000-8000-000000000001"
OUT_MONITOR = "6f0c2f2e-0000-4000-8000-000000000002"


@dataclass(frozen=True)
class Vendor:
    name: str
    scope: list[str]
    basic: bool  # Uptrends: HTTP Basic with the key as password
    create: Send
    changes: list[Change]
    forbidden: Callable[[httpx.Response], bool]  # the vendor's own 403 body
    creates_inside: bool = True


def _pagertree(client: httpx.Client, inside: bool) -> httpx.Response:
    ids = ["int_abc1"] if inside else ["int_abc1", "int_zzz"]
    return client.post("/compat/pagertree/api/v4/maintenance_windows",
                       json={**PAGERTREE_EXAMPLE, "integration_ids": ids})


def _ionhour(client: httpx.Client, inside: bool) -> httpx.Response:
    workspace = client.get("/api/v1/workspace").json()["id"]
    return client.post("/compat/ionhour/api/maintenance-windows", json={
        **IONHOUR_EXAMPLE, "workspaceId": workspace, "projectIds": [1] if inside else [1, 3]})


def _incidentio(client: httpx.Client, inside: bool) -> httpx.Response:
    return client.post("/compat/incidentio/v1/maintenance_windows",
                       json=copy.deepcopy(INCIDENTIO_EXAMPLE))


def _uptrends(client: httpx.Client, inside: bool) -> httpx.Response:
    guid = IN_MONITOR if inside else OUT_MONITOR
    return client.post(f"/compat/uptrends/v4/Monitor/{guid}/MaintenancePeriod",
                       json=UPTRENDS_DAILY)


def _ohdear(client: httpx.Client, inside: bool) -> httpx.Response:
    return client.post("/compat/ohdear/api/maintenance-periods", json={
        "monitor_id": 101 if inside else 202, "name": "Deployment",
        "starts_at": "2038-02-12 14:30", "ends_at": "2038-02-12 15:00"})


def _ohdear_start(client: httpx.Client, inside: bool) -> httpx.Response:
    return client.post(f"/compat/ohdear/api/monitors/{101 if inside else 202}/"
                       "start-maintenance")


PT = "/compat/pagertree/api/v4/maintenance_windows"
IH = "/compat/ionhour/api/maintenance-windows"
IO = "/compat/incidentio/v1/maintenance_windows"
UP = "/compat/uptrends/v4/Monitor/" + OUT_MONITOR + "/MaintenancePeriod"
OD = "/compat/ohdear/api"


def _io_id(w: dict[str, Any]) -> Any:
    return w["maintenance_window"]["id"]


VENDORS = [
    Vendor("pagertree", ["integration:int_abc*"], False, _pagertree, [
        lambda c, w: c.put(f"{PT}/{w['id']}", json={"name": "mine now"}),
        lambda c, w: c.delete(f"{PT}/{w['id']}"),
    ], lambda r: r.json() == {"errors": [{"message": r.json()["errors"][0]["message"]}],
                              "code": 403}),
    Vendor("ionhour", ["project:1"], False, _ionhour, [
        lambda c, w: c.put(f"{IH}/{w['id']}", json={"name": "mine now"}),
        lambda c, w: c.post(f"{IH}/{w['id']}/cancel"),
        lambda c, w: c.delete(f"{IH}/{w['id']}"),
    ], lambda r: (r.json()["statusCode"], r.json()["error"]) == (403, "Forbidden")),
    Vendor("incidentio", ["service:*"], False, _incidentio, [
        lambda c, w: c.put(f"{IO}/{_io_id(w)}", json=copy.deepcopy(INCIDENTIO_EXAMPLE)),
        lambda c, w: c.delete(f"{IO}/{_io_id(w)}"),
    ], lambda r: (r.json()["type"], r.json()["status"], r.json()["errors"][0]["code"]) == (
        "authorization_error", 403, "insufficient_permissions"), creates_inside=False),
    Vendor("uptrends", [f"monitor:{IN_MONITOR}"], True, _uptrends, [
        lambda c, w: c.put(f"{UP}/{w['Id']}", json={**UPTRENDS_DAILY, "Id": w["Id"]}),
        lambda c, w: c.delete(f"{UP}/{w['Id']}"),
    ], lambda r: set(r.json()) == {"Messages"} and bool(r.json()["Messages"][0]["Message"])),
    Vendor("ohdear", ["monitor:101"], False, _ohdear, [
        lambda c, w: c.put(f"{OD}/maintenance-periods/{w['id']}", json={
            "name": "mine now", "starts_at": "2038-02-12 14:30", "ends_at": "2038-02-12 15:00"}),
        lambda c, w: c.delete(f"{OD}/maintenance-periods/{w['id']}"),
        lambda c, w: c.post(f"{OD}/monitors/202/stop-maintenance"),
    ], lambda r: r.json() == {"message": "This action is unauthorized."}),
]
IDS = [v.name for v in VENDORS]


@pytest.fixture
def clients(tenant: Tenant) -> Iterator[Callable[..., httpx.Client]]:
    made: list[httpx.Client] = []

    def make(vendor: Vendor, key: str) -> httpx.Client:
        if vendor.basic:
            client = httpx.Client(base_url=tenant.base_url, timeout=30,
                                  auth=httpx.BasicAuth("deploy", key))
        else:
            client = httpx.Client(base_url=tenant.base_url, timeout=30,
                                  headers={"Authorization": f"Bearer {key}"})
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _key(tenant: Tenant, scope: list[str], role: str = "editor") -> str:
    response = tenant.admin.post("/api/v1/keys", json={
        "name": f"deploy-{uuid.uuid4().hex[:8]}", "role": role, "scope": scope})
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_a_scoped_key_creates_inside_its_scope_only(
        tenant: Tenant, clients: Callable[..., httpx.Client], vendor: Vendor) -> None:
    deploy = clients(vendor, _key(tenant, vendor.scope))
    outside = vendor.create(deploy, False)
    inside = vendor.create(deploy, True)
    assert (outside.status_code, vendor.forbidden(outside), inside.status_code) == (
        403, True, 201 if vendor.creates_inside else 403), (outside.text, inside.text)


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_a_scoped_key_cannot_change_a_window_outside_its_scope(
        tenant: Tenant, clients: Callable[..., httpx.Client], vendor: Vendor) -> None:
    editor = clients(vendor, tenant.keys[Role.EDITOR])
    theirs = vendor.create(editor, False)
    assert theirs.status_code == 201, theirs.text
    deploy = clients(vendor, _key(tenant, vendor.scope))
    if vendor.name == "ohdear":  # stop-maintenance needs something running on monitor 202
        assert _ohdear_start(editor, False).status_code == 201
    refused = [change(deploy, theirs.json()) for change in vendor.changes]
    assert [(r.status_code, vendor.forbidden(r)) for r in refused] == (
        [(403, True)] * len(vendor.changes)), [r.text for r in refused]


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_the_maintenance_role_cannot_create(
        tenant: Tenant, clients: Callable[..., httpx.Client], vendor: Vendor) -> None:
    deploy = clients(vendor, tenant.keys[Role.MAINTENANCE])
    response = vendor.create(deploy, True)
    assert (response.status_code, vendor.forbidden(response)) == (403, True), response.text


def test_ohdear_start_and_stop_with_a_scoped_maintenance_key(
        tenant: Tenant, clients: Callable[..., httpx.Client]) -> None:
    vendor = next(v for v in VENDORS if v.name == "ohdear")
    deploy = clients(vendor, _key(tenant, ["monitor:101"], role="maintenance"))
    started = _ohdear_start(deploy, True)
    outside = _ohdear_start(deploy, False)
    stopped = deploy.post(f"{OD}/monitors/101/stop-maintenance")
    assert (started.status_code, outside.status_code, vendor.forbidden(outside),
            stopped.status_code) == (201, 403, True, 204)


def test_reads_are_not_limited(tenant: Tenant, clients: Callable[..., httpx.Client]) -> None:
    vendor = next(v for v in VENDORS if v.name == "incidentio")
    editor = clients(vendor, tenant.keys[Role.EDITOR])
    created = vendor.create(editor, True)
    deploy = clients(vendor, _key(tenant, ["service:pay-*"], role="maintenance"))
    listed = deploy.get(IO)
    assert (listed.status_code, [w["id"] for w in listed.json()["maintenance_windows"]]) == (
        200, [_io_id(created.json())])


READS = {
    "pagertree": PT,
    "ionhour": IH,
    "incidentio": IO,
    "uptrends": UP,
    "ohdear": f"{OD}/monitors/101/maintenance-periods",
}


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_an_expired_key_is_401_saying_it_expired(
        tenant: Tenant, db: Database, clients: Callable[..., httpx.Client],
        vendor: Vendor) -> None:
    response = tenant.admin.post("/api/v1/keys", json={
        "name": f"short-{vendor.name}", "role": "viewer",
        "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})
    with db.transaction() as session:  # an hour later
        row = session.get(ApiKeyRow, response.json()["id"])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    refused = clients(vendor, response.json()["key"]).get(READS[vendor.name])
    assert (refused.status_code, "expired at" in refused.text,
            "application/json" in refused.headers["content-type"]) == (401, True, True)
