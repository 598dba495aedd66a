"""Figure 6: Alertmanager (Debian's ``prometheus-alertmanager``) side by side, same run.

    PYTHONTZPATH="" python -m bench.alertmanager [--alerts 10000]

Loads the workload's alerts (labels; a quietly target ``service:x`` is the label
``service="x"``) into a real Alertmanager that has no receiver (nothing but the API
evaluates silences), then adds silences equivalent to the workload's windows — first the
1,000 label windows (``team``/``env``/``alertname``/``cluster`` matchers), then the 9,000
others (a regex on ``service`` naming the window's targets; a recurring window becomes a
silence for its current or next occurrence) — and times ``GET /api/v2/alerts``, which
computes every alert's ``silencedBy``: the first call after the silences changed, and
repeated (cached) calls. Then its single-alert ingest rate (wrk posting one new alert per
``POST /api/v2/alerts``) head to head with quietly's single decisions (``GET
/api/v1/decide`` with the same alert's target and labels; one and two ``serve`` processes,
as installed and with ``--busy-poll-us``) at 1 and 16 connections, in interleaved rounds
(``bench/headtohead.py`` says why). Installs nothing: without the binary it prints why and
returns no figures.
"""

from __future__ import annotations

import argparse
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import httpx2 as httpx
from tests.integrations.amharness import BINARY, Alertmanager

from bench.common import best_of, fields_of, lua_alert, print_figures
from bench.headtohead import interleave
from bench.http import get_script
from bench.seed import seed
from bench.servers import WRK, Servers
from bench.workload import Workload, make_workload
from quietly.core import schedule as sched
from quietly.settings import Settings

__all__ = ["BUSY_POLL_US", "H2H_CONFIGS", "h2h_key", "main", "post_silences", "run",
           "silences"]

# ``quietly serve --busy-poll-us`` as installed (the setting's default): enough to catch a
# one-connection client's next request (its round trip here is 100-150 us), bench/README.md.
BUSY_POLL_US = Settings.model_fields["busy_poll_us"].default


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


def post_silences(url: str, items: list[dict[str, Any]]) -> None:
    """Create ``items`` through Alertmanager's API at ``url``, four clients at once."""
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


def run(alerts: int, windows: int, targets: int, seconds: int,
        rounds: int = 5) -> dict[str, Any]:
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
            post_silences(am.url, items)
            loaded += len(items)
            label = str(loaded)
            result = _evaluate(am, alerts)
            figures[f"silences_{label}"] = result
            rows += [(f"{label} silences: silencedBy, first call", result["first_per_s"],
                      "alerts/s"),
                     (f"{label} silences: silencedBy, repeated", result["cached_per_s"],
                      "alerts/s"),
                     (f"{label} silences: alerts silenced", result["silenced_pct"], "%")]
        if WRK is None:
            rows.append(("single-alert ingest", "skipped: wrk is not installed", ""))
        else:
            _head_to_head(am.url, work, seconds, rounds, rows, figures)
    return print_figures("6. Alertmanager 0.25 (Debian) side by side", rows, figures)


# (serve processes, --busy-poll-us): as installed (adaptive busy polling on), and with it off.
H2H_CONFIGS = ((1, BUSY_POLL_US), (2, BUSY_POLL_US), (1, 0), (2, 0))


def h2h_key(procs: int, busy_poll_us: int, conns: int) -> str:
    return f"h2h_{procs}p{'_bp' if busy_poll_us else ''}_{conns}c"


def _head_to_head(am_url: str, work: Workload, seconds: int, rounds: int,
                  rows: list[tuple[str, Any, str]], figures: dict[str, Any]) -> None:
    """Alertmanager's single-alert ingest against quietly's ``GET /decide`` (1 and 2
    processes, as installed and with busy polling off), interleaved (``bench.headtohead``), on the
    same workload."""
    data_dir = Path(mkdtemp(prefix="quietly-bench-h2h-"))
    seeded = seed(Settings(data_dir=data_dir, run_worker=False), work)
    seeded.db.dispose()
    am_side = (am_url, _ingest_script(len(work.targets), work.teams))
    for procs, busy_poll_us in H2H_CONFIGS:
        env = {"QUIETLY_DATA_DIR": str(data_dir), "QUIETLY_BUSY_POLL_US": str(busy_poll_us)}
        name = f"{procs} proc" + ("" if busy_poll_us else ", busy poll off")
        with Servers(env, procs) as servers:
            ours = (servers.url, get_script(seeded.key, len(work.targets), work.teams))
            for conns in (1, 16):
                result = interleave(ours, am_side, conns, rounds, seconds)
                figures[h2h_key(procs, busy_poll_us, conns)] = result
                q, a = result["quietly"], result["alertmanager"]
                if (procs, busy_poll_us) == (1, BUSY_POLL_US):
                    figures[f"ingest_{conns}c"] = {"rps": a["median_rps"],
                                                   "p99_ms": a["median_p99_ms"]}
                rows += [(f"AM single-alert ingest, {conns} conn (beside {name}): median",
                          a["median_rps"], f"alerts/s (rounds {_spread(a)})"),
                         (f"AM single-alert ingest, {conns} conn (beside {name}): p99",
                          a["median_p99_ms"], "ms (median)"),
                         (f"quietly GET /decide, {name}, {conns} conn: median",
                          q["median_rps"], f"req/s (rounds {_spread(q)})"),
                         (f"quietly GET /decide, {name}, {conns} conn: p99",
                          q["median_p99_ms"], "ms (median)"),
                         (f"  ratio to AM's ingest ({name}, {conns} conn)", result["ratio"],
                          "x")]


def _spread(side: dict[str, Any]) -> str:
    return ", ".join(f"{r:,.0f}" for r in side["rounds_rps"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--windows", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=3, help="per wrk round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved wrk rounds")
    args = parser.parse_args()
    run(args.alerts, args.windows, args.targets, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
