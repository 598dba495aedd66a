"""The issue's workload, generated deterministically (seeded), in native API shapes.

Defaults (the issue's): 10,000 windows — 70 % one-time on targets, 20 % recurring (RRULE,
cron and the simple forms, in five zones), 10 % with label matchers — over 100,000 distinct
targets, and alerts of which about 10 % are in maintenance at the instant measured.

How the 10 % comes about: a quarter of the one-time windows run now and name 6 targets each
(0.7 x ¼ x 10,000 x 6 ≈ 10,500 target slots, ~10 % of the target space once overlaps and the
recurring ones are counted); half of the label windows run now, each for one ``team``, and
label alerts draw their team from ten times as many teams as there are active windows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["Workload", "make_workload"]

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Workload:
    now: datetime
    windows: list[dict[str, Any]]  # POST /api/v1/windows bodies
    targets: list[str]
    target_alerts: list[dict[str, Any]]  # {"targets": [...]}
    label_alerts: list[dict[str, Any]]  # {"labels": {...}}
    teams: int

    def combined_alerts(self, count: int) -> list[dict[str, Any]]:
        """Alerts with a target *and* labels (the target's name as a ``service`` label too):
        what an Alertmanager alert becomes through the receiver's default target rule."""
        out = []
        for i in range(count):
            target = self.target_alerts[i % len(self.target_alerts)]["targets"][0]
            labels = {**self.label_alerts[i % len(self.label_alerts)]["labels"],
                      "service": target.split(":", 1)[1], "instance": f"host-{i}:9100"}
            out.append({"targets": [target], "labels": labels})
        return out

    def am_alerts(self, count: int) -> list[dict[str, Any]]:
        """``combined_alerts`` as Alertmanager receives them (labels only)."""
        return [{"labels": a["labels"]} for a in self.combined_alerts(count)]


def _once(rng: random.Random, now: datetime, targets: list[str], active: bool,
          i: int) -> dict[str, Any]:
    if active:  # running now, for at least another half hour
        start = now - timedelta(minutes=rng.randint(1, 120))
        end = now + timedelta(minutes=rng.randint(30, 480))
    else:
        start = now + timedelta(hours=rng.randint(2, 24 * 30))
        end = start + timedelta(minutes=rng.choice((30, 60, 120, 240, 480)))
    return {"name": f"once-{i}", "targets": rng.sample(targets, 6),
            "schedule": {"kind": "once", "start": _iso(start), "end": _iso(end)}}


def _recurring(rng: random.Random, targets: list[str], i: int) -> dict[str, Any]:
    zone = ZONES[i % len(ZONES)]
    hour = rng.randint(0, 23)
    form = i % 3
    schedule: dict[str, Any] = {"kind": "recurring", "timezone": zone,
                                "start_time": f"{hour:02d}:00", "duration": "PT2H"}
    if form == 0:
        schedule["rrule"] = f"FREQ=WEEKLY;BYDAY={rng.choice(RRULE_DAYS)}"
    elif form == 1:  # the cron expression gives the starts: no start_time
        del schedule["start_time"]
        schedule["cron"] = f"{rng.randint(0, 59)} {hour} * * {rng.randint(0, 6)}"
    else:
        schedule["every"] = "weekly"
        schedule["days_of_week"] = rng.sample(DAYS, 2)
    return {"name": f"recurring-{i}", "targets": rng.sample(targets, 2), "schedule": schedule}


def _label(now: datetime, i: int) -> dict[str, Any]:
    active = i % 2 == 0
    start = now - timedelta(hours=1) if active else now + timedelta(days=1 + i % 20)
    match = [[{"label": "team", "op": "=", "value": f"team-{i}"},
              {"label": "env", "op": "=", "value": "prod"}]]
    if i % 5 == 0:  # some regex and set matchers too, compiled once at upsert
        match[0].append({"label": "alertname", "op": "=~", "value": "(Disk|CPU|Latency).*"})
    if i % 7 == 0:  # a second condition group; its equality is its index anchor
        match.append([{"label": "cluster", "op": "=", "value": f"c{i % 50}"},
                      {"label": "severity", "op": "one_of", "values": ["page", "ticket"]},
                      {"label": "team", "op": "=", "value": f"team-{i}"}])
    return {"name": f"labels-{i}", "match": match,
            "schedule": {"kind": "once", "start": _iso(start),
                         "end": _iso(start + timedelta(hours=3))}}


def make_workload(windows: int = 10_000, targets: int = 100_000, alerts: int = 100_000,
                  seed: int = 7, now: datetime | None = None) -> Workload:
    """Windows 70/20/10 % once/recurring/labels; ``alerts`` target and label alerts each."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    names = [f"service:svc-{i}" for i in range(targets)]
    n_once, n_rec = windows * 7 // 10, windows * 2 // 10
    n_label = windows - n_once - n_rec
    bodies = [_once(rng, now, names, i % 4 == 0, i) for i in range(n_once)]
    bodies += [_recurring(rng, names, i) for i in range(n_rec)]
    bodies += [_label(now, i) for i in range(n_label)]
    teams = max(1, n_label * 5)  # half the label windows are active: ~10 % of alerts match
    target_alerts = [{"targets": [names[rng.randrange(targets)]]} for _ in range(alerts)]
    label_alerts = [{"labels": {
        "alertname": rng.choice(("DiskFull", "CPUHigh", "LatencyHigh", "Down")),
        "team": f"team-{rng.randrange(teams)}", "env": "prod",
        "severity": rng.choice(("page", "ticket")), "cluster": f"c{rng.randrange(50)}",
    }} for _ in range(alerts)]
    return Workload(now, bodies, names, target_alerts, label_alerts, teams)
