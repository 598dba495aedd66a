"""Figure 6: Alertmanager (Debian's ``prometheus-alertmanager``) side by side, same run.

    PYTHONTZPATH="" python -m bench.alertmanager [--alerts 10000]

Loads the workload's alerts (labels; a quietly target ``service:x`` is the label
``service="x"``) into a real Alertmanager that has no receiver (nothing but the API
evaluates silences), then adds silences equivalent to the workload's windows — first the
1,000 label windows (``team``/``env``/``alertname``/``cluster`` matchers), then the 9,000
others (a regex on ``service`` naming the window's targets; a recurring window becomes a
silence for its current or next occurrence) — and times ``GET /api/v2/alerts``, which
computes every alert's ``silencedBy``: the first call after the silences changed, and
repeated (cached) calls. Then its single-alert ingest rate: wrk posting one new alert per
``POST /api/v2/alerts`` at 1 and 16 connections. Installs nothing: without the binary it
prints why and returns no figures.
"""

from __future__ import annotations

import argparse
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
from tests.integrations.amharness import BINARY, Alertmanager

from bench.common import best_of, fields_of, lua_alert, print_figures
from bench.servers import WRK, wrk
from bench.workload import Workload, make_workload
from quietly.core import schedule as sched

__all__ = ["main", "run"]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _interval(body: dict[str, Any], now: datetime) -> tuple[datetime, datetime] | None:
    s = fields_of(body).schedule
    occ = sched.current_occurrence(s, now) or sched.next_occurrence(s, now)
    return (occ.start, occ.end) if occ else None


def _matchers(body: dict[str, Any]) -> list[dict[str, Any]]:
    if "match" in body:
        out = []
        for m in body["match"][0]:
            if m["op"] in ("=", "=~"):
                out.append({"name": m["label"], "value": m["value"], "isRegex": m["op"] == "=~",
                            "isEqual": True})
        return out
    services = "|".join(re.escape(t.split(":", 1)[1]) for t in body["targets"])
    return [{"name": "service", "value": services, "isRegex": True, "isEqual": True}]


def silences(work: Workload) -> list[dict[str, Any]]:
    """One silence per window, label windows first; windows with no occurrence left skip."""
    ordered = [w for w in work.windows if "match" in w] + \
        [w for w in work.windows if "match" not in w]
    out = []
    for body in ordered:
        span = _interval(body, work.now)
        if span is None:
            continue
        start = max(span[0], work.now - timedelta(minutes=1))
        out.append({"matchers": _matchers(body), "startsAt": _iso(start),
                    "endsAt": _iso(span[1]), "createdBy": "bench", "comment": body["name"]})
    return out


def _post_silences(url: str, items: list[dict[str, Any]]) -> None:
    def post(chunk: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            for silence in chunk:
                client.post("/api/v2/silences", json=silence).raise_for_status()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(post, [items[i::4] for i in range(4)]))


def _evaluate(am: Alertmanager, count: int) -> dict[str, float]:
    started = time.perf_counter()
    alerts = am.alerts()
    first = time.perf_counter() - started
    repeated = best_of(3, am.alerts)
    silenced = sum(bool(a["status"]["silencedBy"]) for a in alerts)
    return {"first_per_s": count / first, "cached_per_s": count / repeated,
            "silenced_pct": 100 * silenced / max(1, len(alerts)), "alerts": len(alerts)}


def _ingest_script(targets: int, teams: int) -> str:
    """One new alert per ``POST /api/v2/alerts``: the labels quietly decides on in part 2."""
    return lua_alert(targets, teams) + """
wrk.method = "POST"
wrk.path = "/api/v2/alerts"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local parts = {}
  for _, pair in ipairs(alert()) do
    parts[#parts + 1] = '"' .. pair[1] .. '":"' .. pair[2] .. '"'
  end
  return wrk.format(nil, nil, nil, '[{"labels":{' .. table.concat(parts, ",") .. '}}]')
end
"""


def run(alerts: int, windows: int, targets: int, seconds: int) -> dict[str, Any]:
    if BINARY is None:
        print("\n## 6. Alertmanager side by side\n  skipped: prometheus-alertmanager is not "
              "installed (apt-get install prometheus-alertmanager)")
        return {"title": "6. Alertmanager", "skipped": "binary absent", "figures": {}}
    work = make_workload(windows, targets, alerts)
    am_alerts = work.am_alerts(alerts)
    all_silences = silences(work)
    label_count = sum(1 for w in work.windows if "match" in w)
    rows: list[tuple[str, Any, str]] = []
    figures: dict[str, Any] = {}
    # The first silencedBy evaluation with 10,000 silences takes tens of seconds.
    with Alertmanager(timeout=900) as am:
        for start in range(0, len(am_alerts), 1000):
            am.post_alerts(am_alerts[start:start + 1000])
        loaded = 0
        for items in (all_silences[:label_count], all_silences[label_count:]):
            _post_silences(am.url, items)
            loaded += len(items)
            label = str(loaded)
            result = _evaluate(am, alerts)
            figures[f"silences_{label}"] = result
            rows += [(f"{label} silences: silencedBy, first call", result["first_per_s"],
                      "alerts/s"),
                     (f"{label} silences: silencedBy, repeated", result["cached_per_s"],
                      "alerts/s"),
                     (f"{label} silences: alerts silenced", result["silenced_pct"], "%")]
        if WRK is not None:
            for conns in (1, 16):
                r = wrk(am.url, _ingest_script(len(work.targets), work.teams), conns,
                        seconds)
                figures[f"ingest_{conns}c"] = r
                rows += [(f"single-alert ingest, {conns} conn", r["rps"], "alerts/s"),
                         (f"single-alert ingest, {conns} conn: p99", r["p99_ms"], "ms")]
    return print_figures("6. Alertmanager 0.25 (Debian) side by side", rows, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--windows", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    run(args.alerts, args.windows, args.targets, args.seconds)


if __name__ == "__main__":
    main()
