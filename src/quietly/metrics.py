"""Prometheus metrics (DESIGN §4.5), on one registry that ``/metrics`` serves.

Labels are bounded: routes by their template (never raw paths), workspaces by slug, targets
only for targets that windows name (``quietly_maintenance_active``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "ALERTS_INGESTED",
    "ALERTS_UNROUTED",
    "DECISIONS",
    "DELIVERIES",
    "GROUP_COMMITS",
    "GROUP_COMMIT_WRITES",
    "INDEX_CATCHUPS",
    "INDEX_PENDING",
    "INDEX_STALE",
    "INDEX_WINDOWS",
    "MAINTENANCE_ACTIVE",
    "MAINTENANCE_DROPPED",
    "OUTBOX_BACKLOG",
    "REGISTRY",
    "REQUEST_LATENCY",
    "SYNCS",
    "WINDOWS_BY_STATE",
    "WORKER_LAG",
    "SyncFigures",
]

# No ``*_created`` series: one extra series per label set, which no dashboard reads.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_LATENCY = Histogram(
    "quietly_request_duration_seconds", "HTTP request latency by route template.",
    ["method", "route", "status"], registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
DECISIONS = Counter("quietly_decisions_total", "Decisions made, by verdict.",
                    ["verdict"], registry=REGISTRY)
ALERTS_INGESTED = Counter("quietly_alerts_ingested_total", "Alerts ingested, by outcome.",
                          ["outcome"], registry=REGISTRY)
ALERTS_UNROUTED = Counter(
    "quietly_alerts_unrouted_total",
    "Alerts to deliver that no route took: nothing was sent (add a route).", registry=REGISTRY)
GROUP_COMMITS = Counter(
    "quietly_group_commits_total", "Commits of the group-commit writer (window creates).",
    registry=REGISTRY)
GROUP_COMMIT_WRITES = Counter(
    "quietly_group_commit_writes_total",
    "Writes committed by the group-commit writer (over commits: the mean group size).",
    registry=REGISTRY)
WINDOWS_BY_STATE = Gauge("quietly_windows", "Live windows by lifecycle state.",
                         ["workspace", "state"], registry=REGISTRY)
# Label names a target kind may not take over: ours, and those Prometheus attaches on scrape.
_RESERVED_LABELS = frozenset({"workspace", "target", "kind", "job", "instance", "le",
                              "quantile"})


class MaintenanceActive(Collector):
    """``quietly_maintenance_active{workspace, target, kind, <kind>}``: 1 while a target named
    by a window is in maintenance, 0 for targets named only by windows not running now.

    Besides the whole target, each series carries its kind and, under a label named after the
    kind, its id (``service:checkout`` → ``kind="service", service="checkout"``), so an alert
    rule joins on its own label without ``label_replace``:
    ``up == 0 unless on(service) quietly_maintenance_active{kind="service"} == 1``. A kind
    that would clash with another label (``job``, ``instance``, …) gets no such label.

    At most ``limit`` series are exported (running targets first, then by workspace and
    target); the rest are counted in ``quietly_maintenance_targets_dropped``.
    """

    NAME = "quietly_maintenance_active"

    def __init__(self) -> None:
        self._series: list[tuple[str, str, int]] = []
        self.dropped = 0

    def replace(self, values: Iterable[tuple[str, str, int]], limit: int) -> None:
        """Export ``(workspace, target, value)`` triples from now on (keeping ``limit``)."""
        ordered = sorted(values, key=lambda item: (-item[2], item[0], item[1]))
        self._series = ordered[:limit]
        self.dropped = len(ordered) - len(self._series)
        MAINTENANCE_DROPPED.set(self.dropped)

    def collect(self) -> Iterator[Metric]:
        metric = Metric(self.NAME, "1 while a target named by a window is in maintenance "
                        "(for '… unless on(service) quietly_maintenance_active == 1').", "gauge")
        for workspace, target, value in self._series:
            kind, _, ident = target.partition(":")
            labels = {"workspace": workspace, "target": target, "kind": kind}
            if kind not in _RESERVED_LABELS:
                labels[kind] = ident
            metric.add_sample(self.NAME, labels, value)
        yield metric


MAINTENANCE_DROPPED = Gauge(
    "quietly_maintenance_targets_dropped", "Targets left out of quietly_maintenance_active "
    "because of QUIETLY_METRICS_MAX_TARGETS.", registry=REGISTRY)
MAINTENANCE_ACTIVE = MaintenanceActive()
REGISTRY.register(MAINTENANCE_ACTIVE)
INDEX_CATCHUPS = Counter(
    "quietly_index_catchups", "Windows and groups the periodic index check found out of date "
    "and reloaded: each one is a change notification this process missed.", registry=REGISTRY)
INDEX_STALE = Gauge("quietly_decision_index_stale",
                    "1 while decisions are answered from an index the store could not refresh.",
                    registry=REGISTRY)
INDEX_WINDOWS = Gauge("quietly_decision_index_windows", "Windows held in the decision index.",
                      registry=REGISTRY)
INDEX_PENDING = Gauge(
    "quietly_decision_index_pending", "What the background expansion after a load still has "
    "to do: recurring windows decided from their rules and targets without a precomputed "
    "timeline (decisions are exact meanwhile, only slower). 0 once done.", registry=REGISTRY)
OUTBOX_BACKLOG = Gauge("quietly_outbox_backlog", "Outbox messages not yet delivered, by status.",
                       ["status"], registry=REGISTRY)
DELIVERIES = Counter("quietly_deliveries_total", "Delivery attempts, by channel type and outcome.",
                     ["channel_type", "outcome"], registry=REGISTRY)
WORKER_LAG = Gauge("quietly_worker_lag_seconds",
                   "How far behind its due instant the worker handled the latest transition.",
                   registry=REGISTRY)


@dataclass(frozen=True, slots=True)
class SyncFigures:
    """One sync's figures as the store holds them (all processes share them)."""

    workspace: str
    sync: str
    objects: int
    errors_total: int
    repairs_total: int
    last_success: float | None  # Unix seconds


class _SyncCollector(Collector):
    """``quietly_sync_*`` per sync, from a snapshot of the store taken at scrape time.

    The counters live in the database (any worker process may run a sync), so they are
    exposed as counters read from there rather than incremented in this process.
    """

    def __init__(self) -> None:
        self.figures: list[SyncFigures] = []

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        labels = ["workspace", "sync"]
        objects = GaugeMetricFamily("quietly_sync_objects",
                                    "Objects (silences) a sync holds in its system.",
                                    labels=labels)
        errors = CounterMetricFamily("quietly_sync_errors",
                                     "Sync runs that failed (unreachable, 5xx, refused).",
                                     labels=labels)
        success = GaugeMetricFamily("quietly_sync_last_success_timestamp_seconds",
                                    "When a sync last finished a run without error.",
                                    labels=labels)
        repairs = CounterMetricFamily("quietly_sync_drift_repairs",
                                      "Objects recreated or corrected after drift.",
                                      labels=labels)
        for f in self.figures:
            key = [f.workspace, f.sync]
            objects.add_metric(key, f.objects)
            errors.add_metric(key, f.errors_total)
            repairs.add_metric(key, f.repairs_total)
            if f.last_success is not None:
                success.add_metric(key, f.last_success)
        yield from (objects, errors, success, repairs)


SYNCS = _SyncCollector()
REGISTRY.register(SYNCS)
