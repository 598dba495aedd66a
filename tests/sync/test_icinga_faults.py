"""Crashes and concurrent workers against Debian's real Icinga 2 (2.13): a ``quietly serve``
SIGKILLed mid-sync, and two ``quietly worker`` processes on one database, never leave a host
with two downtimes of one occurrence (``schedule-downtime`` twice makes two: the reconciler
lists before it creates, and removes extras by name). Counterparts of
``test_alertmanager_faults``; the proxy slows every request so the kill lands mid-sync."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quietly.storage.db import Database
from quietly.sync.reconciler import Tag
from tests.conftest import Tenant, make_tenant
from tests.sync.amserver import eventually
from tests.sync.conftest import make_icinga_sync, make_window, sync_status
from tests.sync.icinga_harness import BINARY, Icinga
from tests.sync.proxy import Proxy
from tests.worker.processes import Proc, start_serve, start_worker

pytestmark = [pytest.mark.timeout(240), pytest.mark.usefixtures("sync_env")]
HOSTS = 150


@pytest.fixture
def crowd() -> Iterator[Icinga]:
    """Its own daemon with ``HOSTS`` hosts (no services)."""
    if BINARY is None:
        pytest.skip("icinga2 (Debian package) is not installed")
    with Icinga({f"h{i:03}": [] for i in range(HOSTS)}) as daemon:
        yield daemon


def keys(icinga: Icinga, sync_id: int) -> Counter[str]:
    """Tag key → how many live downtimes of this sync carry it (children left out)."""
    found: Counter[str] = Counter()
    for downtime in icinga.downtimes():
        tag = Tag.find(str(downtime["comment"]))
        if tag is not None and tag.sync_id == sync_id and not downtime["parent"]:
            found[tag.key] += 1
    return found


def _proxy(icinga: Icinga, delay: float) -> Proxy:
    return Proxy(icinga.url, delay=delay, tls=(icinga.cert_file, icinga.key_file),
                 ca_file=icinga.ca_file)


def _windows(tenant: Tenant, count: int) -> None:
    for i in range(count):
        make_window(tenant, targets=[f"host:h{i:03}"])


def _settled(tenant: Tenant, sync: dict[str, Any], icinga: Icinga, count: int
             ) -> Counter[str]:
    """The downtimes once a run has finished holding ``count`` objects."""
    eventually(lambda: sync_status(tenant, sync["id"])["objects"] == count
               and not sync_status(tenant, sync["id"])["running"], timeout=120,
               what=f"a finished run holding {count}")
    return keys(icinga, sync["id"])


def test_serve_killed_mid_sync_leaves_no_duplicate_downtime(
        database_url: str, db: Database, crowd: Icinga, tmp_path: Path, procs: list[Proc],
        server: str) -> None:
    tenant = make_tenant(db, server)
    proxy = _proxy(crowd, delay=0.2)  # 8 at a time: ~40 downtimes a second
    try:
        _windows(tenant, HOSTS)
        proc, _base = start_serve(database_url, tmp_path, tmp_path / "s1.log", worker=True)
        procs.append(proc)
        sync = make_icinga_sync(tenant, crowd, url=proxy.url)
        eventually(lambda: sum(keys(crowd, sync["id"]).values()) >= 20, timeout=60,
                   what="sync under way")
        proc.kill()
        at_kill = sum(keys(crowd, sync["id"]).values())
        proc2, _ = start_serve(database_url, tmp_path, tmp_path / "s2.log", worker=True)
        procs.append(proc2)
        found = _settled(tenant, sync, crowd, HOSTS)
        assert (at_kill < HOSTS, len(found), max(found.values())) == (True, HOSTS, 1)
    finally:
        proxy.close()
        tenant.close()


def test_two_workers_make_no_duplicate_downtime(database_url: str, db: Database,
                                                crowd: Icinga, tmp_path: Path,
                                                procs: list[Proc], server: str) -> None:
    tenant = make_tenant(db, server)
    proxy = _proxy(crowd, delay=0.005)
    try:
        _windows(tenant, 60)
        procs += [start_worker(database_url, tmp_path, tmp_path / f"w{i}.log")
                  for i in range(2)]
        sync = make_icinga_sync(tenant, crowd, url=proxy.url, interval="1s")
        first = _settled(tenant, sync, crowd, 60)
        for _ in range(3):  # further runs by either worker change nothing
            before = proxy.requests
            eventually(lambda b=before: proxy.requests > b + 1, what="more runs")  # type: ignore[misc]
        found = keys(crowd, sync["id"])
        assert (len(first), max(first.values()), found == first,
                [p.popen.poll() for p in procs]) == (60, 1, True, [None, None])
    finally:
        proxy.close()
        tenant.close()
