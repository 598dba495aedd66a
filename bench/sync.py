"""Silence sync: 10,000 running windows converging into a freshly started Alertmanager.

    PYTHONTZPATH="" .venv/bin/python -m bench.sync [--windows 10000] [--parallelism 1 8]
        [--delay-ms 20]

Seeds a fresh SQLite database with N one-time windows running now (nine in ten name a
``service`` target, one in ten a condition group on ``alertname`` and ``env``), starts
Debian's Alertmanager 0.25 with empty storage, creates one sync and runs the reconciler the
way the worker does (``sync.runner.run_sync``) until Alertmanager holds every silence.
Prints the seconds to converge and the requests made, then runs a steady-state reconcile
(nothing to change) and prints its requests: one list call per sync is the target.
With several ``--parallelism`` values, each converges into its own fresh Alertmanager from
the same seeded database, one after the other. ``--delay-ms`` sends every request through
a local proxy that holds it that long first (an Alertmanager across a network: the round
trip that parallel requests hide).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.integrations.amharness import BINARY, Alertmanager
from tests.sync.proxy import Proxy

from bench.common import print_figures
from bench.sync_common import System, converge_each, main_of, seed
from quietly.services.syncs import DEFAULT_PARALLELISM
from quietly.sync.reconciler import Tag

__all__ = ["main", "run"]


def _body(i: int, schedule: dict[str, str]) -> dict[str, Any]:
    if i % 10 == 0:
        return {"name": f"label-{i}", "schedule": schedule,
                "match": [[{"label": "alertname", "op": "=", "value": f"Alert{i}"},
                           {"label": "env", "op": "=", "value": "prod"}]]}
    return {"name": f"svc-{i}", "schedule": schedule, "targets": [f"service:svc-{i}"]}


def _ours(am: Alertmanager, sync_id: int) -> int:
    return sum(1 for s in am.client.get("/api/v2/silences").json()
               if s["status"]["state"] != "expired"
               and (tag := Tag.find(s.get("comment", ""))) is not None
               and tag.sync_id == sync_id)


@contextmanager
def _fresh() -> Iterator[System]:
    with Alertmanager(timeout=60) as am:
        @contextmanager
        def proxy(delay: float) -> Iterator[str]:
            made = Proxy(am.url, delay=delay)
            try:
                yield made.url
            finally:
                made.close()

        yield System(am.url, {}, lambda sync_id: _ours(am, sync_id), proxy)


def run(count: int, parallelisms: tuple[int, ...] = (DEFAULT_PARALLELISM,),
        delay_ms: float = 0) -> dict[str, Any]:
    if BINARY is None:
        print("prometheus-alertmanager is not installed: no figures")
        return {}
    seeded = seed("bench-sync", count, _body)
    rows: list[tuple[str, Any, str]] = [
        ("windows (running)", count, ""), ("seconds to seed", round(seeded.seconds, 1), "s")]
    rows += converge_each(seeded, count, _fresh, parallelisms, delay_ms, "silences")
    seeded.db.dispose()
    return print_figures("Silence sync: convergence into a fresh Alertmanager 0.25", rows)


def main() -> None:
    main_of(__doc__ or "", run)


if __name__ == "__main__":
    main()
