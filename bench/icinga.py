"""Icinga 2 sync: N running windows converging into a freshly started Icinga 2.

    PYTHONTZPATH="" .venv/bin/python -m bench.icinga [--windows 10000] [--parallelism 1 8]
        [--delay-ms 20]

Seeds a fresh SQLite database with N one-time windows running now, each naming one host
(``host:h<i>``), starts Debian's Icinga 2 with those N hosts (no services) and no downtime,
creates one ``icinga2`` sync and runs the reconciler the way the worker does
(``sync.runner.run_sync``) until Icinga holds every downtime. Prints the seconds to converge
and the requests made, then a steady-state reconcile (nothing to change): one list call.
With several ``--parallelism`` values, each converges into its own fresh Icinga 2 from the
same database, one after the other (the same machine state for every figure).
``--delay-ms`` sends every request through a local TLS proxy that holds it that long first
(an Icinga 2 across a network: the round trip that parallel requests hide).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.sync.icinga_harness import BINARY, Icinga
from tests.sync.proxy import Proxy

from bench.common import print_figures
from bench.sync_common import System, converge_each, main_of, seed
from quietly.services.syncs import DEFAULT_PARALLELISM

__all__ = ["main", "run"]


def _body(i: int, schedule: dict[str, str]) -> dict[str, Any]:
    return {"name": f"host-{i}", "schedule": schedule, "targets": [f"host:h{i}"]}


@contextmanager
def _fresh(count: int) -> Iterator[System]:
    with Icinga({f"h{i}": [] for i in range(count)}) as icinga:
        @contextmanager
        def proxy(delay: float) -> Iterator[str]:
            made = Proxy(icinga.url, delay=delay, tls=(icinga.cert_file, icinga.key_file),
                         ca_file=icinga.ca_file)
            try:
                yield made.url
            finally:
                made.close()

        yield System(icinga.url, {
            "type": "icinga2",
            "basic_auth": {"username": icinga.username, "password": icinga.password},
            "ca_file": str(icinga.ca_file)}, lambda _sync_id: len(icinga.downtimes()), proxy)


def run(count: int, parallelisms: tuple[int, ...] = (DEFAULT_PARALLELISM,),
        delay_ms: float = 0) -> dict[str, Any]:
    if BINARY is None:
        print("icinga2 is not installed: no figures")
        return {}
    seeded = seed("bench-icinga", count, _body)
    rows: list[tuple[str, Any, str]] = [("windows (running, one host each)", count, ""),
                                        ("seconds to seed", round(seeded.seconds, 1), "s")]
    rows += converge_each(seeded, count, lambda: _fresh(count), parallelisms, delay_ms,
                          "downtimes")
    seeded.db.dispose()
    return print_figures("Icinga 2 sync: convergence into a fresh Icinga 2.13", rows)


def main() -> None:
    main_of(__doc__ or "", run)


if __name__ == "__main__":
    main()
