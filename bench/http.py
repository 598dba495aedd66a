"""Figures 2, 3, 4 (SQLite and PostgreSQL) and 5: the API over HTTP against real processes.

    PYTHONTZPATH="" python -m bench.http [--windows 10000] [--seconds 5] [--pg URL]

2. ``GET /api/v1/decide`` with wrk (a random alert of the workload per request: its target
   and its seven labels, as Alertmanager gets them in part 6) at 1 and 16
   connections, with one and with two serve processes sharing the port (on SQLite, both
   processes share the file and each loads its own index);
3. ``POST /api/v1/decide`` with 1,000 alerts per request (each with a target and labels,
   the same alerts part 6 loads into Alertmanager);
4. ``POST /api/v1/alerts`` with 1,000-alert batches, new alerts then the same again
   (updates), on SQLite and, when reachable, PostgreSQL;
5. window creations per second through the API (sequential, one client).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import httpx2 as httpx

from bench.common import lua_alert, print_figures
from bench.seed import seed
from bench.servers import WRK, Servers, wrk
from bench.workload import Workload, make_workload
from quietly.settings import Settings

__all__ = ["main", "run"]


def get_script(key: str, targets: int, teams: int) -> str:
    """One random alert per request: its target and its labels (``label.<name>=``)."""
    return lua_alert(targets, teams) + f"""
wrk.headers["Authorization"] = "Bearer {key}"
request = function()
  local labels = alert()
  local query = "target=service:" .. labels[6][2]
  for _, pair in ipairs(labels) do
    query = query .. "&label." .. pair[1] .. "=" .. pair[2]
  end
  return wrk.format("GET", "/api/v1/decide?" .. query)
end
"""


def _post_script(key: str, body: str) -> str:
    return f"""
