"""``quietly serve --busy-poll-us``: the flag reaches the server, and bad values are refused."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.storage.db import Database
from tests.conftest import make_tenant
from tests.worker.processes import QUIETLY, free_port, launch_serve, wait_healthy


def test_serve_with_busy_poll_answers_decisions(database_url: str, db: Database,
                                                tmp_path: Path) -> None:
    tenant = make_tenant(db, "http://unused")
    proc, base = launch_serve(database_url, tmp_path, tmp_path / "serve.log",
                              extra=("--busy-poll-us", "300"))
    try:
        wait_healthy(proc, base)
        with httpx.Client(base_url=base, headers={
                "Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"}) as client:
            answers = [client.get("/api/v1/decide", params={
                "target": "service:x", "at": f"2030-01-0{day}T00:00:00Z"}).json()
                for day in (1, 2, 3)]
    finally:
        proc.stop()
        tenant.close()
    assert answers == [{"verdict": "deliver", "windows": [], "at": f"2030-01-0{day}T00:00:00Z",
                        "stale": False} for day in (1, 2, 3)]


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["--busy-poll-us", "10001"], {}, "--busy-poll-us"),
    (["--busy-poll-us", "-1"], {}, "--busy-poll-us"),
    ([], {"QUIETLY_BUSY_POLL_US": "lots"}, "error: QUIETLY_BUSY_POLL_US: Input should be a "
                                           "valid integer"),
    ([], {"QUIETLY_BUSY_POLL_US": "20000"}, "error: QUIETLY_BUSY_POLL_US: Input should be "
                                            "less than or equal to 10000"),
])
def test_bad_busy_poll_values_are_refused(tmp_path: Path, args: list[str], env: dict[str, str],
                                          expected: str) -> None:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("QUIETLY_")}
    done = subprocess.run([QUIETLY, "serve", "--port", str(free_port()), *args],
                          env={**base_env, "QUIETLY_DATA_DIR": str(tmp_path), **env},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
