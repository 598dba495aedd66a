"""``quietly run`` through real processes against the real test server (issue 16, point 1).

Each test starts ``python -m quietly.cli run … -- COMMAND`` as its own process; the commands
are shell one-liners, some of which ask ``quietly check`` from inside whether their target is
quiet, so the exit code that comes back proves both the passing-through and the maintenance.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from quietly.core.records import Role
from tests.conftest import Tenant

# `"$0" -m quietly.cli check T -q` from inside the command: exit 0 when T is quiet.
CHECK = '"$0" -m quietly.cli check service:deploy -q'


def _env(tenant: Tenant) -> dict[str, str]:
    return {"QUIETLY_URL": tenant.base_url, "QUIETLY_API_KEY": tenant.keys[Role.EDITOR],
            "PYTHONTZPATH": "", "PATH": "/usr/bin:/bin"}


def _run_args(*options: str, script: str) -> list[str]:
    return [sys.executable, "-m", "quietly.cli", "run", "--target", "service:deploy",
            *options, "--", "sh", "-c", script, sys.executable]


def _run(tenant: Tenant, *options: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_run_args(*options, script=script), env=_env(tenant),
                          capture_output=True, text=True, timeout=120, check=False)


def _windows(tenant: Tenant) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = tenant.viewer.get(
        "/api/v1/windows", params={"target": "service:deploy"}).json()["windows"]
    return found


def _length(window: dict[str, Any]) -> timedelta:
    sched = window["schedule"]
    return datetime.fromisoformat(sched["end"]) - datetime.fromisoformat(sched["start"])


@pytest.mark.parametrize("code", [0, 3])
def test_the_command_runs_quiet_and_its_exit_code_passes_through(tenant: Tenant,
                                                                 code: int) -> None:
    done = _run(tenant, "--for", "10m", script=f"{CHECK} || exit 99; exit {code}")
    windows = _windows(tenant)
    assert (done.returncode, [w["state"] for w in windows], windows[0]["name"]) == (
        code, ["completed"], f"run: sh -c {CHECK} || exit 99; exit {code} {sys.executable}"
    ), done.stderr


@pytest.mark.parametrize(("sig", "to_group", "code"), [
    (signal.SIGTERM, False, 128 + signal.SIGTERM),  # a CI runner or systemd stopping the job
    (signal.SIGINT, True, 128 + signal.SIGINT),  # Ctrl-C: the whole process group
    (signal.SIGINT, False, 128 + signal.SIGINT),  # kill -INT to `quietly run` alone
])
def test_a_signal_ends_the_command_and_the_window(tenant: Tenant, sig: signal.Signals,
                                                  to_group: bool, code: int) -> None:
    process = subprocess.Popen(_run_args("--for", "10m", script="echo ready; exec sleep 300"),
                               env=_env(tenant), stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    assert process.stdout is not None
    ready = process.stdout.readline()
    quiet_meanwhile = _windows(tenant)[0]["state"]
    if to_group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    returncode = process.wait(timeout=60)
    process.stdout.close()
    assert (ready, quiet_meanwhile, returncode, [w["state"] for w in _windows(tenant)]) == (
        "ready\n", "active", code, ["completed"])


def test_the_window_is_extended_while_the_command_outlives_its_duration(
        tenant: Tenant) -> None:
    done = _run(tenant, "--for", "6s", "--max", "10m", script=f"sleep 9; {CHECK}")
    window = _windows(tenant)[0]
    assert (done.returncode, window["state"], _length(window) > timedelta(seconds=9)) == (
        0, "completed", True), done.stderr


def test_extension_stops_at_max(tenant: Tenant) -> None:
    done = _run(tenant, "--for", "3s", "--max", "4s", script=f"sleep 6; {CHECK}")
    window = _windows(tenant)[0]
    assert (done.returncode, window["state"], _length(window)) == (
        1, "completed", timedelta(seconds=4)), done.stderr


def test_a_missing_command_exits_127_and_ends_the_window(tenant: Tenant) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "quietly.cli", "run", "--target", "service:deploy", "--",
         "/nonexistent/deploy.sh"], env=_env(tenant), capture_output=True, text=True,
        timeout=120, check=False)
    assert (done.returncode, done.stderr.splitlines()[-1],
            [w["state"] for w in _windows(tenant)]) == (
        127, "quietly run: /nonexistent/deploy.sh: command not found", ["completed"])


@pytest.mark.parametrize(("options", "message"), [
    (["--target", "checkout"], "error: targets[0]: "),
    (["--target", "service:deploy", "--for", "1h", "--max", "30m"],
     "error: --max: must not be shorter than --for"),
    (["--target", "service:deploy", "--for", "soon"], "error: --for: 'soon' is not a duration"),
])
def test_the_command_does_not_run_without_maintenance(tenant: Tenant, tmp_path: Path,
                                                      options: list[str],
                                                      message: str) -> None:
    marker = tmp_path / "ran"
    done = subprocess.run([sys.executable, "-m", "quietly.cli", "run", *options, "--",
                           "touch", str(marker)], env=_env(tenant), capture_output=True,
                          text=True, timeout=120, check=False)
    assert (done.returncode, done.stderr.startswith(message), marker.exists()) == (
        2, True, False), done.stderr