wrk.method = "POST"
wrk.path = "/api/v1/decide"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
"""


def decide_batch_body(work: Workload, size: int = 1000) -> str:
    """The first ``size`` of the alerts part 6 loads into Alertmanager (target + labels)."""
    return json.dumps({"alerts": work.combined_alerts(size)})


def single_decisions(url: str, key: str, work: Workload, seconds: int) -> dict[str, Any]:
    out = {}
    script = get_script(key, len(work.targets), work.teams)
    for conns in (1, 16):
        out[conns] = wrk(url, script, conns, seconds)
    return out


def batch_decisions(url: str, key: str, work: Workload, seconds: int,
                    connections: int) -> dict[str, float]:
    result = wrk(url, _post_script(key, decide_batch_body(work)), connections, seconds)
    return {**result, "decisions_per_s": result["rps"] * 1000}


def ingest(url: str, key: str, work: Workload, batches: int, tag: str) -> dict[str, float]:
    """``batches`` x 1,000 new label alerts, then the same batches again (updates)."""
    bodies = [{"alerts": [{**work.label_alerts[(b * 1000 + i) % len(work.label_alerts)],
                           "annotations": {"n": str(i)}} for i in range(1000)]}
              for b in range(batches)]
    for b, body in enumerate(bodies):  # distinct fingerprints per batch and per run
        for i, alert in enumerate(body["alerts"]):
            alert["labels"] = {**alert["labels"], "instance": f"{tag}-{b}-{i}"}
    with httpx.Client(base_url=url, timeout=120,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        rates = []
        held = 0
        for _round in range(2):
            started = time.perf_counter()
            for body in bodies:
                response = client.post("/api/v1/alerts", json=body)
                response.raise_for_status()
                held += response.json()["held"]
            rates.append(batches * 1000 / (time.perf_counter() - started))
    return {"new_per_s": rates[0], "update_per_s": rates[1],
            "held_pct": 100 * held / (2 * batches * 1000)}


def creations(url: str, key: str, count: int) -> float:
    work = make_workload(count, 1000, 1, seed=11)
    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        started = time.perf_counter()
        for body in work.windows:
            client.post("/api/v1/windows", json=body).raise_for_status()
        return count / (time.perf_counter() - started)


def _pg_ingest(pg_url: str, work: Workload, batches: int) -> dict[str, float] | str:
    """Ingest on PostgreSQL: a workspace with the workload's label windows (writes do not
    depend on how many windows there are; decisions come from memory)."""
    try:
        settings = Settings(database_url=pg_url, data_dir=Path(mkdtemp()), run_worker=False)
        labels_only = Workload(work.now, [w for w in work.windows if "match" in w],
                               work.targets, work.target_alerts, work.label_alerts, work.teams)
        seeded = seed(settings, labels_only, slug="bench-pg")
        seeded.db.dispose()
    except Exception as exc:  # report why the figure is missing, go on
        return f"skipped: PostgreSQL at {pg_url} not usable ({type(exc).__name__}: {exc})"
    with Servers({"QUIETLY_DATABASE_URL": pg_url}) as servers:
        return ingest(servers.url, seeded.key, work, batches, f"pg{time.time_ns()}")


def run(windows: int, targets: int, seconds: int, batches: int, create: int,
        pg_url: str | None) -> dict[str, Any]:
    work = make_workload(windows, targets, 2000)
    data_dir = Path(mkdtemp(prefix="quietly-bench-data-"))
    settings = Settings(data_dir=data_dir, run_worker=False)
    seeded = seed(settings, work)
    seeded.db.dispose()
    env = {"QUIETLY_DATA_DIR": str(data_dir)}
    rows: list[tuple[str, Any, str]] = [
        ("seed: windows through the service layer", windows / seeded.seconds, "per s")]
    extra: dict[str, Any] = {}
    for procs in (1, 2):
        with Servers(env, procs) as servers:
            if WRK is None:
                extra["wrk"] = "skipped: wrk is not installed (apt-get install wrk)"
            else:
                single = single_decisions(servers.url, seeded.key, work, seconds)
                for conns, r in single.items():
                    label = f"GET /decide, {procs} proc, {conns} conn"
                    rows += [(f"{label}: requests/s", r["rps"], "per s"),
                             (f"{label}: p50", r["p50_ms"], "ms"),
                             (f"{label}: p99", r["p99_ms"], "ms")]
                    extra[f"get_{procs}p_{conns}c"] = r
                batch = batch_decisions(servers.url, seeded.key, work, seconds, procs * 2)
                rows.append((f"POST /decide x1000, {procs} proc, {procs * 2} conn: decisions/s",
                             batch["decisions_per_s"], "per s"))
                extra[f"post_decide_{procs}p"] = batch
            if procs == 1:
                sqlite = ingest(servers.url, seeded.key, work, batches, "sqlite")
                rows += [("POST /alerts x1000, SQLite: new alerts/s", sqlite["new_per_s"],
                          "per s"),
                         ("POST /alerts x1000, SQLite: updates/s", sqlite["update_per_s"],
                          "per s"),
                         ("  alerts held", sqlite["held_pct"], "%")]
                rows.append(("window creations through the API",
                             creations(servers.url, seeded.key, create), "per s"))
    pg = _pg_ingest(pg_url, work, batches) if pg_url else "skipped: no --pg URL"
    if isinstance(pg, str):
        extra["postgresql"] = pg
        rows.append(("POST /alerts x1000, PostgreSQL", pg, ""))
    else:
        rows += [("POST /alerts x1000, PostgreSQL: new alerts/s", pg["new_per_s"], "per s"),
                 ("POST /alerts x1000, PostgreSQL: updates/s", pg["update_per_s"], "per s")]
    return print_figures("2-5. the API over HTTP", rows, extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--batches", type=int, default=10, help="1,000-alert batches")
    parser.add_argument("--create", type=int, default=300, help="windows to create")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/"
                        "quietly_bench", help="PostgreSQL URL for figure 4 ('' to skip)")
    args = parser.parse_args()
    run(args.windows, args.targets, args.seconds, args.batches, args.create, args.pg or None)


if __name__ == "__main__":
    main()
