"""Silence sync: 10,000 running windows converging into a freshly started Alertmanager.

    PYTHONTZPATH="" .venv/bin/python -m bench.sync [--windows 10000]

Seeds a fresh SQLite database with N one-time windows running now (nine in ten name a
``service`` target, one in ten a condition group on ``alertname`` and ``env``), starts
Debian's Alertmanager 0.25 with empty storage, creates one sync and runs the reconciler the
way the worker does (``sync.runner.run_sync``) until Alertmanager holds every silence.
Prints the seconds to converge and the requests made, then runs a steady-state reconcile
(nothing to change) and prints its requests: one list call per sync is the target.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from tests.integrations.amharness import BINARY, Alertmanager

from bench.common import fields_of, print_figures
from quietly.core.records import Principal, Role
from quietly.services import sync_state, syncs, windows, workspaces
from quietly.services.bootstrap import prepare_database
from quietly.settings import Settings
from quietly.storage.db import Database
from quietly.storage.tables import SyncRow
from quietly.sync.reconciler import Tag
from quietly.sync.runner import RunSettings, run_sync

__all__ = ["main", "run"]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _body(i: int, start: datetime, end: datetime) -> dict[str, Any]:
    schedule = {"kind": "once", "start": _iso(start), "end": _iso(end)}
    if i % 10 == 0:
        return {"name": f"label-{i}", "schedule": schedule,
                "match": [[{"label": "alertname", "op": "=", "value": f"Alert{i}"},
                           {"label": "env", "op": "=", "value": "prod"}]]}
    return {"name": f"svc-{i}", "schedule": schedule, "targets": [f"service:svc-{i}"]}


def _seed(db: Database, count: int) -> Principal:
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, "bench-sync", name="bench", timezone="UTC",
                                         now=now)
    principal = Principal(ws.id, ws.slug, "UTC", Role.ADMIN, None, "bench")
    start, end = now - timedelta(minutes=1), now + timedelta(hours=2)
    for first in range(0, count, 500):
        with db.transaction() as session:
            for i in range(first, min(count, first + 500)):
                windows.create_window(session, principal, fields_of(_body(i, start, end)),
                                      now)
    return principal


def clock() -> datetime:
    return datetime.now(UTC)


def _ours(am: Alertmanager, sync_id: int) -> int:
    return sum(1 for s in am.client.get("/api/v2/silences").json()
               if s["status"]["state"] != "expired"
               and (tag := Tag.find(s.get("comment", ""))) is not None
               and tag.sync_id == sync_id)


def run(count: int) -> dict[str, Any]:
    if BINARY is None:
        print("prometheus-alertmanager is not installed: no figures")
        return {}
    folder = Path(tempfile.mkdtemp(prefix="quietly-bench-sync-"))
    settings = Settings(data_dir=folder, webhook_allow_private=True)
    db = prepare_database(settings)
    seeded_at = time.perf_counter()
    principal = _seed(db, count)
    seed_s = time.perf_counter() - seeded_at
    run_settings = RunSettings(worker_id="bench", allow_private=True,
                               lease=timedelta(seconds=60))
    with Alertmanager(timeout=60) as am:
        with db.transaction() as session:
            sync = syncs.create_sync(session, principal, {"name": "bench", "url": am.url},
                                     allow_private=True, now=clock())
        started = time.perf_counter()
        runs = 0
        while True:  # what the worker does: run while due (one run should do it all)
            runs += int(run_sync(db, sync.id, run_settings, clock))
            with db.read() as session:
                status = sync_state.sync_status(session, principal, sync.id, clock())
            if status["objects"] >= count or runs >= 5:
                break
        converge_s = time.perf_counter() - started
        converge_requests = status["last_run"]["requests"] if status["last_run"] else None
        held = _ours(am, sync.id)
        with db.transaction() as session:  # due again, nothing changed: steady state
            session.execute(update(SyncRow).where(SyncRow.id == sync.id)
                            .values(next_run_at=clock()))
        steady_started = time.perf_counter()
        run_sync(db, sync.id, run_settings, clock)
        steady_s = time.perf_counter() - steady_started
        with db.read() as session:
            steady = sync_state.sync_status(session, principal, sync.id, clock())
    db.dispose()
    rows = [("windows (running)", count, ""), ("seconds to seed", round(seed_s, 1), "s"),
            ("silences held after convergence", held, ""),
            ("seconds to converge", round(converge_s, 1), "s (target < 60)"),
            ("runs to converge", runs, ""),
            ("requests to converge", converge_requests, "HTTP requests"),
            ("steady-state run", round(steady_s, 2), "s"),
            ("steady-state requests", steady["last_run"]["requests"], "(target: 1 list call)")]
    return print_figures("Silence sync: convergence into a fresh Alertmanager 0.25", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=10_000)
    run(parser.parse_args().windows)


if __name__ == "__main__":
    main()
