"""Single decisions against Alertmanager's single-alert ingest, in interleaved rounds.

A one-connection request/response loop on this 2-core VM is bound by how fast the kernel
wakes the other side, and that depends on whether the scheduler puts the client and the
server on the same core: the same server gives 6,000 or 16,000 requests/s from one 5-second
run to the next, and Alertmanager swings the same way. Two single runs minutes apart (parts
2 and 6) therefore compare luck as much as servers. Here both servers stay up side by side
and wrk alternates between them, ``rounds`` times per connection count, each round as long
as the other, after an unrecorded one-second warm-up of each; the figure of each side is its
median round, and the ratio is of the medians. Every round is printed, so the spread is
visible.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.servers import wrk

__all__ = ["interleave"]


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    rates = sorted(r["rps"] for r in runs)
    return {"median_rps": statistics.median(rates), "min_rps": rates[0],
            "max_rps": rates[-1], "rounds_rps": [r["rps"] for r in runs],
            "median_p99_ms": statistics.median(r["p99_ms"] for r in runs)}


def interleave(quietly: tuple[str, str], alertmanager: tuple[str, str], connections: int,
               rounds: int, seconds: int) -> dict[str, Any]:
    """``quietly`` and ``alertmanager`` are (base URL, wrk Lua script) pairs; alternate wrk
    runs between them and summarise each side. The side measured first alternates too."""
    runs: dict[str, list[dict[str, float]]] = {"quietly": [], "alertmanager": []}
    sides = {"quietly": quietly, "alertmanager": alertmanager}
    for url, script in sides.values():  # warm up both (caches, first connections), unrecorded
        wrk(url, script, connections, 1)
    for i in range(rounds):
        order = ("quietly", "alertmanager") if i % 2 == 0 else ("alertmanager", "quietly")
        for name in order:
            url, script = sides[name]
            runs[name].append(wrk(url, script, connections, seconds))
    q, a = _summary(runs["quietly"]), _summary(runs["alertmanager"])
    return {"quietly": q, "alertmanager": a, "ratio": q["median_rps"] / a["median_rps"]}
