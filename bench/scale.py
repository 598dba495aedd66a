"""Scale: start-up and memory with many windows, side by side with Alertmanager (issue 19).

    PYTHONTZPATH="" python -m bench.scale [--quick] [--windows 50000] [--restarts 3]
        [--db PATH] [--memory-windows 100000]

quietly: a SQLite store is seeded with ``--windows`` windows of the workload
(``workload.py``; through the service layer's bulk create, what ``POST
/api/v1/windows/batch`` runs — the seeding time is printed; ``--db`` reuses a file seeded
before), then the real ``quietly serve --no-worker`` is started ``--restarts`` times: the
time from spawning the process to the first ``GET /readyz`` answering 200, its RSS at that
moment, and its RSS once the background expansion is done (``/readyz`` says
``"index_pending": 0``). The same with an empty store gives the baseline for the RSS per
window. quietly's bytecode is compiled first, as installing it does (``compile_bytecode``).

Alertmanager (Debian's ``prometheus-alertmanager``): the same number of silences, equivalent
to the windows (``alertmanager.silences``: a recurring window becomes a silence for its current
or next occurrence), is posted through its API; it is stopped (it writes its snapshot) and
started again ``--restarts`` times on the same data folder: spawn to ``GET /-/ready`` 200, its
RSS, and the silences it holds (checked). Baseline: the same with no silence.

Last, ``inprocess.memory``: the bytes per window of the decision index alone (RSS growth of a
child process that builds an index of ``--memory-windows`` windows), the figure the issue's
goal of 1.2 KiB per window is stated in.

Figures are medians over the restarts. ``run()`` is what a combined part calls.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from tests.integrations.amharness import BINARY, free_port

from bench.alertmanager import post_silences, silences
from bench.common import print_figures
from bench.inprocess import _child_memory
from bench.seed import seed
from bench.workload import Workload, make_workload
from quietly import __file__ as quietly_init
from quietly.settings import Settings

__all__ = ["Seeder", "main", "run", "seed_sqlite"]

ROOT = Path(__file__).parents[1]
QUIETLY = Path(sys.executable).with_name("quietly")
# Takes the settings of an empty store and the workload; returns the seconds it took.
Seeder = Callable[[Settings, Workload], float]


def seed_sqlite(settings: Settings, work: Workload) -> float:
    """Every window of ``work`` through the bulk create (``bench.seed``)."""
    seeded = seed(settings, work)
    seeded.db.dispose()
    return seeded.seconds


def compile_bytecode() -> None:
    """Write quietly's bytecode files, as installing a wheel does (pip compiles at install).
    An editable install under ``PYTHONDONTWRITEBYTECODE=1`` (this VM's environment) has
    none, and every start would compile our 200-odd modules first: half a second of CPU
    that no installed quietly spends."""
    compileall.compile_dir(Path(quietly_init).parent, quiet=1)


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _until_ready(proc: subprocess.Popen[bytes], url: str, started: float,
                 timeout: float = 300) -> float:
    """Poll ``url`` every 5 ms until it answers 200; seconds since ``started``."""
    with httpx.Client(timeout=2) as client:
        while True:
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the process exited ({proc.returncode})")
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{url}: not ready after {timeout} s")
            time.sleep(0.005)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- quietly ------------------------------------------------------------------------------

def _pending(client: httpx.Client) -> int:
    found: int = client.get("/readyz").json().get("index_pending") or 0
    return found


def quietly_start(database_url: str) -> dict[str, float]:
    """One start of ``quietly serve --no-worker``: seconds to ready, RSS then and once the
    background expansion is done."""
    port = free_port()
    env = {**os.environ, "PYTHONTZPATH": "", "QUIETLY_DATABASE_URL": database_url,
           "QUIETLY_ACCESS_LOG": "false"}
    started = time.perf_counter()
    proc = subprocess.Popen([str(QUIETLY), "serve", "--no-worker", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        ready = _until_ready(proc, f"{url}/readyz", started)
        rss_ready = _rss_mib(proc.pid)
        with httpx.Client(base_url=url, timeout=10) as client:
            while _pending(client) > 0:
                time.sleep(0.05)
        expanded = time.perf_counter() - started
        time.sleep(0.5)  # let the last chunk's garbage go
        return {"ready_s": ready, "rss_ready_mib": rss_ready, "expanded_s": expanded,
                "rss_mib": _rss_mib(proc.pid)}
    finally:
        _stop(proc)


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


# -- Alertmanager -------------------------------------------------------------------------

class _AlertmanagerDir:
    """A data folder for Alertmanager, started and stopped as often as needed."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="quietly-am-scale-"))
        (self.dir / "alertmanager.yml").write_text(
            "route:\n  receiver: none\nreceivers:\n- name: none\n")

    def start(self) -> tuple[subprocess.Popen[bytes], str, float]:
        assert BINARY is not None
        port = free_port()
        started = time.perf_counter()
        proc = subprocess.Popen(
            [BINARY, f"--config.file={self.dir / 'alertmanager.yml'}",
             f"--storage.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        return proc, url, _until_ready(proc, f"{url}/-/ready", started)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _silence_count(url: str) -> int:
    total = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith("alertmanager_silences{"):
                total += int(float(line.split()[-1]))
    return total


def alertmanager_starts(items: list[dict[str, Any]], restarts: int) -> dict[str, Any]:
    """Load ``items`` (silences) into a fresh Alertmanager, then restart it ``restarts``
    times on its data folder; an empty one gives the baseline."""
    empty, full = _AlertmanagerDir(), _AlertmanagerDir()
    try:
        proc, url, _ = empty.start()
        time.sleep(0.5)
        base = _rss_mib(proc.pid)
        _stop(proc)
        proc, url, _ = full.start()
        posted_at = time.perf_counter()
        post_silences(url, items)
        posting = time.perf_counter() - posted_at
        _stop(proc)  # writes the snapshot
        runs = []
        for _ in range(restarts):
            proc, url, ready = full.start()
            rss_ready = _rss_mib(proc.pid)
            held = _silence_count(url)
            time.sleep(0.5)
            runs.append({"ready_s": ready, "rss_ready_mib": rss_ready,
                         "rss_mib": _rss_mib(proc.pid), "held": held})
            _stop(proc)
        return {"runs": runs, "baseline_mib": base, "post_s": posting}
    finally:
        empty.close()
        full.close()


# -- the part -----------------------------------------------------------------------------

def run(windows: int = 50_000, restarts: int = 3, *, db: Path | None = None,
        seeder: Seeder = seed_sqlite, memory_windows: int = 100_000,
        targets: int = 100_000) -> dict[str, Any]:
    """Print and return the scale figures (see the module docstring). ``db``: a SQLite file
    seeded before with the same workload (kept), seeded with ``seeder`` first when it does not
    exist yet; else a temporary one is seeded with ``seeder``."""
    work = make_workload(windows, targets, 1)
    compile_bytecode()
    folder = Path(tempfile.mkdtemp(prefix="quietly-scale-"))
    try:
        seeding = None
        if db is None:
            db = folder / "quietly.db"
        if not db.exists():  # a temporary store, or ``--db`` naming a file to seed and keep
            seeding = seeder(Settings(database_url=f"sqlite:///{db}"), work)
        empty = folder / "empty.db"
        quiet_empty = quietly_start(f"sqlite:///{empty}")
        runs = [quietly_start(f"sqlite:///{db}") for _ in range(restarts)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    mem = _child_memory(memory_windows, targets)
    q_ready, q_rss = _median(runs, "ready_s"), _median(runs, "rss_mib")
    q_item = (q_rss - quiet_empty["rss_mib"]) * 1024 / windows
    rows: list[tuple[str, Any, str]] = [("windows stored", windows, "")]
    if seeding is not None:
        rows.append(("seeding (bulk create, service layer)", windows / seeding,
                     "windows/s"))
    rows += [
        ("quietly: start to ready (/readyz 200)", q_ready, "s"),
        ("quietly: start to expansion done", _median(runs, "expanded_s"), "s"),
        ("quietly: RSS at ready", _median(runs, "rss_ready_mib"), "MiB"),
        ("quietly: RSS, expansion done", q_rss, "MiB"),
        ("quietly: RSS with an empty store", quiet_empty["rss_mib"], "MiB"),
        ("quietly: RSS per window", q_item, "KiB"),
        (f"quietly: index alone, per window ({mem['windows']:,}, inprocess)",
         mem["index_mb"] * 1024 / mem["windows"], "KiB"),
    ]
    am: dict[str, Any] = {}
    if BINARY is None:
        print("\n(prometheus-alertmanager is not installed: Alertmanager's side is skipped)")
    else:
        # A silence whose end has passed is refused: skip those ending too soon to post.
        soon = (datetime.now(UTC) + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
        items = [s for s in silences(work) if s["endsAt"] > soon]
        am = alertmanager_starts(items, restarts)
        a_ready = _median(am["runs"], "ready_s")
        a_rss = _median(am["runs"], "rss_mib")
        a_item = (a_rss - am["baseline_mib"]) * 1024 / len(items)
        rows += [
            ("Alertmanager: silences stored (held after restart)",
             f"{len(items):,} ({min(r['held'] for r in am['runs']):,})", ""),
            ("Alertmanager: start to ready (/-/ready 200)", a_ready, "s"),
            ("Alertmanager: RSS", a_rss, "MiB"),
            ("Alertmanager: RSS with no silence", am["baseline_mib"], "MiB"),
            ("Alertmanager: RSS per silence", a_item, "KiB"),
            ("ratio start to ready (quietly / Alertmanager)", q_ready / a_ready, "x"),
            ("ratio RSS per item (quietly / Alertmanager)", q_item / a_item, "x"),
        ]
    return print_figures("scale: start-up and memory with many windows", rows,
                         {"quietly_runs": runs, "quietly_empty": quiet_empty,
                          "alertmanager": am, "memory": mem})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="5,000 windows, one restart, a 10,000-window memory measure")
    parser.add_argument("--windows", type=int, default=50_000)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--memory-windows", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="a SQLite file seeded with the same workload "
                        "and --windows (skips seeding; seeded and kept when it does not exist)")
    args = parser.parse_args()
    if args.quick:
        args.windows, args.restarts, args.memory_windows = 5_000, 1, 10_000
    run(args.windows, args.restarts, db=args.db, memory_windows=args.memory_windows)


if __name__ == "__main__":
    main()
