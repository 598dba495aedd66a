"""The Icinga 2 adapter behind the reconciler, against Debian's real Icinga 2 (2.13).

Each case plans and applies against the real daemon and checks what Icinga itself says:
``downtime_depth`` of hosts and services, and its list of downtimes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from quietly.core.model import Effect, OnceSchedule, Window
from quietly.sync.icinga2.adapter import Connection, IcingaAdapter
from quietly.sync.icinga2.translate import DEFAULT_TARGET_OBJECTS, IcingaScope, desired_downtimes
from quietly.sync.reconciler import Outcome, apply_plan, plan
from tests.sync.icinga_harness import BINARY, Icinga

pytestmark = [pytest.mark.skipif(BINARY is None, reason="icinga2 (Debian package) missing"),
              pytest.mark.timeout(120)]

HOSTS = {"web1": ["http", "disk"], "web2": ["http"], "db1": ["pg"]}
_sync_ids = count(100)


@pytest.fixture(scope="module")
def icinga() -> Iterator[Icinga]:
    with Icinga(HOSTS) as daemon:
        yield daemon


class Sync:
    """One sync's reconciliation against the daemon, as the runner does it."""

    def __init__(self, icinga: Icinga, *, all_services: bool = True) -> None:
        self.icinga = icinga
        self.sync_id = next(_sync_ids)
        self.scope = IcingaScope(1, self.sync_id, DEFAULT_TARGET_OBJECTS, all_services,
                                 timedelta(hours=24))
        self.known: dict[str, datetime] = {}
        self.requests = 0

    def connection(self) -> Connection:
        return Connection(self.icinga.url, self.icinga.username, self.icinga.password,
                          ca_file=str(self.icinga.ca_file), allow_private=True)

    def run(self, windows: list[Window]) -> Outcome:
        now = datetime.now(UTC)
        desired, _ = desired_downtimes(windows, {}, self.scope, now)
        with IcingaAdapter(self.connection(), 1, self.sync_id, now=now) as adapter:
            outcome = apply_plan(plan(desired, adapter.list_own()), adapter, known=self.known)
            self.requests = adapter.requests
        self.known = {key: end for key, (_, end) in outcome.present.items()}
        return outcome


def running(window_id: int, *targets: str, minutes: int = 60) -> Window:
    now = datetime.now(UTC).replace(microsecond=0)
    return Window(id=window_id, workspace_id=1, name=f"w{window_id}",
                  schedule=OnceSchedule(now - timedelta(minutes=1),
                                        now + timedelta(minutes=minutes)),
                  effects=frozenset({Effect.MUTE}), targets=frozenset(targets))


def ours(icinga: Icinga, sync: Sync) -> list[dict[str, object]]:
    return [d for d in icinga.downtimes()
            if f" s={sync.sync_id} " in str(d["comment"]) and not d["parent"]]


def _depths(icinga: Icinga) -> dict[str, int]:
    return {"web1": icinga.depth("web1"), "web1!http": icinga.depth("web1", "http"),
            "web2": icinga.depth("web2"), "db1!pg": icinga.depth("db1", "pg")}


