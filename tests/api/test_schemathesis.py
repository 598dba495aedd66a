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


def _seed(tenant: Tenant) -> None:
    """Objects for the operations that read, change or delete one, in every API."""
    admin = tenant.admin
    admin.post("/api/v1/groups", json={"name": "web", "targets": ["host:a", "monitor:a"]})
    admin.post("/api/v1/windows", json={
        "name": "seed", "targets": ["service:checkout"],
        "schedule": {"kind": "once", "start": "2031-01-01T00:00:00Z",
                     "end": "2031-01-01T01:00:00Z"}})
    admin.post("/compat/pagertree/api/v4/maintenance_windows", json={
        "name": "seed", "start_datetime": "2031-01-01T00:00:00", "end_datetime":
        "2031-01-01T01:00:00", "time_zone": "UTC", "integration_ids": ["a"]})
    admin.post("/compat/ionhour/api/maintenance-windows", json={
        "workspaceId": tenant.id, "name": "seed", "startAt": "2031-01-01T00:00:00Z",
        "endAt": "2031-01-01T01:00:00Z", "projectIds": [1]})
    admin.post("/compat/ohdear/api/maintenance-periods", json={
        "monitor_id": 1, "name": "seed", "starts_at": "2031-01-01 00:00",
        "ends_at": "2031-01-01 01:00"})
    basic = base64.b64encode(f"seed:{tenant.keys[Role.ADMIN]}".encode()).decode()
    httpx.post(f"{tenant.base_url}/compat/uptrends/v4/Monitor/"
               "00000000-0000-0000-0000-000000000001/MaintenancePeriod",
               headers={"Authorization": f"Basic {basic}"}, json={
                   "ScheduleMode": "OneTime", "StartDateTime": "2031-01-01T00:00:00",
                   "EndDateTime": "2031-01-01T01:00:00", "MaintenanceType": "DisableMonitoring"})


@pytest.fixture(scope="module")
def fuzz_tenant(db: Database, server: str) -> Iterator[Tenant]:
    made = make_tenant(db, server, timezone="UTC")
    yield made
    made.close()


@pytest.fixture(scope="module")
def fuzz_run(fuzz_tenant: Tenant, database_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> FuzzRun:
    _seed(fuzz_tenant)
    run = run_schemathesis(fuzz_tenant.base_url, fuzz_tenant.keys[Role.ADMIN],
                           Path(tmp_path_factory.mktemp("schemathesis")),
                           examples=default_examples(database_url))
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
