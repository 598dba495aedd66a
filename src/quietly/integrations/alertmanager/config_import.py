"""Plan the windows that stand for an ``alertmanager.yml``'s time intervals (pure).

For every named time interval that routes mute with (``mute_time_intervals``), each of its
intervals is translated (``timeintervals.translate``) and every resulting schedule becomes one
window with the effect ``mute`` whose condition groups are the matchers of those routes, one
group per route (OR); a route whose matchers are empty (and its ancestors') takes every alert,
so the window gets ``all_targets``. For every route with ``active_time_intervals`` (muted
outside them), the complement of its one interval is translated the same way; the complement
of several intervals is the intersection of their complements, which a union of windows
cannot express in general, so such a route is reported instead. Entries no route uses are
reported: a window for them would have nothing to mute.

Idempotent: each window's description ends with ``quietly-import: alertmanager-config:<digest>``
(a digest of its schedule and scope); a window already carrying the key is not created again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from quietly.integrations.alertmanager.amconfig import AlertmanagerConfig, IntervalEntry, RouteUse
from quietly.integrations.alertmanager.timeintervals import Translation, complement, translate

__all__ = ["MARKER", "ConfigPlan", "Finding", "PlannedWindow", "import_key", "plan_config"]

MARKER = "quietly-import:"


@dataclass(frozen=True, slots=True)
class PlannedWindow:
    key: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Finding:
    """Something about one interval: what it concerns and why."""

    subject: str
    reason: str


@dataclass
class ConfigPlan:
    windows: list[PlannedWindow] = field(default_factory=list)
    untranslatable: list[Finding] = field(default_factory=list)  # left out: quietly can't
    skipped: list[Finding] = field(default_factory=list)  # left out: nothing to do
    notes: list[Finding] = field(default_factory=list)  # translated, with a difference


def import_key(description: str | None) -> str | None:
    """The import key a window's description ends with, if any."""
    for line in reversed((description or "").splitlines()):
        if line.startswith(MARKER):
            return line[len(MARKER):].strip()
    return None


def _scope(uses: list[RouteUse]) -> dict[str, Any]:
    if any(not use.matchers for use in uses):
        return {"all_targets": True, "match": []}
    groups: list[list[dict[str, Any]]] = []
    for use in uses:
        group = list(use.matchers)
        if group not in groups:
            groups.append(group)
    return {"all_targets": False, "match": groups}


def _window(name: str, text: str, source: str, schedule: dict[str, Any],
            scope: dict[str, Any]) -> PlannedWindow:
    digest = hashlib.sha256(json.dumps({"schedule": schedule, **scope}, sort_keys=True)
                            .encode()).hexdigest()[:20]
    key = f"alertmanager-config:{digest}"
    body = {"name": name[:500], "schedule": schedule, "effects": ["mute"], **scope,
            "description": f"Imported from {source}: {text}.\n{MARKER} {key}"}
    return PlannedWindow(key, body)


def _collect(plan: ConfigPlan, subject: str, translation: Translation,
             now: datetime) -> list[dict[str, Any]]:
    """The translation's schedules that can still run; everything else becomes a finding."""
    plan.untranslatable += [Finding(subject, u) for u in translation.untranslatable]
    plan.notes += [Finding(subject, a) for a in translation.approximations]
    plan.skipped += [Finding(subject, f"never active: {i}") for i in translation.inactive
                     if translation.schedules]
    if translation.never:
        plan.skipped.append(Finding(subject, f"never active: {translation.never}"))
    today = now.date().isoformat()
    past = [s for s in translation.schedules if s.get("until", "9999") < today]
    plan.skipped += [Finding(subject, f"never active again: its years ended {s['until']} "
                             f"({s['rrule']})") for s in past]
    return [s for s in translation.schedules if s not in past]


def _plan_mute(plan: ConfigPlan, config: AlertmanagerConfig, entry: IntervalEntry,
               now: datetime) -> None:
    uses = config.mutes[entry.name]
    scope = _scope(uses)
    routes = ", ".join(f"{u.path} (line {u.line})" for u in uses)
    plan.notes += [Finding(entry.name, note) for use in uses for note in use.notes]
    schedules = []
    for i, interval in enumerate(entry.intervals):
        subject = f"{entry.name}[{i}]" if len(entry.intervals) > 1 else entry.name
        schedules += _collect(plan, subject, translate(interval, now=now), now)
    for n, schedule in enumerate(schedules, start=1):
        name = entry.name if len(schedules) == 1 else f"{entry.name} ({n}/{len(schedules)})"
        text = (f"Alertmanager time interval {entry.name!r} (line {entry.line}), muted on "
                f"{routes}")
        plan.windows.append(_window(name, text, config.source, schedule, scope))


def _plan_active(plan: ConfigPlan, config: AlertmanagerConfig, use: RouteUse,
                 names: tuple[str, ...], now: datetime) -> None:
    entries = {e.name: e for e in config.entries}
    intervals = [i for name in names for i in entries[name].intervals]
    subject = f"{use.path} active_time_intervals {list(names)}"
    if len(intervals) != 1:
        plan.untranslatable.append(Finding(subject, (
            f"the route is muted outside {len(intervals)} intervals, i.e. in the "
            "intersection of their complements, which a set of windows (a union) cannot "
            "express in general") if intervals else "the route is never active: muted always"))
        return
    scope = _scope([use])
    schedules = []
    for part in complement(intervals[0]):
        schedules += _collect(plan, subject, translate(part, now=now), now)
    label = "+".join(names)
    for n, schedule in enumerate(schedules, start=1):
        name = f"outside {label}" + (f" ({n}/{len(schedules)})" if len(schedules) > 1 else "")
        text = (f"Alertmanager route {use.path} (line {use.line}) is active only in {label}; "
                "this window mutes it outside")
        plan.windows.append(_window(name, text, config.source, schedule, scope))


def plan_config(config: AlertmanagerConfig, *, now: datetime) -> ConfigPlan:
    """Every window the configuration's intervals call for, and what could not be done."""
    plan = ConfigPlan()
    active_names = {name for _, names in config.actives for name in names}
    for entry in config.entries:
        if entry.name in config.mutes:
            _plan_mute(plan, config, entry, now)
        elif entry.name not in active_names:
            plan.skipped.append(Finding(entry.name, "no route mutes with it or is active only "
                                        "in it: a window would have nothing to mute"))
    for use, names in config.actives:
        _plan_active(plan, config, use, names, now)
    return plan
