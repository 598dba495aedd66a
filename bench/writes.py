"""Writes, side by side with Alertmanager (Debian's ``prometheus-alertmanager``), one run.

    PYTHONTZPATH="" python -m bench.writes [--quick] [--load 50000] [--creates 3000]

Figures, each with Alertmanager's beside it:

- creates/s with one client and with eight (``POST /api/v1/windows``, a one-time window with
  one target, vs ``POST /api/v2/silences``, a silence with one matcher), every client a
  keep-alive connection of its own (threads of this process, the same client code for both);
- the same creates from ``wrk`` (1 and 8 keep-alive connections, 5 s each, a body of its own
  per request): a C client that costs far less than either server, where this process's
  Python threads (about half a millisecond a request on a small VM, and one interpreter
  lock for the eight) bound the figures above — these are the servers' own rates; and
  quietly's at 8 connections once more with two ``serve`` processes on the one SQLite file,
  sharing the port and following each other through the change feed (``worker.feed``);
- loading ``--load`` objects (default 50,000) the fastest way each offers: quietly's
  ``POST /api/v1/windows/batch`` (5,000 a request, 2 requests in flight) vs Alertmanager's
  silence API from 8 threads;
- the bytes on disk afterwards (quietly's data directory with its SQLite database, after a
  clean stop; Alertmanager's ``--storage.path`` after its snapshot on SIGTERM), and per item.

``run(quick=…)`` returns the figures as a dict (``print_figures``'s shape): the lead's
"writes and scale" part calls it. Installs nothing: without the Alertmanager binary its
column says so.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from tests.integrations.amharness import BINARY, Alertmanager

from bench.common import print_figures
from bench.servers import WRK, Servers, wrk
from quietly.api.app import prepare_database
from quietly.core.records import Role
from quietly.services import workspaces
from quietly.settings import Settings

__all__ = ["main", "run"]

BATCH = 5_000
WRK_SECONDS = 5  # per wrk figure


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def window_body(i: int, now: datetime) -> dict[str, Any]:
    """A one-time window with one target, starting in an hour (the silence's twin)."""
    start = now + timedelta(hours=1)
    return {"name": f"bench {i}", "targets": [f"service:s{i}"],
            "schedule": {"kind": "once", "start": _iso(start),
                         "end": _iso(start + timedelta(hours=2))}}


def silence_body(i: int, now: datetime) -> dict[str, Any]:
    start = now + timedelta(hours=1)
    return {"matchers": [{"name": "service", "value": f"s{i}", "isRegex": False,
                          "isEqual": True}],
            "startsAt": _iso(start), "endsAt": _iso(start + timedelta(hours=2)),
            "createdBy": "bench", "comment": f"bench {i}"}


def _rate(url: str, headers: dict[str, str], path: str, clients: int, count: int,
          body: Callable[[int], dict[str, Any]]) -> float:
    """Objects created per second by ``clients`` threads, ``count`` in all."""
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def client(first: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            http.get("/-/ready" if "silences" in path else "/healthz")  # connect first
            barrier.wait()
            for i in range(first, count, clients):
                response = http.post(path, json=body(i))
                if response.status_code not in (200, 201):
                    errors.append(f"{response.status_code} {response.text[:200]}")
                    return

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(errors[0])
    return count / elapsed


_MARK = 987654321  # stands for the request's number in a body template (``_create_script``)


def _create_script(path: str, headers: dict[str, str], body: str) -> str:
    """A wrk script posting ``body`` to ``path``, each ``_MARK`` in it replaced by a number of
    its own per request (wrk's threads count from starts 10^8 apart): every create names a
    target, or matcher, of its own."""
    pieces = body.split(str(_MARK))
    lines = ['wrk.method = "POST"', f'wrk.path = "{path}"',
             'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    return "\n".join(lines) + f"""
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("first", threads * 100000000)
end
local pieces = {{{", ".join(f"[==[{p}]==]" for p in pieces)}}}
init = function() counter = first or 0 end
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, table.concat(pieces, tostring(counter)))
end
"""


def _wrk_rate(url: str, path: str, headers: dict[str, str], body: dict[str, Any],
              connections: int, seconds: int) -> float:
    """Creates/s from wrk (a C client far cheaper than either server: what this process's
    threads can send limits the ``_rate`` figures on a small VM), ``connections`` keep-alive
    connections for ``seconds``; every answer must be a 2xx."""
    return wrk(url, _create_script(path, headers, json.dumps(body)), connections,
               seconds)["rps"]


def _load_quietly(url: str, key: str, count: int, offset: int) -> float:
    now = datetime.now(UTC)
    # Encoded before the clock starts: the figure is the server's, not this client's.
    chunks = [json.dumps({"windows": [window_body(offset + i, now)
                                      for i in range(s, min(count, s + BATCH))]}).encode()
              for s in range(0, count, BATCH)]
    errors: list[str] = []

    def worker(mine: list[bytes]) -> None:
        with httpx.Client(base_url=url, timeout=600,
                          headers={"Authorization": f"Bearer {key}",
                                   "Content-Type": "application/json"}) as http:
            for chunk in mine:
                response = http.post("/api/v1/windows/batch", content=chunk)
                if response.status_code != 201:
                    errors.append(f"{response.status_code} {response.text[:300]}")
                    return

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(chunks[k::2],)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(errors[0])
    return elapsed


def load_only(load: int) -> float:
    """Seconds to load ``load`` windows into a fresh store (``_quietly_side``'s load)."""
    data_dir = Path(tempfile.mkdtemp(prefix="quietly-bench-load-"))
    db = prepare_database(Settings(data_dir=data_dir, run_worker=False))
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, "bench-load", name="bench",
                                         timezone="UTC", now=now)
        key = workspaces.create_key(session, ws.id, name="bench", role=Role.EDITOR, now=now)[1]
    db.dispose()
    with Servers({"QUIETLY_DATA_DIR": str(data_dir)}, 1) as servers:
        return _load_quietly(servers.url, key, load, 0)


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _quietly_side(quick: bool, creates: int, load: int) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(prefix="quietly-bench-writes-"))
    settings = Settings(data_dir=data_dir, run_worker=False)
    db = prepare_database(settings)
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, "bench-writes", name="bench",
                                         timezone="UTC", now=now)
        key = workspaces.create_key(session, ws.id, name="bench", role=Role.EDITOR, now=now)[1]
    db.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    out: dict[str, float] = {}
    env = {"QUIETLY_DATA_DIR": str(data_dir)}
    with Servers(env, 1) as servers:
        now = datetime.now(UTC)
        out["create_1"] = _rate(servers.url, headers, "/api/v1/windows", 1, creates,
                                lambda i: window_body(i, now))
        out["create_8"] = _rate(servers.url, headers, "/api/v1/windows", 8, creates,
                                lambda i: window_body(creates + i, now))
        if WRK is not None:
            for connections in (1, 8):
                out[f"wrk_{connections}"] = _wrk_rate(
                    servers.url, "/api/v1/windows", headers, window_body(_MARK, now),
                    connections, WRK_SECONDS)
    if WRK is not None:  # two processes, one SQLite file (the change feed between them)
        with Servers(env, 2) as servers:
            out["wrk_8_two"] = _wrk_rate(servers.url, "/api/v1/windows", headers,
                                         window_body(_MARK, datetime.now(UTC)), 8,
                                         WRK_SECONDS)
    # A fresh store for the load and its size: only the loaded windows in it.
    data_dir = Path(tempfile.mkdtemp(prefix="quietly-bench-load-"))
    settings = Settings(data_dir=data_dir, run_worker=False)
    db = prepare_database(settings)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, "bench-load", name="bench",
                                         timezone="UTC", now=now)
        key = workspaces.create_key(session, ws.id, name="bench", role=Role.EDITOR, now=now)[1]
    db.dispose()
    empty = _dir_bytes(data_dir)
    with Servers({"QUIETLY_DATA_DIR": str(data_dir)}, 1) as servers:
        out["load_s"] = _load_quietly(servers.url, key, load, 0)
    out["disk"] = _dir_bytes(data_dir) - empty
    return out


