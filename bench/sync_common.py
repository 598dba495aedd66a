"""What the sync benchmarks share: seed N running windows, converge, then one steady run.

``bench.sync`` (Alertmanager) and ``bench.icinga`` (Icinga 2) give only what differs: the
window bodies, the system to start, the sync's fields and how to count what it holds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bench.common import fields_of
from quietly.core.records import Principal, Role
from quietly.services import sync_state, syncs, windows, workspaces
from quietly.services.bootstrap import prepare_database
from quietly.services.syncs import DEFAULT_PARALLELISM
from quietly.settings import Settings
from quietly.storage.db import Database
from quietly.storage.tables import SyncRow
from quietly.sync.runner import RunSettings, run_sync

__all__ = ["Convergence", "Seeded", "System", "clock", "converge", "converge_each", "iso",
           "main_of", "seed"]

MAX_RUNS = 5


def clock() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Seeded:
    db: Database
    principal: Principal
    seconds: float


def seed(slug: str, count: int, body: Callable[[int, dict[str, str]], dict[str, Any]]
         ) -> Seeded:
    """A fresh SQLite database holding ``count`` one-time windows running now for two
    hours; ``body(i, schedule)`` is the i-th window's create body."""
    folder = Path(tempfile.mkdtemp(prefix=f"quietly-{slug}-"))
    db = prepare_database(Settings(data_dir=folder, webhook_allow_private=True))
    started = time.perf_counter()
    now = clock()
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, slug, name="bench", timezone="UTC", now=now)
    principal = Principal(ws.id, ws.slug, "UTC", Role.ADMIN, None, "bench")
    schedule = {"kind": "once", "start": iso(now - timedelta(minutes=1)),
                "end": iso(now + timedelta(hours=2))}
    for first in range(0, count, 500):
        with db.transaction() as session:
            for i in range(first, min(count, first + 500)):
                windows.create_window(session, principal, fields_of(body(i, schedule)), now)
    return Seeded(db, principal, time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class Convergence:
    sync_id: int
    seconds: float
    runs: int
    requests: int | None
    steady_seconds: float
    steady_requests: int | None


def converge(seeded: Seeded, count: int, fields: dict[str, Any], *,
             lease: timedelta = timedelta(seconds=600), http_timeout: float = 60
             ) -> Convergence:
    """Create the sync from ``fields`` and run it the way the worker does
    (``sync.runner.run_sync``) until it holds ``count`` objects (at most ``MAX_RUNS``
    runs); then make it due again with nothing changed and time that steady-state run."""
    db, principal = seeded.db, seeded.principal
    settings = RunSettings(worker_id="bench", allow_private=True, lease=lease,
                           http_timeout=http_timeout)
    with db.transaction() as session:
        sync = syncs.create_sync(session, principal, fields, allow_private=True, now=clock())
    started = time.perf_counter()
    runs = 0
    while True:  # one run should do it all
        runs += int(run_sync(db, sync.id, settings, clock))
        status = _status(db, principal, sync.id)
        if status["objects"] >= count or runs >= MAX_RUNS:
            break
    seconds = time.perf_counter() - started
    requests = status["last_run"]["requests"] if status["last_run"] else None
    with db.transaction() as session:  # due again, nothing changed: steady state
        session.execute(update(SyncRow).where(SyncRow.id == sync.id).values(next_run_at=clock()))
    steady_started = time.perf_counter()
    run_sync(db, sync.id, settings, clock)
    steady_seconds = time.perf_counter() - steady_started
    steady = _status(db, principal, sync.id)
    return Convergence(sync.id, seconds, runs, requests, steady_seconds,
                       steady["last_run"]["requests"] if steady["last_run"] else None)


def _status(db: Database, principal: Principal, sync_id: int) -> dict[str, Any]:
    with db.read() as session:
        return sync_state.sync_status(session, principal, sync_id, clock())


@dataclass(frozen=True, slots=True)
class System:
    """A freshly started system to sync into: the sync's fields (``url`` excluded), the
    objects it holds for a sync id, and a proxy holding each request ``delay`` seconds."""

    url: str
    fields: dict[str, Any]
    held: Callable[[int], int]
    proxy: Callable[[float], AbstractContextManager[str]]


def converge_each(seeded: Seeded, count: int, fresh: Callable[[], AbstractContextManager[System]],
                  parallelisms: tuple[int, ...], delay_ms: float, noun: str
                  ) -> list[tuple[str, Any, str]]:
    """``converge`` once per parallelism, each into a system of its own from ``fresh()``
    (through its proxy when ``delay_ms``); the figures' rows, each labelled with its
    parallelism and delay."""
    rows: list[tuple[str, Any, str]] = []
    for parallelism in parallelisms:
        with fresh() as system, _address(system, delay_ms) as url:
            found = converge(seeded, count, {**system.fields, "name": f"bench-{parallelism}",
                                             "url": url, "parallelism": parallelism})
            held = system.held(found.sync_id)
        at = f" (parallelism {parallelism}{f', {delay_ms:g} ms delay' if delay_ms else ''})"
        rows += [(f"{noun} held after convergence" + at, held, ""),
                 ("seconds to converge" + at, round(found.seconds, 1), "s"),
                 ("runs to converge" + at, found.runs, ""),
                 ("requests to converge" + at, found.requests, "HTTP requests"),
                 ("steady-state run" + at, round(found.steady_seconds, 2), "s"),
                 ("steady-state requests" + at, found.steady_requests,
                  "(target: 1 list call)")]
    return rows


@contextmanager
def _address(system: System, delay_ms: float) -> Iterator[str]:
    if not delay_ms:
        yield system.url
        return
    with system.proxy(delay_ms / 1000) as url:
        yield url


def main_of(doc: str, run: Callable[[int, tuple[int, ...], float], object]) -> None:
    """The command line of a sync benchmark: ``--windows``, ``--parallelism``, ``--delay-ms``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--windows", type=int, default=10_000)
    parser.add_argument("--parallelism", type=int, nargs="+", default=[DEFAULT_PARALLELISM],
                        help="one or more values, each measured into a fresh system "
                             "(1: one request at a time)")
    parser.add_argument("--delay-ms", type=float, default=0,
                        help="hold every request this long in a local proxy (a remote system)")
    args = parser.parse_args()
    run(args.windows, tuple(args.parallelism), args.delay_ms)
