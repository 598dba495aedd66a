"""Prometheus metrics (DESIGN §4.5), on one registry that ``/metrics`` serves.

Labels are bounded: routes by their template (never raw paths), workspaces by slug, targets
only for targets that windows name (``quietly_maintenance_active``).
"""

from __future__ import annotations

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "ALERTS_INGESTED",
    "ALERTS_UNROUTED",
    "DECISIONS",
    "DELIVERIES",
    "INDEX_STALE",
    "INDEX_WINDOWS",
    "MAINTENANCE_ACTIVE",
    "OUTBOX_BACKLOG",
    "REGISTRY",
    "REQUEST_LATENCY",
    "WINDOWS_BY_STATE",
    "WORKER_LAG",
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
WINDOWS_BY_STATE = Gauge("quietly_windows", "Live windows by lifecycle state.",
                         ["workspace", "state"], registry=REGISTRY)
MAINTENANCE_ACTIVE = Gauge(
    "quietly_maintenance_active",
    "1 while a target named by a window is in maintenance (for '… unless on(service) …').",
    ["workspace", "target"], registry=REGISTRY)
INDEX_STALE = Gauge("quietly_decision_index_stale",
                    "1 while decisions are answered from an index the store could not refresh.",
                    registry=REGISTRY)
INDEX_WINDOWS = Gauge("quietly_decision_index_windows", "Windows held in the decision index.",
                      registry=REGISTRY)
OUTBOX_BACKLOG = Gauge("quietly_outbox_backlog", "Outbox messages not yet delivered, by status.",
                       ["status"], registry=REGISTRY)
DELIVERIES = Counter("quietly_deliveries_total", "Delivery attempts, by channel type and outcome.",
                     ["channel_type", "outcome"], registry=REGISTRY)
WORKER_LAG = Gauge("quietly_worker_lag_seconds",
                   "How far behind its due instant the worker handled the latest transition.",
                   registry=REGISTRY)
