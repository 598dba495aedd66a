"""Acceptance 3 against a real Alertmanager 0.25: drift repair, outages, crashes and
concurrent workers never leave a silence missing or duplicated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from quietly.storage.db import Database
from quietly.sync.reconciler import Tag
from tests.conftest import Tenant, make_tenant
from tests.sync.amserver import Alertmanager, eventually
from tests.sync.conftest import make_sync, make_window, sync_status, unique
from tests.sync.proxy import Proxy
from tests.worker.processes import Proc, start_serve, start_worker


@pytest.fixture
def own_am() -> Iterator[Alertmanager]:
    made = Alertmanager().start()
    yield made
    made.close()


def keys(am: Alertmanager, sync_id: int) -> Counter[str]:
    found: Counter[str] = Counter()
    for silence in am.live(sync_id):
        tag = Tag.find(silence["comment"])
        assert tag is not None
        found[tag.key] += 1
    return found


@pytest.mark.usefixtures("sync_worker")
def test_restarted_with_empty_storage_gets_its_silences_back(tenant: Tenant,
                                                             own_am: Alertmanager) -> None:
    sync = make_sync(tenant, own_am, interval="1s")
    for _ in range(3):
        make_window(tenant, targets=[f"service:{unique()}"])
    eventually(lambda: len(own_am.live(sync["id"])) == 3, what="three silences")
    own_am.stop(wipe=True)
    own_am.start()
    eventually(lambda: len(own_am.live(sync["id"])) == 3, what="silences restored")
    found = eventually(lambda: (s := sync_status(tenant, sync["id"]))["repairs_total"] == 3 and s,
                       what="repairs shown")
    assert isinstance(found, dict)
    assert [r["what"] for r in found["repairs"]][:1] == [
        "missing (expired by hand or lost by a restart); recreated"]


@pytest.mark.usefixtures("sync_worker")
def test_silence_expired_by_hand_is_recreated(tenant: Tenant, am: Alertmanager) -> None:
    sync = make_sync(tenant, am, interval="1s")
    make_window(tenant, targets=[f"service:{unique()}"])
    first = eventually(lambda: am.live(sync["id"]), what="silence")
    am.expire(first[0]["id"])
    again = eventually(lambda: [s for s in am.live(sync["id"]) if s["id"] != first[0]["id"]],
                       what="recreated")
    assert len(again) == 1
    eventually(lambda: sync_status(tenant, sync["id"])["repairs_total"] == 1, what="repair counted")


@pytest.mark.usefixtures("sync_worker")
def test_alertmanager_down_counts_errors_then_converges(tenant: Tenant, am: Alertmanager,
                                                        own_am: Alertmanager) -> None:
    own_am.stop()
    down = make_sync(tenant, own_am, interval="1s")
    healthy = make_sync(tenant, am)
    target = unique("svc")
    make_window(tenant, targets=[f"service:{target}"])
    eventually(lambda: am.live(healthy["id"]), what="the other sync unaffected")
    eventually(lambda: int(sync_status(tenant, down["id"])["errors_total"]) >= 2,
               what="errors counted")
    assert "unreachable" in str(sync_status(tenant, down["id"])["last_error"])
    decision = tenant.viewer.get("/api/v1/decide", params={"target": f"service:{target}"})
    assert decision.json()["verdict"] == "mute"
    own_am.start()
    eventually(lambda: len(own_am.live(down["id"])) == 1, what="converged")
    eventually(lambda: sync_status(tenant, down["id"])["healthy"], what="healthy again")


@pytest.mark.usefixtures("sync_worker")
def test_5xx_is_retried_then_converges(tenant: Tenant, am: Alertmanager) -> None:
    proxy = Proxy(am.url)
    try:
        proxy.failing = True
        sync = make_sync(tenant, am, url=proxy.url, interval="1s")
        make_window(tenant, targets=[f"service:{unique()}"])
        eventually(lambda: "503" in str(sync_status(tenant, sync["id"])["last_error"]),
                   what="5xx recorded")
        proxy.failing = False
        eventually(lambda: len(am.live(sync["id"])) == 1, what="converged")
    finally:
        proxy.close()


@pytest.mark.usefixtures("sync_worker")
@pytest.mark.parametrize("parallelism", [1, 4])
def test_parallelism_bounds_the_requests_in_flight(tenant: Tenant, am: Alertmanager,
                                                    parallelism: int) -> None:
    proxy = Proxy(am.url, delay=0.05)
    try:
        _many_windows(tenant, 24)
        sync = make_sync(tenant, am, url=proxy.url, parallelism=parallelism)
        assert sync["parallelism"] == parallelism
        eventually(lambda: len(am.live(sync["id"])) >= 24, timeout=60, what="converged")
        found = keys(am, sync["id"])
        assert (len(found), max(found.values()), proxy.max_in_flight) == (24, 1, parallelism)
    finally:
        proxy.close()


def _many_windows(tenant: Tenant, count: int) -> None:
    for _ in range(count):
        make_window(tenant, targets=[f"service:{unique()}"])


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("sync_env")
def test_serve_killed_mid_sync_leaves_no_duplicate(database_url: str, db: Database,
                                                   am: Alertmanager, tmp_path: Path,
                                                   procs: list[Proc], server: str) -> None:
    tenant = make_tenant(db, server)
    # Eight requests at once (the default), each held 0.2 s: ~40 a second, so the kill lands
    # mid-sync with requests in flight.
    proxy = Proxy(am.url, delay=0.2)
    try:
        _many_windows(tenant, 150)
        proc, _base = start_serve(database_url, tmp_path, tmp_path / "s1.log", worker=True)
        procs.append(proc)
        sync = make_sync(tenant, am, url=proxy.url)
        eventually(lambda: len(am.live(sync["id"])) >= 20, what="sync under way")
        proc.kill()
        assert len(am.live(sync["id"])) < 150, "the sync finished before the kill"
        proc2, _ = start_serve(database_url, tmp_path, tmp_path / "s2.log", worker=True)
        procs.append(proc2)
        eventually(lambda: len(am.live(sync["id"])) >= 150, timeout=90, what="converged")
        found = keys(am, sync["id"])
        assert (len(found), max(found.values())) == (150, 1)
    finally:
        proxy.close()
        tenant.close()


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("sync_env")
def test_two_workers_make_no_duplicate(database_url: str, db: Database, am: Alertmanager,
                                       tmp_path: Path, procs: list[Proc],
                                       server: str) -> None:
    tenant = make_tenant(db, server)
    proxy = Proxy(am.url, delay=0.005)
    try:
        _many_windows(tenant, 60)
        procs += [start_worker(database_url, tmp_path, tmp_path / f"w{i}.log")
                  for i in range(2)]
        sync = make_sync(tenant, am, url=proxy.url, interval="1s")
        eventually(lambda: len(am.live(sync["id"])) >= 60, timeout=90, what="converged")
        for _ in range(3):  # further runs by either worker change nothing
            before = proxy.requests
            eventually(lambda b=before: proxy.requests > b + 1, what="more runs")  # type: ignore[misc]
        found = keys(am, sync["id"])
        assert (len(found), max(found.values()),
                [p.popen.poll() for p in procs]) == (60, 1, [None, None])
    finally:
        proxy.close()
        tenant.close()



def _metric(base_url: str, name: str, workspace: str, sync: str) -> float | None:
    import httpx2 as httpx

    wanted = f'{name}{{sync="{sync}",workspace="{workspace}"}} '
    for line in httpx.get(base_url + "/metrics").text.splitlines():
        if line.startswith(wanted):
            return float(line.split()[-1])
    return None


@pytest.mark.usefixtures("sync_worker")
def test_metrics_per_sync(tenant: Tenant, am: Alertmanager, own_am: Alertmanager) -> None:
    good = make_sync(tenant, am)
    own_am.stop()
    bad = make_sync(tenant, own_am)
    make_window(tenant, targets=[f"service:{unique()}"])
    eventually(lambda: _metric(tenant.base_url, "quietly_sync_objects", tenant.slug,
                               good["name"]) == 1, what="objects")
    eventually(lambda: (_metric(tenant.base_url, "quietly_sync_errors_total", tenant.slug,
                                bad["name"]) or 0) >= 1, what="errors")
    assert [_metric(tenant.base_url, "quietly_sync_last_success_timestamp_seconds",
                    tenant.slug, s["name"]) is not None for s in (good, bad)] == [True, False]
    assert _metric(tenant.base_url, "quietly_sync_drift_repairs_total", tenant.slug,
                   good["name"]) == 0
