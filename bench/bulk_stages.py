"""Where a bulk create's time goes: CPU time per window of each stage of
``POST /api/v1/windows/batch``, run in process on a fresh SQLite store.

    PYTHONTZPATH="" python -m bench.bulk_stages [--batches 6] [--size 5000]

Each stage is what ``batch_fastpath.BatchShortcut`` (``--route``: the route) and
``services.windows.create_windows`` do, in their order
(the steps are called one by one, so this reaches into the module's private functions:
keep it in step with ``create_windows``). CPU time of this thread (``time.thread_time``),
median over the batches; the collector is paused, as the route pauses it.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.writes import window_body
from quietly.api.native.batch_fastpath import batch_fields
from quietly.api.native.convert import window_fields_from_create
from quietly.api.native.window_batch import WindowBatch, repeated_members
from quietly.core.engine import DecisionIndex
from quietly.core.records import Principal, Role
from quietly.services import outbox, windows, workspaces
from quietly.services.bootstrap import prepare_database
from quietly.settings import Settings
from quietly.storage.types import sqlite_instant
from quietly.storage.window_rows import (
    insert_create_audit_json,
    insert_targets_json,
    insert_window_params,
    window_encoder,
)

__all__ = ["main", "run"]


def run(batches: int = 6, size: int = 5000, route: bool = False) -> dict[str, float]:
    """Median CPU µs per window of each stage. ``route``: the body read as the route reads
    it (pydantic) rather than as ``batch_fastpath`` does (the path of a batch of common
    creates)."""
    data_dir = Path(tempfile.mkdtemp(prefix="quietly-bench-stages-"))
    db = prepare_database(Settings(data_dir=data_dir, run_worker=False))
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, "stages", name="stages", timezone="UTC",
                                         now=now)
    principal = Principal(ws.id, ws.slug, "UTC", Role.EDITOR, None, "bench")
    index = DecisionIndex(now)
    laps: dict[str, list[float]] = {}
    gc.disable()
    try:
        for b in range(batches):
            raw = json.dumps({"windows": [window_body(b * size + i, now)
                                          for i in range(size)]}).encode()
            _one_batch(db, principal, index, raw, now, laps, route)
    finally:
        gc.enable()
    return {name: sorted(v)[len(v) // 2] / size * 1e6 for name, v in laps.items()}


def _one_batch(db: Any, principal: Principal, index: DecisionIndex, raw: bytes,
               now: datetime, laps: dict[str, list[float]], route: bool) -> None:
    started = [time.thread_time()]

    def lap(name: str) -> None:
        at = time.thread_time()
        laps.setdefault(name, []).append(at - started[0])
        started[0] = at

    def step(name: str, work: Callable[[], Any]) -> Any:
        result = work()
        lap(name)
        return result

    data = step("body: JSON decode", lambda: json.loads(raw))
    if route:
        step("body: repeated-member check", lambda: repeated_members(raw))
        body = step("body: pydantic validation", lambda: WindowBatch.model_validate(data))
        fields = step("conversion", lambda: [window_fields_from_create(w, "UTC")
                                             for w in body.windows])
    else:
        fields = step("body: fast read (batch_fields)", lambda: batch_fields(raw, data, "UTC"))
    paths = [f"windows[{i}]" for i in range(len(fields))]
    with db.transaction() as session:
        prepared = step("checks (rules, groups, scopes)", lambda: windows._prepare_creates(
            session, principal, fields, now, paths, not route))
        conn = session.connection()
        ids = windows._new_window_ids(conn, len(prepared))
        memo: dict[Any, Any] = {}
        encode, stamp = window_encoder(), sqlite_instant(now)
        created = step("derived columns, records and row parameters", lambda: [
            windows._new_window_params(i, principal, f, now, memo, encode, stamp)
            for i, f in zip(ids, prepared, strict=True)])
        records = [new.record for new in created]
        step("insert windows", lambda: insert_window_params(conn, [new.columns
                                                                   for new in created]))
        ws = principal.workspace_id
        step("insert targets", lambda: insert_targets_json(
            conn, ids, [r.fields.targets for r in records], ws)
            or windows._insert_targets(conn, records))
        step("jobs and outbox", lambda: outbox.window_events_created(
            session, records, now, conn, running=[new.running for new in created]))
        step("insert audit", lambda: insert_create_audit_json(
            conn, ids, ws, stamp, principal.actor)
            or windows._insert_create_audit(conn, principal, records, now))
    lap("commit")
    step("index upsert_many", lambda: index.upsert_many([new.window for new in created],
                                                        checked=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--route", action="store_true",
                        help="read the body as the route does (pydantic), not the fast read")
    args = parser.parse_args()
    figures = run(args.batches, args.size, args.route)
    total = sum(figures.values())
    print(f"## bulk create: CPU per window by stage ({args.batches} x {args.size:,})")
    for name, micros in figures.items():
        print(f"  {name:36s} {micros:6.1f} µs  {micros / total * 100:4.0f} %")
    print(f"  {'total':36s} {total:6.1f} µs")


if __name__ == "__main__":
    main()
