"""Icinga 2 HA zones: a real two-node zone (one CA, one zone with two endpoints, config
sync; ``tests.sync.icinga_harness.IcingaPair``).

A sync lists the zone's endpoints (``url`` and ``endpoints``): when the first cannot be
reached the next one serves the run, the status says which endpoint answered and which did
not, and the downtime made through the second node reaches the first once it is back (Icinga
replays it). Several downtimes carrying one tag in the zone — what Icinga's own tracker
reports for HA pairs — are removed down to one, by name, and reported as a repair.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from quietly.sync.reconciler import Tag
from tests.conftest import Tenant
from tests.sync.amserver import eventually
from tests.sync.conftest import make_icinga_sync, make_window, sync_status
from tests.sync.icinga_harness import BINARY, Icinga, IcingaPair

pytestmark = [pytest.mark.timeout(180), pytest.mark.usefixtures("sync_worker")]
HOSTS = {"web1": ["http"], "db1": ["pg"]}


@pytest.fixture
def zone() -> Iterator[IcingaPair]:
    if BINARY is None:
        pytest.skip("icinga2 (Debian package) is not installed")
    with IcingaPair(HOSTS) as pair:
        yield pair


def keys(node: Icinga, sync_id: int) -> Counter[str]:
    """Tag key → live downtimes of this sync on one node (children left out)."""
    found: Counter[str] = Counter()
    for downtime in node.downtimes():
        tag = Tag.find(str(downtime["comment"]))
        if tag is not None and tag.sync_id == sync_id and not downtime["parent"]:
            found[tag.key] += 1
    return found


def _depths(node: Icinga) -> tuple[int, int]:
    return node.depth("web1"), node.depth("web1", "http")


def test_the_next_endpoint_serves_when_the_first_is_down(tenant: Tenant,
                                                        zone: IcingaPair) -> None:
    sync = make_icinga_sync(tenant, zone, endpoints=[zone.second.url], interval="1s")
    zone.first.stop()
    zone.second.stop()
    make_window(tenant, targets=["host:web1"])
    failing = eventually(lambda: sync_status(tenant, sync["id"])["errors_total"] >= 1
                         and sync_status(tenant, sync["id"])["last_error"], what="errors")
    zone.second.start()
    eventually(lambda: _depths(zone.second) == (1, 1), what="downtime through node 2")
    via_second = eventually(lambda: (s := sync_status(tenant, sync["id"]))["healthy"]
                            and s["last_run"], what="healthy through node 2")
    zone.first.start()
    zone.wait_connected()
    eventually(lambda: _depths(zone.first) == (1, 1), what="replayed to node 1")
    # the next runs start with node 1 again, and change nothing
    via_first = eventually(lambda: (run := sync_status(tenant, sync["id"])["last_run"])
                           and run["endpoint"] == zone.first.url and run, what="node 1 again")
    assert (str(failing).startswith("no endpoint of the Icinga 2 zone could be reached: "
                                    f"{zone.first.url}: ConnectError"),
            via_second["endpoint"], via_second["unreachable"],
            via_first["unreachable"], via_first["created"],
            [list(keys(node, sync["id"]).values()) for node in (zone.first, zone.second)],
            _depths(zone.first), _depths(zone.second)) == (
        True, zone.second.url, [zone.first.url], [], 0, [[1], [1]], (1, 1), (1, 1))


def test_duplicates_in_the_zone_are_removed_down_to_one(tenant: Tenant,
                                                        zone: IcingaPair) -> None:
    now = time.time()
    theirs = zone.second.schedule("web1", now - 60, now + 3600, author="bob",
                                  comment="their own maintenance")
    sync = make_icinga_sync(tenant, zone, endpoints=[zone.second.url], interval="1s")
    make_window(tenant, targets=["host:web1"])
    [mine] = eventually(lambda: [d for d in zone.first.downtimes()
                                 if f" s={sync['id']} " in str(d["comment"])
                                 and not d["parent"]], what="our downtime")
    # what an HA pair makes: the same downtime scheduled again, through the other node
    made: dict[str, Any] = zone.second.client.post("/v1/actions/schedule-downtime", json={
        "type": "Host", "host": "web1", "start_time": mine["start_time"],
        "end_time": mine["end_time"], "fixed": True, "author": "quietly",
        "comment": mine["comment"], "all_services": True}).json()
    repaired = eventually(
        lambda: [r for r in sync_status(tenant, sync["id"])["repairs"]
                 if r["what"].startswith("duplicate: 2 objects carried one tag")],
        what="duplicate removed")
    eventually(lambda: all(sum(keys(node, sync["id"]).values()) == 1
                           for node in (zone.first, zone.second)), what="one in the zone")
    # bob's host downtime and ours remain; the removed one's service child went with it
    kept = {name for node in (zone.first, zone.second) for name in
            (d["name"] for d in node.downtimes() if not d["parent"])}
    assert (len(repaired), kept, _depths(zone.first), _depths(zone.second)) == (
        1, {theirs, min(mine["name"], made["results"][0]["name"])}, (2, 1), (2, 1))
