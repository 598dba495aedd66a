"""Schemathesis over every operation of every surface: the native API and the five
compatibility APIs, each with its own authentication, DELETEs included.

One run (``tests.api.fuzz``) per session, all phases and all checks; each surface is then one
test here, so a failure says which API disagrees with its document. The run's figures
(operations, examples, seconds, seed) are printed; ``QUIETLY_FUZZ_EXAMPLES`` runs deeper.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.storage.db import Database
from tests.api.fuzz import (
    EXAMPLE_CONFIG,
    SURFACES,
    FuzzRun,
    config_text,
    default_examples,
    run_schemathesis,
    surface_of,
)
from tests.conftest import Tenant, make_tenant

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _id_of(answer: httpx.Response) -> int | str:
    """The id in a create's answer, whatever the API's envelope."""
    def find(node: Any) -> Any:
        if isinstance(node, dict):
            for key in ("id", "Id"):
                if isinstance(node.get(key), int | str):
                    return node[key]
            return next((found for v in node.values() if (found := find(v)) is not None), None)
        return None
    found = find(answer.json())
    assert found is not None, answer.text
    return found  # type: ignore[no-any-return]


ONCE = {"kind": "once", "start": "2031-01-01T00:00:00Z", "end": "2031-01-01T01:00:00Z"}
MONITOR = "00000000-0000-0000-0000-000000000001"


def _seed(tenant: Tenant) -> dict[str, list[int | str]]:
    """Objects for the operations that read, change or delete one, in every API: their ids
    by path parameter name, for the run to use half the time (several of each, as the run
    deletes some early)."""
    admin = tenant.admin
    basic = base64.b64encode(f"seed:{tenant.keys[Role.ADMIN]}".encode()).decode()
    uptrends = httpx.Client(base_url=f"{tenant.base_url}/compat/uptrends/v4",
                            headers={"Authorization": f"Basic {basic}"})
    known: dict[str, list[int | str]] = {
        "window_id": [], "period_id": [], "recurring_id": [], "maintenancePeriodId": [],
        "channel_id": [], "route_id": [], "sync_id": [], "name": ["web"],
        "monitor_id": [1], "monitorGuid": [MONITOR],
        "key_id": [k["id"] for k in admin.get("/api/v1/keys").json()["keys"]]}
    admin.post("/api/v1/groups", json={"name": "web", "targets": ["host:a", "monitor:a"]})
    with uptrends:
        for n in range(3):
            known["window_id"] += [_id_of(admin.post("/api/v1/windows", json={
                "name": f"seed {n}", "targets": ["service:checkout"], "schedule": ONCE})),
                _id_of(admin.post("/compat/pagertree/api/v4/maintenance_windows", json={
                    "name": f"seed {n}", "start_datetime": "2031-01-01T00:00:00",
                    "end_datetime": "2031-01-01T01:00:00", "time_zone": "UTC",
                    "integration_ids": ["a"]})),
                _id_of(admin.post("/compat/ionhour/api/maintenance-windows", json={
                    "workspaceId": tenant.id, "name": f"seed {n}",
                    "startAt": "2031-01-01T00:00:00Z", "endAt": "2031-01-01T01:00:00Z",
                    "projectIds": [1]}))]
            known["period_id"].append(_id_of(admin.post(
                "/compat/ohdear/api/maintenance-periods", json={
                    "monitor_id": 1, "name": f"seed {n}", "starts_at": "2031-01-01 00:00",
                    "ends_at": "2031-01-01 01:00"})))
            known["recurring_id"].append(_id_of(admin.post(
                "/compat/ohdear/api/recurring-maintenance-periods", json={
                    "monitor_id": 1, "name": f"seed {n}", "recurrence_type": "weekly",
                    "days_of_week": [0], "start_time": "02:00", "end_time": "03:00"})))
            known["maintenancePeriodId"].append(_id_of(uptrends.post(
                f"/Monitor/{MONITOR}/MaintenancePeriod", json={
                    "ScheduleMode": "OneTime", "StartDateTime": "2031-01-01T00:00:00",
                    "EndDateTime": "2031-01-01T01:00:00",
                    "MaintenanceType": "DisableMonitoring"})))
            channel = _id_of(admin.post("/api/v1/channels", json={
                "name": f"hook {n}", "type": "webhook", "url": "http://127.0.0.1:9/hook"}))
            known["channel_id"].append(channel)
            known["route_id"].append(_id_of(admin.post("/api/v1/routes", json={
                "name": f"route {n}", "channel": channel, "targets": ["service:checkout"]})))
            known["sync_id"].append(_id_of(admin.post("/api/v1/syncs", json={
                "name": f"am {n}", "url": "http://127.0.0.1:9"})))
    return known


@pytest.fixture(scope="module")
def fuzz_tenant(db: Database, server: str) -> Iterator[Tenant]:
    made = make_tenant(db, server, timezone="UTC")
    yield made
    made.close()


@pytest.fixture(scope="module")
def fuzz_run(fuzz_tenant: Tenant, database_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> FuzzRun:
    run = run_schemathesis(fuzz_tenant.base_url, fuzz_tenant.keys[Role.ADMIN],
                           Path(tmp_path_factory.mktemp("schemathesis")),
                           examples=default_examples(database_url), known=_seed(fuzz_tenant))
    per_surface = {s: len(run.tested(s)) for s in SURFACES}
    print(f"\nschemathesis: {sum(per_surface.values())} operations {per_surface}, "
          f"{run.examples} examples, seed {run.seed or 'none (deterministic)'}, "
          f"{run.seconds:.0f} s")
    return run


def test_the_document_has_exactly_the_known_surfaces(server: str) -> None:
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    assert sorted({surface_of(p) for p in paths}) == sorted(SURFACES)


def test_every_operation_of_the_document_was_fuzzed(fuzz_run: FuzzRun, server: str) -> None:
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    operations = {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}
    assert sorted(operations - set(fuzz_run.operations)) == []


@pytest.mark.parametrize("surface", SURFACES)
def test_schemathesis_finds_nothing(fuzz_run: FuzzRun, surface: str) -> None:
    failures = fuzz_run.failures(surface)
    assert fuzz_run.tested(surface), f"no operation of {surface} was fuzzed"
    assert failures == {}, fuzz_run.output


def test_the_run_as_a_whole_passed(fuzz_run: FuzzRun) -> None:
    """Also what the JUnit report cannot tie to one operation (the stateful phase)."""
    assert fuzz_run.returncode == 0, fuzz_run.output


def test_the_example_configuration_is_the_suites() -> None:
    """README's command for a run by hand uses the suite's settings (the key from the
    environment); regenerate the file with ``config_text`` when they change."""
    assert EXAMPLE_CONFIG.read_text() == config_text("${QUIETLY_API_KEY}", 40, None)


def test_the_key_survived_the_run(fuzz_run: FuzzRun, fuzz_tenant: Tenant) -> None:
    """DELETE /api/v1/keys/{id} was fuzzed too; the key under test cannot revoke itself."""
    assert fuzz_tenant.admin.get("/api/v1/keys").status_code == 200
