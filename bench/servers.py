"""Start and stop ``bench.serve`` processes sharing one listening socket; run ``wrk``."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["WRK", "Servers", "wrk"]

WRK = shutil.which("wrk")


class Servers:
    """``count`` app processes on one port (127.0.0.1), with ``env`` added to the environment."""

    def __init__(self, env: dict[str, str], count: int = 1) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(4096)
        self._sock.set_inheritable(True)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="quietly-bench-"))
        full_env = {**os.environ, "PYTHONTZPATH": "", "QUIETLY_RUN_WORKER": "false", **env}
        self._procs = []
        for i in range(count):
            ready = self._dir / f"ready-{i}"
            self._procs.append((ready, subprocess.Popen(
                [sys.executable, "-m", "bench.serve", "--fd", str(self._sock.fileno()),
                 "--ready", str(ready)],
                pass_fds=[self._sock.fileno()], env=full_env, cwd=Path(__file__).parents[1])))

    @property
    def pids(self) -> list[int]:
        return [proc.pid for _, proc in self._procs]

    def __enter__(self) -> Servers:
        deadline = time.monotonic() + 600
        while not all(ready.exists() for ready, _ in self._procs):
            if time.monotonic() > deadline or any(p.poll() is not None for _, p in self._procs):
                self.__exit__()
                raise RuntimeError("a serve process did not start")
            time.sleep(0.1)
        return self

    def __exit__(self, *_exc: object) -> None:
        for _, proc in self._procs:
            proc.terminate()
        for _, proc in self._procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, script: str, connections: int, seconds: int) -> dict[str, float]:
    """Run wrk with a Lua ``script``; requests/s and p50/p99 latency in ms."""
    assert WRK is not None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    threads = 1 if connections < 4 else 2
    out = subprocess.run([WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--latency", "-s", lua.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(lua.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if errors:  # a benchmark of error answers would be meaningless: stop here
        raise RuntimeError(f"wrk got {errors.group(1)} non-2xx answers:\n{out}")
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99}
