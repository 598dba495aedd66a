"""Figure 1: in-process decisions per second (target and label alerts) and index memory.

    PYTHONTZPATH="" python -m bench.inprocess [--windows 10000] [--targets 100000]
        [--alerts 100000] [--memory-windows 100000]

Builds a ``DecisionIndex`` from the workload (no database), then times ``decide_many`` over
pre-built alerts at the workload's instant (best of 7, in CPU time of this process: wall
clock swings twofold on a loaded machine). Memory: a child process builds an
index of ``--memory-windows`` windows and reports its RSS with only the index alive; the
cost of changing one window is timed as one ``upsert`` (it touches that window only).
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench.common import alerts_of, best_of, print_figures, rss_mb, window_of, windows_of
from bench.workload import make_workload
from quietly.core.engine import DecisionIndex
from quietly.core.entries import Entry
from quietly.core.model import Verdict

__all__ = ["main", "run"]


def _build(windows: int, targets: int, alerts: int) -> tuple[DecisionIndex, Any, float]:
    """An index of the workload's windows, filed as the server files the store at start-up
    (``DecisionIndex.load`` of compact entries, then ``expand``), each window made just
    before it is filed, as rows are read: no list of every ``Window`` outlives the load."""
    work = make_workload(windows, targets, alerts)
    started = time.perf_counter()
    index = DecisionIndex(work.now)
    index.load(Entry.of(window_of(wid, body, work.now))
               for wid, body in enumerate(work.windows, start=1))
    index.expand()
    return index, work, time.perf_counter() - started


def memory(windows: int, targets: int) -> dict[str, float]:
    """RSS of a process holding only an index of ``windows`` windows (run in a child)."""
    gc.collect()
    base = rss_mb()
    index, work, build = _build(windows, targets, 1)
    del work
    gc.collect()
    rss = rss_mb()
    gc_s = best_of(3, gc.collect)  # a full collection walks every object of the index
    gc.freeze()  # as the server does once the index is loaded (api/app.py)
    gc_frozen_s = best_of(3, gc.collect)
    return {"windows": windows, "rss_mb": rss, "baseline_mb": base, "index_mb": rss - base,
            "build_s": build, "size": len(index.window_ids()), "gc_ms": gc_s * 1e3,
            "gc_frozen_ms": gc_frozen_s * 1e3}


def run(windows: int, targets: int, alerts: int, memory_windows: int) -> dict[str, Any]:
    index, work, build = _build(windows, targets, alerts)
    at = work.now
    target_alerts = alerts_of(work.target_alerts)
    label_alerts = alerts_of(work.label_alerts)
    t_target = _cpu_best_of(7, lambda: index.decide_many(target_alerts, at))
    t_label = _cpu_best_of(7, lambda: index.decide_many(label_alerts, at))
    held_t = sum(d.verdict is not Verdict.DELIVER for d in index.decide_many(target_alerts, at))
    held_l = sum(d.verdict is not Verdict.DELIVER for d in index.decide_many(label_alerts, at))
    one = windows_of([work.windows[0]], work.now)[0]
    changed = type(one)(**{**{s: getattr(one, s) for s in one.__slots__},
                           "name": "changed", "id": 1})
    t_upsert = best_of(5, lambda: index.upsert(changed))
    t_advance = best_of(1, lambda: index.advance(at + timedelta(hours=30)))
    mem = _child_memory(memory_windows, targets)
    rows = [
        ("windows in the index", windows, ""),
        ("index build (all windows)", build, "s"),
        ("target alerts: decisions/s", len(target_alerts) / t_target, "per s"),
        ("target alerts in maintenance", 100 * held_t / len(target_alerts), "%"),
        ("label alerts: decisions/s", len(label_alerts) / t_label, "per s"),
        ("label alerts in maintenance", 100 * held_l / len(label_alerts), "%"),
        ("change one window (upsert)", t_upsert * 1e6, "µs"),
        ("advance horizon 30 h (all windows)", t_advance, "s"),
        (f"RSS with an index of {mem['windows']:,} windows", mem["rss_mb"], "MiB"),
        (f"  of which the index ({mem['windows']:,} windows)", mem["index_mb"], "MiB"),
        ("  per window", mem["index_mb"] * 1024 / mem["windows"], "KiB"),
        ("  a full GC collection walking that index", mem["gc_ms"], "ms"),
        ("  the same with the index frozen (gc.freeze)", mem["gc_frozen_ms"], "ms"),
    ]
    return print_figures("1. in-process decisions and index memory", rows)


def _cpu_best_of(runs: int, fn: Callable[[], Any]) -> float:
    """The least CPU time (this process, seconds) of ``runs`` calls of ``fn()``."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best


def _child_memory(windows: int, targets: int) -> dict[str, float]:
    code = ("import json,sys; from bench.inprocess import memory; "
            f"print(json.dumps(memory({windows}, {targets})))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    import json

    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--memory-windows", type=int, default=100_000)
    args = parser.parse_args()
    run(args.windows, args.targets, args.alerts, args.memory_windows)


if __name__ == "__main__":
    main()
