"""Process CPU per window of ``POST /api/v1/windows/batch`` through ``quietly serve``'s HTTP
protocol in this process (no sockets, no client process), on a fresh SQLite store.

    PYTHONTZPATH="" python -m bench.bulk_cpu [--batches 6] [--size 5000]

Each batch is a raw HTTP request (``bench.writes.window_body``, encoded before the clock
starts) fed to the protocol that ``bench.create_cpu --in-process`` uses; the route's work
runs in a worker thread, so the figure is the process's CPU time (``time.process_time``:
every thread, the write and the index included) per window, median over the batches. For
instruction counts run it under ``valgrind --tool=callgrind`` with two ``--batches`` and the
same ``--built`` and take the difference (the set-up, bodies included, cancels out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import UTC, datetime

import uvloop

from bench.create_cpu import _store
from bench.routes import raw_protocol
from bench.writes import window_body
from quietly.api.app import create_app

__all__ = ["main", "run"]


def _request(key: str, first: int, size: int, now: datetime) -> bytes:
    body = json.dumps({"windows": [window_body(first + i, now) for i in range(size)]}).encode()
    return (b"POST /api/v1/windows/batch HTTP/1.1\r\nhost: 127.0.0.1\r\n"
            b"authorization: Bearer " + key.encode() + b"\r\n"
            b"content-type: application/json\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


async def _run(batches: int, size: int, built: int) -> list[float]:
    settings, key = _store()
    # No write deadline: under valgrind a batch's write takes minutes, and the 15 s default
    # turned every counted batch into a 503.
    settings = settings.model_copy(update={"write_timeout_seconds": 86_400.0})
    protocol, transport = await raw_protocol(create_app(settings))
    now = datetime.now(UTC)
    warm = _request(key, 10_000_000, 100, now)  # the route's lazy imports, the first write
    requests = [_request(key, b * size, size, now) for b in range(max(batches, built))]
    requests = requests[:batches]
    spent: list[float] = []
    for request in (warm, *requests):
        transport.written.clear()
        started = time.process_time()
        protocol.data_received(request)
        while not transport.written:
            await asyncio.sleep(0.01)  # seldom: the loop's own polling is counted too
        spent.append((time.process_time() - started) / size)
        if not transport.written[0].startswith(b"HTTP/1.1 201"):
            raise RuntimeError(transport.written[0][:600].decode(errors="replace"))
    return spent[1:]


def run(batches: int = 6, size: int = 5000, built: int = 0) -> float:
    """Median process CPU seconds per window; ``built``: encode that many batches' bodies
    (at least ``batches``), so that two runs with different ``batches`` do the same
    set-up."""
    spent = uvloop.run(_run(batches, size, built))
    return sorted(spent)[len(spent) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--built", type=int, default=0,
                        help="encode this many batches' bodies (for instruction counts)")
    args = parser.parse_args()
    per = run(args.batches, args.size, args.built)
    print(f"batch create in process: CPU per window {per * 1e6:.1f} us "
          f"({args.batches} x {args.size:,}, load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
