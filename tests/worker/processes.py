"""Run ``quietly serve`` and ``quietly worker`` as real subprocesses against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

QUIETLY = str(Path(sys.executable).with_name("quietly"))
FAST_ENV = {"QUIETLY_WORKER_POLL_SECONDS": "0.2", "QUIETLY_WORKER_DELIVERY_POLL_SECONDS": "0.1",
            "QUIETLY_WORKER_LEASE_SECONDS": "3", "QUIETLY_WORKER_BACKOFF_BASE_SECONDS": "0.2",
            "QUIETLY_WORKER_BACKOFF_CAP_SECONDS": "1", "QUIETLY_WORKER_HTTP_TIMEOUT_SECONDS": "2",
            "QUIETLY_WORKER_RETRY_FOR_SECONDS": "20"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Proc:
    """One subprocess; ``kill()`` is SIGKILL (no cleanup), ``stop()`` is SIGTERM."""

    def __init__(self, args: list[str], database_url: str, data_dir: Path,
                 log: Path, env: dict[str, str] | None = None) -> None:
        env = {**os.environ, **FAST_ENV, "QUIETLY_DATABASE_URL": database_url,
               "QUIETLY_DATA_DIR": str(data_dir), "QUIETLY_WEBHOOK_ALLOW_PRIVATE": "true",
               "PYTHONTZPATH": "", **(env or {})}
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen([QUIETLY, *args], env=env, stdout=self._out,
                                      stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._out.close()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        self._out.close()


def launch_serve(database_url: str, data_dir: Path, log: Path, *, port: int | None = None,
                 worker: bool = False, extra: tuple[str, ...] = (),
                 env: dict[str, str] | None = None) -> tuple[Proc, str]:
    """Start ``quietly serve``; returns at once (see ``wait_healthy``)."""
    port = port or free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), *extra]
    if not worker:
        args.append("--no-worker")
    return Proc(args, database_url, data_dir, log, env), f"http://127.0.0.1:{port}"


def wait_healthy(proc: Proc, base: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"serve exited: {proc.log.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"serve did not start: {proc.log.read_text()[-2000:]}")


def wait_ready(proc: Proc, base: str, timeout: float = 45) -> dict[str, object]:
    """Wait for ``/readyz`` to answer 200; returns its body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"serve exited: {proc.log.read_text()[-2000:]}")
        try:
            response = httpx.get(base + "/readyz", timeout=1)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"serve did not become ready: {proc.log.read_text()[-2000:]}")


def start_serve(database_url: str, data_dir: Path, log: Path, *, port: int | None = None,
                worker: bool = False) -> tuple[Proc, str]:
    proc, base = launch_serve(database_url, data_dir, log, port=port, worker=worker)
    wait_healthy(proc, base)
    return proc, base


def start_worker(database_url: str, data_dir: Path, log: Path) -> Proc:
    return Proc(["worker"], database_url, data_dir, log)
