"""Run the app as ``quietly serve`` does (``create_app`` under uvicorn with
``server_config``'s protocol), on an inherited socket.

    python -m bench.serve --fd N --ready PATH

Several processes given the same listening socket share its connections (the kernel hands
each accepted connection to one of them): this is how the benchmark runs "two ``serve``
processes" on one port. Settings come from the environment (``QUIETLY_*``), as for
``quietly serve``. ``--ready`` names a file written once the app has started (index loaded).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import socket
import time
from pathlib import Path

import uvicorn

from quietly.api.app import create_app
from quietly.api.server import server_config
from quietly.settings import get_settings


class _Server(uvicorn.Server):
    ready_file: Path | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.ready_file is not None:
            self.ready_file.write_text("ready")
        if os.environ.get("QUIETLY_BENCH_GC"):  # bench.create_cpu --gc: time the collections
            _time_collections()
        if os.environ.get("QUIETLY_BENCH_PROFILE"):  # bench.create_cpu --profile
            self.profiler = cProfile.Profile()
            self.profiler.enable()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if os.environ.get("QUIETLY_BENCH_GC"):
            Path(os.environ["QUIETLY_BENCH_GC"]).write_text(repr(_COLLECTED))
        profiler = getattr(self, "profiler", None)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.environ["QUIETLY_BENCH_PROFILE"])
        await super().shutdown(sockets)


_COLLECTED = [[0, 0.0], [0, 0.0], [0, 0.0]]  # per generation: collections, CPU seconds


def _time_collections() -> None:
    started = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            entry = _COLLECTED[info["generation"]]
            entry[0] += 1
            entry[1] += time.process_time() - started[0]

    gc.callbacks.append(timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--ready", type=Path)
    args = parser.parse_args()
    # socket(fileno=…) detects the family (AF_INET): uvicorn's own ``fd=`` assumes AF_UNIX,
    # which leaves Nagle's algorithm on and costs every small response ~40 ms.
    sock = socket.socket(fileno=args.fd)
    settings = get_settings()
    config = server_config(create_app(settings), log_level="warning", lifespan="on",
                           busy_poll_us=settings.busy_poll_us)
    server = _Server(config)
    server.ready_file = args.ready
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