def _wait_depths(icinga: Icinga, expected: dict[str, int]) -> dict[str, int]:
    deadline = time.monotonic() + 10
    while (seen := _depths(icinga)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return seen


def test_a_host_with_its_services_and_a_single_service(icinga: Icinga) -> None:
    sync = Sync(icinga)
    window = running(1, "host:web1", "service:db1!pg")
    first = sync.run([window])
    depths = _wait_depths(icinga, {"web1": 1, "web1!http": 1, "web2": 0, "db1!pg": 1})
    again = sync.run([window])
    steady_requests = sync.requests  # nothing to do costs one list call
    gone = sync.run([])
    after = _wait_depths(icinga, {"web1": 0, "web1!http": 0, "web2": 0, "db1!pg": 0})
    assert ((first.created, depths), (again.created, again.changed, again.removed,
                                      steady_requests), (gone.removed, after, ours(icinga, sync))
            ) == ((2, {"web1": 1, "web1!http": 1, "web2": 0, "db1!pg": 1}), (0, 0, 0, 1),
                  (2, {"web1": 0, "web1!http": 0, "web2": 0, "db1!pg": 0}, []))


def test_a_changed_end_keeps_the_host_in_downtime_and_leaves_one(icinga: Icinga) -> None:
    sync = Sync(icinga)
    before = running(2, "host:web2", minutes=60)
    assert isinstance(before.schedule, OnceSchedule)
    after = replace(before, schedule=replace(before.schedule,
                                             end=before.schedule.end + timedelta(minutes=30)))
    sync.run([before])
    changed = sync.run([after])
    left = ours(icinga, sync)
    ends = [datetime.fromtimestamp(float(str(d["end_time"])), UTC) for d in left]
    wanted = after.schedule
    assert isinstance(wanted, OnceSchedule)
    assert (changed.changed, len(left), icinga.depth("web2"),
            abs((ends[0] - wanted.end).total_seconds()) < 0.01) == (1, 1, 1, True)
    sync.run([])


def test_a_downtime_removed_by_hand_is_restored_and_reported(icinga: Icinga) -> None:
    sync = Sync(icinga)
    window = running(3, "service:web1!disk")
    sync.run([window])
    [downtime] = ours(icinga, sync)
    icinga.client.post("/v1/actions/remove-downtime",
                       json={"type": "Downtime", "downtime": downtime["name"]})
    repaired = sync.run([window])
    assert ([r.what for r in repaired.repairs], len(ours(icinga, sync)),
            icinga.depth("web1", "disk")) == (
        ["missing (expired by hand or lost by a restart); recreated"], 1, 1)
    sync.run([])


def test_someone_elses_downtimes_are_never_touched(icinga: Icinga) -> None:
    sync = Sync(icinga)
    now = time.time()
    theirs = icinga.schedule("web2", now - 60, now + 3600, author="alice",
                             comment="kernel update")
    # Someone copying quietly's author does not make it ours: the tag decides.
    lookalike = icinga.schedule("web2", now - 60, now + 3600, author="quietly",
                                comment="made by hand")
    sync.run([running(4, "host:web2")])
    sync.run([])
    names = {str(d["name"]) for d in icinga.downtimes()}
    assert ({theirs, lookalike} <= names, icinga.depth("web2")) == (True, 2)
    for name in (theirs, lookalike):
        icinga.client.post("/v1/actions/remove-downtime",
                           json={"type": "Downtime", "downtime": name})


def test_an_unknown_host_is_refused_for_that_object_only(icinga: Icinga) -> None:
    sync = Sync(icinga)
    outcome = sync.run([running(5, "host:nope", "host:web1")])
    assert ([(want.payload.object.host, reason)  # type: ignore[attr-defined]
             for want, reason in outcome.rejected], outcome.created) == (
        [("nope", "Icinga 2 has no host 'nope'")], 1)
    sync.run([])


def test_downtimes_survive_a_restart_and_nothing_is_redone(icinga: Icinga) -> None:
    sync = Sync(icinga)
    window = running(6, "service:web2!http")
    sync.run([window])
    icinga.restart()
    again = sync.run([window])
    assert ((again.created, again.changed, again.removed), icinga.depth("web2", "http")) == (
        (0, 0, 0), 1)
    sync.run([])


def test_a_duplicate_left_by_a_crash_is_removed_down_to_one(icinga: Icinga) -> None:
    sync = Sync(icinga)
    window = running(7, "host:db1")
    now = datetime.now(UTC)
    desired, _ = desired_downtimes([window], {}, sync.scope, now)
    with IcingaAdapter(sync.connection(), 1, sync.sync_id, now=now) as adapter:
        adapter.create(desired[0])
        adapter.create(desired[0])  # as if a process died after creating, before recording
    outcome = sync.run([window])
    assert (outcome.removed, len(ours(icinga, sync))) == (1, 1)
    sync.run([])
