"""Writes and scale (issue #19), every figure beside Alertmanager's, in one command.

    PYTHONTZPATH="" python -m bench.writes_scale [--quick]

Runs ``bench.writes`` (creates per second with one and eight clients, loading 50,000, bytes
on disk) and then ``bench.scale`` (start to ready and RSS with 50,000 stored, the index's
bytes per window), each against a fresh Debian Alertmanager in the same run. The two parts
also run alone; their docstrings say how each figure is taken.
"""

from __future__ import annotations

import argparse
import os

from bench import scale, writes

__all__ = ["main"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (400 creates, 5,000 windows, one restart)")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONTZPATH", "")
    writes.run(args.quick)
    if args.quick:
        scale.run(5_000, 1, memory_windows=10_000)
    else:
        scale.run()


if __name__ == "__main__":
    main()
