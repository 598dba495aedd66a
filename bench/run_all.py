"""Run every benchmark and compare with the issue's targets: one command.

    PYTHONTZPATH="" .venv/bin/python -m bench.run_all [--quick] [--pg URL] [...]

Prints each part's table and JSON line, then the comparison (quietly vs Alertmanager and vs
the targets) as a table and as one final JSON line (``JSON-SUMMARY {...}``). Sizes default
to the issue's workload; ``--quick`` shrinks everything for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

from bench import alertmanager, http, inprocess, routes
from bench.alertmanager import H2H_CONFIGS, h2h_key

__all__ = ["compare", "main"]


def _get(data: dict[str, Any], *path: str) -> float | None:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def compare(inproc: dict[str, Any], api: dict[str, Any], am: dict[str, Any]) -> list[
        tuple[str, float | None, str, str]]:
    """(figure, value, target, met) rows."""
    f = inproc.get("figures", {})
    batch = _get(api, "post_decide_1p", "decisions_per_s")
    am_cached = _get(am, "silences_10000", "cached_per_s") or _get(
        am, *[k for k in am if k.startswith("silences_")][-1:], "cached_per_s")
    am_first = _get(am, "silences_10000", "first_per_s")
    rows: list[tuple[str, float | None, str, str]] = []

    def row(name: str, value: float | None, target: str, ok: bool | None) -> None:
        verdict = "n/a" if ok is None else "yes" if ok else "NO"
        rows.append((name, value, target, "" if target == "reference" else verdict))

    def at_least(value: float | None, bound: float) -> bool | None:
        return None if value is None else value >= bound

    t_rate = f.get("target alerts: decisions/s")
    l_rate = f.get("label alerts: decisions/s")
    mem_key = next((k for k in f if k.startswith("RSS with an index")), None)
    mem = f.get(mem_key) if mem_key else None
    row("in-process target decisions/s", t_rate, ">= 1,000,000", at_least(t_rate, 1e6))
    row("in-process label decisions/s", l_rate, ">= 300,000", at_least(l_rate, 3e5))
    row(f"{mem_key} (MiB)" if mem_key else "index RSS (MiB)", mem, "< 500",
        None if mem is None else mem < 500)
    row("batch decisions over HTTP /s (1 proc)", batch, ">= 100,000", at_least(batch, 1e5))
    row("  ratio to Alertmanager cached silencedBy", _ratio(batch, am_cached), ">= 2",
        at_least(_ratio(batch, am_cached), 2))
    row("  ratio to Alertmanager first silencedBy (10k silences)", _ratio(batch, am_first),
        ">= 100", at_least(_ratio(batch, am_first), 100))
    for conns in (1, 16):
        for procs, busy_poll_us in H2H_CONFIGS:  # medians of interleaved rounds
            ratio = _get(am, h2h_key(procs, busy_poll_us, conns), "ratio")
            # The target is for the server as installed; busy polling off is for reference.
            poll = "" if busy_poll_us else ", busy poll off"
            row(f"GET /decide {conns} conn, {procs} proc{poll}: ratio to AM single ingest",
                ratio, ">= 1" if busy_poll_us else "reference", at_least(ratio, 1))
        p99 = _get(api, f"get_1p_{conns}c", "p99_ms")
        if conns == 16:
            row("GET /decide 16 conn, 1 proc: p99 ms", p99, "< 10",
                None if p99 is None else p99 < 10)
    return rows


def _part(name: str, fn: Any, *args: Any) -> dict[str, Any]:
    """Run one part; a failure is reported and the other parts still run."""
    try:
        result: dict[str, Any] = fn(*args)
    except Exception as exc:  # a benchmark part failing must not hide the others' figures
        print(f"\n## part {name} FAILED: {type(exc).__name__}: {exc}")
        return {"title": name, "failed": f"{type(exc).__name__}: {exc}", "figures": {}}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--windows", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=100_000, help="in-process alerts")
    parser.add_argument("--am-alerts", type=int, default=10_000)
    parser.add_argument("--memory-windows", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds against Alertmanager (3 s each)")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--create", type=int, default=300)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/"
                        "quietly_bench", help="PostgreSQL URL ('' to skip)")
    args = parser.parse_args()
    if args.quick:
        args.windows, args.targets, args.alerts, args.am_alerts = 1000, 10_000, 10_000, 1000
        args.memory_windows, args.seconds, args.batches, args.create = 2000, 2, 2, 30
        args.rounds = 3
    started = time.monotonic()
    print(f"# quietly benchmarks on {platform.node()}: {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    _part("0", routes.run, min(args.windows, 1000))
    inproc = _part("1", inprocess.run, args.windows, args.targets, args.alerts,
                   args.memory_windows)
    api = _part("2-5", http.run, args.windows, args.targets, args.seconds, args.batches,
                args.create, args.pg or None)
    am = _part("6", alertmanager.run, args.am_alerts, args.windows, args.targets,
               min(args.seconds, 3), args.rounds)
    rows = compare(inproc, api, am)
    print("\n## quietly vs the targets and Alertmanager")
    for name, value, target, met in rows:
        shown = "-" if value is None else f"{value:,.1f}"
        print(f"  {name:<58} {shown:>14}  {target:<14} {met}")
    summary = {"in_process": inproc, "api": api, "alertmanager": am,
               "comparison": [dict(zip(("figure", "value", "target", "met"), r, strict=True))
                              for r in rows],
               "seconds": time.monotonic() - started,
               "load_average_end": os.getloadavg()[0]}
    print(f"\n(total {summary['seconds']:.0f} s; load average now {os.getloadavg()[0]:.1f})")
    print("JSON-SUMMARY " + json.dumps(summary))


if __name__ == "__main__":
    main()
