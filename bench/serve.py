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
import socket
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
