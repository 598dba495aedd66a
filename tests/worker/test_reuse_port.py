"""``quietly serve --reuse-port``: several processes share one port (PostgreSQL only)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.worker.processes import QUIETLY, free_port, launch_serve, wait_healthy

needs_postgres = pytest.mark.skipif(
    not os.environ.get("QUIETLY_TEST_DATABASE_URL"),
    reason="several serve processes need PostgreSQL (set QUIETLY_TEST_DATABASE_URL)")


def _alive_after(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return True


@needs_postgres
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


@needs_postgres
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


def test_reuse_port_is_refused_on_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "QUIETLY_DATABASE_URL"}
    done = subprocess.run([QUIETLY, "serve", "--reuse-port", "--port", str(free_port())],
                          env={**env, "QUIETLY_DATA_DIR": str(tmp_path)}, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, "needs PostgreSQL" in done.stderr) == (2, True)
