"""Icinga 2 sync: N running windows converging into a freshly started Icinga 2.

    PYTHONTZPATH="" .venv/bin/python -m bench.icinga [--windows 10000]

Seeds a fresh SQLite database with N one-time windows running now, each naming one host
(``host:h<i>``), starts Debian's Icinga 2 with those N hosts (no services) and no downtime,
creates one ``icinga2`` sync and runs the reconciler the way the worker does
(``sync.runner.run_sync``) until Icinga holds every downtime. Prints the seconds to converge
and the requests made, then a steady-state reconcile (nothing to change): one list call.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from tests.sync.icinga_harness import BINARY, Icinga

from bench.common import fields_of, print_figures
from quietly.core.records import Principal, Role
from quietly.services import sync_state, syncs, windows, workspaces
from quietly.services.bootstrap import prepare_database
from quietly.settings import Settings
from quietly.storage.db import Database
from quietly.storage.tables import SyncRow
from quietly.sync.runner import RunSettings, run_sync

__all__ = ["main", "run"]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _seed(db: Database, count: int) -> Principal:
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, "bench-icinga", name="bench", timezone="UTC",
                                         now=now)
    principal = Principal(ws.id, ws.slug, "UTC", Role.ADMIN, None, "bench")
    schedule = {"kind": "once", "start": _iso(now - timedelta(minutes=1)),
                "end": _iso(now + timedelta(hours=2))}
    for first in range(0, count, 500):
        with db.transaction() as session:
            for i in range(first, min(count, first + 500)):
                body = {"name": f"host-{i}", "schedule": schedule, "targets": [f"host:h{i}"]}
                windows.create_window(session, principal, fields_of(body), now)
    return principal


def clock() -> datetime:
    return datetime.now(UTC)


def run(count: int) -> dict[str, Any]:
    if BINARY is None:
        print("icinga2 is not installed: no figures")
        return {}
    folder = Path(tempfile.mkdtemp(prefix="quietly-bench-icinga-"))
    settings = Settings(data_dir=folder, webhook_allow_private=True)
    db = prepare_database(settings)
    seeded_at = time.perf_counter()
    principal = _seed(db, count)
    seed_s = time.perf_counter() - seeded_at
    run_settings = RunSettings(worker_id="bench", allow_private=True,
                               lease=timedelta(seconds=600), http_timeout=60)
    with Icinga({f"h{i}": [] for i in range(count)}) as icinga:
        with db.transaction() as session:
            sync = syncs.create_sync(session, principal, {
                "type": "icinga2", "name": "bench", "url": icinga.url,
                "basic_auth": {"username": icinga.username, "password": icinga.password},
                "ca_file": str(icinga.ca_file)}, allow_private=True, now=clock())
        started = time.perf_counter()
        runs = 0
        while True:
            runs += int(run_sync(db, sync.id, run_settings, clock))
            with db.read() as session:
                status = sync_state.sync_status(session, principal, sync.id, clock())
            if status["objects"] >= count or runs >= 5:
                break
        converge_s = time.perf_counter() - started
        converge_requests = status["last_run"]["requests"] if status["last_run"] else None
        held = len(icinga.downtimes())
        with db.transaction() as session:
            session.execute(update(SyncRow).where(SyncRow.id == sync.id)
                            .values(next_run_at=clock()))
        steady_started = time.perf_counter()
        run_sync(db, sync.id, run_settings, clock)
        steady_s = time.perf_counter() - steady_started
        with db.read() as session:
            steady = sync_state.sync_status(session, principal, sync.id, clock())
    db.dispose()
    rows = [("windows (running, one host each)", count, ""),
            ("seconds to seed", round(seed_s, 1), "s"),
            ("downtimes held after convergence", held, ""),
            ("seconds to converge", round(converge_s, 1), "s"),
            ("runs to converge", runs, ""),
            ("requests to converge", converge_requests, "HTTP requests"),
            ("steady-state run", round(steady_s, 2), "s"),
            ("steady-state requests", steady["last_run"]["requests"], "(target: 1 list call)")]
    return print_figures("Icinga 2 sync: convergence into a fresh Icinga 2.13", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=10_000)
    run(parser.parse_args().windows)


if __name__ == "__main__":
    main()
