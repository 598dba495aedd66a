"""Helpers shared by the benchmark scripts: tables, JSON, RSS, timing, domain conversion."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from quietly.api.native.convert import window_fields_from_create
from quietly.api.native.schemas import WindowCreate
from quietly.core.model import Alert, Window
from quietly.core.records import WindowFields

__all__ = ["alerts_of", "best_of", "fields_of", "lua_alert", "print_figures", "rss_mb",
           "window_of", "windows_of"]


def rss_mb() -> float:
    """Resident set size of this process now (not the peak), in MiB."""
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    """The fastest of ``runs`` timings of ``fn()``, in seconds."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def fields_of(body: dict[str, Any], zone: str = "UTC") -> WindowFields:
    return window_fields_from_create(WindowCreate.model_validate(body), zone)


def window_of(wid: int, body: dict[str, Any], now: datetime) -> Window:
    f = fields_of(body)
    return Window(id=wid, workspace_id=1, name=f.name, schedule=f.schedule,
                  effects=frozenset(f.effects), targets=frozenset(f.targets),
                  match=f.match, created_at=now)


def windows_of(bodies: Iterable[dict[str, Any]], now: datetime) -> list[Window]:
    return [window_of(i, body, now) for i, body in enumerate(bodies, start=1)]


def alerts_of(items: Iterable[dict[str, Any]]) -> list[Alert]:
    return [Alert(targets=tuple(a.get("targets", ())), labels=dict(a.get("labels", {})))
            for a in items]


def print_figures(title: str, rows: list[tuple[str, Any, str]],
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Print ``rows`` (figure, value, unit) as a table, then as one JSON line; return it."""
    width = max([len(r[0]) for r in rows] + [10])
    print(f"\n## {title}")
    for name, value, unit in rows:
        shown = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}" \
            if isinstance(value, int) else str(value)
        print(f"  {name:<{width}}  {shown:>14}  {unit}")
    data = {"title": title, "figures": {r[0]: r[1] for r in rows}, **(extra or {})}
    print("JSON " + json.dumps(data))
    return data


def lua_alert(targets: int, teams: int) -> str:
    """A wrk Lua function ``alert()`` returning a random alert's labels, like the workload's
    (``bench.workload.Workload.combined_alerts``): the same for quietly's single decisions
    and Alertmanager's single-alert ingest, so both handle the same information."""
    return f"""
local n = 0
local names = {{"DiskFull", "CPUHigh", "LatencyHigh", "Down"}}
math.randomseed(7)
function alert()
  n = n + 1
  local sev = "ticket"
  if math.random(0, 1) == 0 then sev = "page" end
  return {{
    {{"alertname", names[math.random(1, 4)]}}, {{"team", "team-" .. math.random(0, {teams - 1})}},
    {{"env", "prod"}}, {{"severity", sev}}, {{"cluster", "c" .. math.random(0, 49)}},
    {{"service", "svc-" .. math.random(0, {targets - 1})}},
    {{"instance", "host-" .. n .. "-" .. math.random(1, 1000000) .. ":9100"}},
  }}
end
"""
