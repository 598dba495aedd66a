"""Server CPU per single create (``POST /api/v1/windows``), one keep-alive client.

    PYTHONTZPATH="" python -m bench.create_cpu [--creates 3000] [--clients 1] [--profile OUT]

Starts a fresh ``bench.serve`` (as ``quietly serve``: access log on, group commit on) on an
empty SQLite store, sends ``--creates`` creates (``bench.writes.window_body``, bodies encoded
before the clock starts) from ``--clients`` raw keep-alive sockets, and prints the server
process's CPU time (``/proc/PID/stat``, user + system) per create, the creates/s and the load
average. ``--profile OUT`` runs the server under cProfile and writes its stats to OUT.
This measures the server, not the client: on a shared VM the CPU per create is steadier
than the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import uvloop

from bench.routes import raw_protocol
from bench.servers import Servers
from bench.writes import window_body
from quietly.api.app import create_app, prepare_database
from quietly.core.records import Role
from quietly.services import workspaces
from quietly.settings import Settings

__all__ = ["main", "run"]

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / _TICK, int(fields[12]) / _TICK


def _requests(key: str, count: int, offset: int) -> list[bytes]:
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        body = json.dumps(window_body(offset + i, now)).encode()
        out.append(b"POST /api/v1/windows HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                   b"authorization: Bearer " + key.encode() + b"\r\n"
                   b"content-type: application/json\r\ncontent-length: "
                   + str(len(body)).encode() + b"\r\n\r\n" + body)
    return out


def _send_all(port: int, requests: list[bytes], errors: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        for request in requests:
            sock.sendall(request)
            status = reader.readline()
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = reader.read(length)
            if not status.startswith(b"HTTP/1.1 201"):
                errors.append((status + body).decode(errors="replace"))
                return


def _store() -> tuple[Settings, str]:
    data_dir = Path(tempfile.mkdtemp(prefix="quietly-bench-cpu-"))
    settings = Settings(data_dir=data_dir, run_worker=False, access_log_file=os.devnull)
    db = prepare_database(settings)
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, "bench-cpu", name="bench",
                                         timezone="UTC", now=now)
        key = workspaces.create_key(session, ws.id, name="bench", role=Role.EDITOR,
                                    now=now)[1]
    db.dispose()
    return settings, key


def run(creates: int = 3000, clients: int = 1, profile: str | None = None,
        gc_file: str | None = None) -> dict[str, float]:
    settings, key = _store()
    env = {"QUIETLY_DATA_DIR": str(settings.data_dir)}
    if profile:
        env["QUIETLY_BENCH_PROFILE"] = profile
    if gc_file:
        env["QUIETLY_BENCH_GC"] = gc_file
    warm = _requests(key, 200, 10_000_000)
    batches = [_requests(key, len(range(k, creates, clients)), k * creates)
               for k in range(clients)]
    with Servers(env, 1) as servers:
        pid = servers.pids[0]
        errors: list[str] = []
        _send_all(servers.port, warm, errors)
        cpu = _cpu_seconds(pid)
        started = time.perf_counter()
        threads = [threading.Thread(target=_send_all, args=(servers.port, mine, errors))
                   for mine in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        user, system = (after - before for after, before in zip(_cpu_seconds(pid), cpu,
                                                                  strict=True))
        if errors:
            raise RuntimeError(errors[0])
    return {"cpu_us": (user + system) / creates * 1e6, "user_us": user / creates * 1e6,
            "system_us": system / creates * 1e6, "rate": creates / elapsed,
            "load": os.getloadavg()[0]}


async def _in_process(settings: Settings, key: str, creates: int, profile: str | None
                      ) -> float:
    """CPU time of the serving thread per create, the real protocol fed raw requests (no
    sockets: warm caches, no wake-ups, so below the server's figure, but steady)."""
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
    # thread CPU time, not the wall clock: what other processes take is not counted
    profiler = cProfile.Profile(time.thread_time) if profile else None
    if profiler is not None:
        profiler.enable()
    started = time.thread_time()
    await send(requests)
    spent = time.thread_time() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    return spent / creates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--profile", help="cProfile the server, stats written here")
    parser.add_argument("--gc", help="time the server's collections, written here")
    parser.add_argument("--in-process", action="store_true",
                        help="the protocol in this process, fed raw requests (no sockets)")
    args = parser.parse_args()
    if args.in_process:
        settings, key = _store()
        per = uvloop.run(_in_process(settings, key, args.creates, args.profile))
        print(f"in process: serving thread CPU per create {per * 1e6:.1f} us "
              f"({args.creates} creates, load {os.getloadavg()[0]:.2f})")
        return
    out = run(args.creates, args.clients, args.profile, args.gc)
    print(f"server CPU per create {out['cpu_us']:.0f} us (user {out['user_us']:.0f}, system "
          f"{out['system_us']:.0f}), {out['rate']:.0f} creates/s "
          f"({args.clients} client(s), {args.creates} creates, load {out['load']:.2f})")


if __name__ == "__main__":
    main()
