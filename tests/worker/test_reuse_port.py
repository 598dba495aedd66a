"""``quietly serve --reuse-port``: several processes share one port (on PostgreSQL, or on one
SQLite file, each following the others' changes through the change feed)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx2 as httpx

from tests.worker.processes import free_port, launch_serve, wait_healthy


def _alive_after(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return True


def test_two_processes_share_the_port(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    first, base = launch_serve(database_url, tmp_path, tmp_path / "a.log", port=port,
                               extra=("--reuse-port",))
    second = None
    try:
        wait_healthy(first, base)
        second, _ = launch_serve(database_url, tmp_path, tmp_path / "b.log", port=port,
                                 extra=("--reuse-port",))
        assert _alive_after(second.popen, 8), (tmp_path / "b.log").read_text()[-2000:]
        first.stop()  # the port keeps answering: the second process serves it alone now
        assert httpx.get(base + "/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_without_the_flag_a_second_process_cannot_bind(database_url: str,
                                                      tmp_path: Path) -> None:
    port = free_port()
    first, base = launch_serve(database_url, tmp_path, tmp_path / "a.log", port=port,
                               extra=("--reuse-port",))
    try:
        wait_healthy(first, base)
        plain, _ = launch_serve(database_url, tmp_path, tmp_path / "b.log", port=port)
        try:
            assert not _alive_after(plain.popen, 30)
            assert plain.popen.returncode != 0
        finally:
            plain.stop()
    finally:
        first.stop()
