"""Instructions per single create on the serving thread, counted by callgrind.

    PYTHONTZPATH="" python -m bench.create_instructions [--creates 300]

Runs this module again under ``valgrind --tool=callgrind --instr-atstart=no
--separate-threads=yes``: the child feeds ``bench.create_cpu``'s raw requests to the real
protocol in process (200 warm creates, then ``--creates``), and switches callgrind's
instrumentation on just before the measured creates and off just after them (callgrind's
client requests, from a two-line C library compiled here with ``cc``). The figure is the
main thread's instruction count over the creates: the protocol, the body, the checks, the
statements and commit, the index and the answer all run on it; threads that happen to run
meanwhile (the start-up's background imports) are left out. Deterministic to a fraction of
a per cent on any load, unlike CPU time on a shared VM. Needs ``valgrind`` (with its
``callgrind.h``) and a C compiler.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]

_SOURCE = """#include <valgrind/callgrind.h>
void cg_on(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_off(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""


def _library(directory: Path) -> Path:
    source, library = directory / "cgtoggle.c", directory / "libcgtoggle.so"
    source.write_text(_SOURCE)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)],
                   check=True)
    return library


async def _drive(library: str, creates: int) -> None:
    import uvloop  # noqa: F401 - the loop bench.create_cpu runs on

    from bench.create_cpu import _requests, _store
    from bench.routes import raw_protocol
    from quietly.api.app import create_app

    toggles = ctypes.CDLL(library)
    settings, key = _store()
    protocol, transport = await raw_protocol(create_app(settings))

    async def send(requests: list[bytes]) -> None:
        for request in requests:
            transport.written.clear()
            protocol.data_received(request)
            while not transport.written:
                await asyncio.sleep(0)
            if not transport.written[0].startswith(b"HTTP/1.1 201"):
                raise RuntimeError(transport.written[0][:300].decode(errors="replace"))

    await send(_requests(key, 200, 10_000_000))
    requests = _requests(key, creates, 0)
    toggles.cg_on()
    await send(requests)
    toggles.cg_off()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--driver", help=argparse.SUPPRESS)  # the child: the library's path
    args = parser.parse_args()
    if args.driver:
        import uvloop

        uvloop.run(_drive(args.driver, args.creates))
        return
    with tempfile.TemporaryDirectory(prefix="quietly-cg-") as tmp:
        directory = Path(tmp)
        library = _library(directory)
        out = directory / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                        "--separate-threads=yes", f"--callgrind-out-file={out}",
                        sys.executable, "-m", "bench.create_instructions",
                        "--creates", str(args.creates), "--driver", str(library)],
                       check=True, stderr=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONTZPATH": ""})
        main_thread = Path(f"{out}-01").read_text()
    found = re.search(r"^totals: (\d+)", main_thread, re.MULTILINE)
    if found is None:
        raise RuntimeError("callgrind wrote no totals for the main thread")
    total = int(found.group(1))
    print(f"instructions per create, serving thread: {total / args.creates / 1e6:.3f} M "
          f"({args.creates} creates, {total:,} in all)")


if __name__ == "__main__":
    main()