def _am_side(creates: int, load: int) -> dict[str, float] | str:
    if BINARY is None:
        return "skipped: prometheus-alertmanager is not installed"
    out: dict[str, float] = {}
    with Alertmanager() as am:
        now = datetime.now(UTC)
        out["create_1"] = _rate(am.url, {}, "/api/v2/silences", 1, creates,
                                lambda i: silence_body(i, now))
        out["create_8"] = _rate(am.url, {}, "/api/v2/silences", 8, creates,
                                lambda i: silence_body(creates + i, now))
        if WRK is not None:
            for connections in (1, 8):
                out[f"wrk_{connections}"] = _wrk_rate(
                    am.url, "/api/v2/silences", {}, silence_body(_MARK, now), connections,
                    WRK_SECONDS)
    am = Alertmanager()
    with am:
        now = datetime.now(UTC)
        started = time.perf_counter()
        _rate(am.url, {}, "/api/v2/silences", 8, load, lambda i: silence_body(i, now))
        out["load_s"] = time.perf_counter() - started
        data = am._dir / "data"
        proc = am._proc
        assert proc is not None
        proc.terminate()  # SIGTERM: Alertmanager writes its snapshot
        proc.wait(timeout=30)
        out["disk"] = _dir_bytes(data)
    return out


def run(quick: bool = False, creates: int | None = None, load: int | None = None
        ) -> dict[str, Any]:
    """Print and return the writes figures (quietly and Alertmanager, one run)."""
    creates = creates or (400 if quick else 3000)
    load = load or (5_000 if quick else 50_000)
    q = _quietly_side(quick, creates, load)
    a = _am_side(creates, load)
    mib = 1024 * 1024

    def am(key: str, scale: float = 1.0) -> Any:
        return a[key] * scale if isinstance(a, dict) else "n/a"

    def ratio(num: float, key: str, invert: bool = False) -> Any:
        if not isinstance(a, dict):
            return "n/a"
        return (a[key] / num) if invert else (num / a[key])

    rows: list[tuple[str, Any, str]] = [
        ("creates/s, 1 client: quietly", q["create_1"], "per s"),
        ("creates/s, 1 client: Alertmanager", am("create_1"), "per s"),
        ("  ratio, 1 client (quietly / AM)", ratio(q["create_1"], "create_1"), "x"),
        ("creates/s, 8 clients: quietly", q["create_8"], "per s"),
        ("creates/s, 8 clients: Alertmanager", am("create_8"), "per s"),
        ("  ratio, 8 clients (quietly / AM)", ratio(q["create_8"], "create_8"), "x"),
    ]
    if "wrk_1" in q:
        rows += [
            ("creates/s, wrk, 1 connection: quietly", q["wrk_1"], "per s"),
            ("creates/s, wrk, 1 connection: Alertmanager", am("wrk_1"), "per s"),
            ("  ratio, wrk 1 connection (quietly / AM)", ratio(q["wrk_1"], "wrk_1"), "x"),
            ("creates/s, wrk, 8 connections: quietly", q["wrk_8"], "per s"),
            ("creates/s, wrk, 8 connections: Alertmanager", am("wrk_8"), "per s"),
            ("  ratio, wrk 8 connections (quietly / AM)", ratio(q["wrk_8"], "wrk_8"), "x"),
            ("creates/s, wrk, 8 connections: quietly, 2 processes", q["wrk_8_two"], "per s"),
            ("  ratio, wrk 8 connections, 2 processes (quietly / AM)",
             ratio(q["wrk_8_two"], "wrk_8"), "x"),
        ]
    else:
        rows.append(("creates/s, wrk", "skipped: wrk is not installed (apt-get install wrk)",
                     ""))
    rows += [
        (f"loading {load:,}: quietly (batch endpoint)", q["load_s"], "s"),
        (f"loading {load:,}: quietly, windows/s", load / q["load_s"], "per s"),
        (f"loading {load:,}: Alertmanager (API, 8 threads)", am("load_s"), "s"),
        ("  ratio, loading (AM time / quietly time)",
         ratio(q["load_s"], "load_s", invert=True), "x"),
        (f"on disk with {load:,}: quietly", q["disk"] / mib, "MiB"),
        (f"on disk with {load:,}: Alertmanager", am("disk", 1 / mib), "MiB"),
        ("on disk per item: quietly", q["disk"] / load, "bytes"),
        ("on disk per item: Alertmanager", am("disk", 1 / load), "bytes"),
        ("  ratio on disk (quietly / AM)", ratio(q["disk"], "disk"), "x"),
    ]
    return print_figures("writes (quietly and Alertmanager, one run)", rows,
                         {"quietly": q, "alertmanager": a, "creates": creates, "load": load})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--creates", type=int, help="creates per client count (3,000)")
    parser.add_argument("--load", type=int, help="objects loaded for the bulk figure (50,000)")
    parser.add_argument("--load-only", action="store_true",
                        help="quietly's load figure alone (no creates, no Alertmanager): for "
                             "comparing two versions of the code one after the other")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONTZPATH", "")
    if args.load_only:
        load = args.load or 50_000
        seconds = load_only(load)
        print(f"loading {load:,} through the batch endpoint: {seconds:.2f} s = "
              f"{load / seconds:,.0f} windows/s (load average {os.getloadavg()[0]:.2f})")
        return
    run(args.quick, args.creates, args.load)


if __name__ == "__main__":
    main()
