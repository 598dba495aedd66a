"""``quietly admin …`` before the first ``serve``, then ``serve`` and the client commands.

Each test runs real ``quietly`` processes with a fresh ``QUIETLY_DATA_DIR`` (a folder that does
not exist yet), as an operator would on a new machine: settings are read once per process, so
subprocesses are the honest way to change them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.cli.helpers import cli, ok, ok_json


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("QUIETLY_DATABASE_URL", "QUIETLY_URL", "QUIETLY_API_KEY")}
    return {**env, "QUIETLY_DATA_DIR": str(data_dir), "PYTHONTZPATH": ""}


def quietly(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quietly.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def fresh(tmp_path: Path) -> dict[str, str]:
    return _env(tmp_path / "new" / "data")


def test_create_workspace_and_key_before_the_first_serve(fresh: dict[str, str]) -> None:
    workspace = quietly(fresh, "admin", "create-workspace", "payments", "--name", "Payments",
                        "--timezone", "Europe/Berlin")
    key = quietly(fresh, "admin", "create-key", "--workspace", "payments", "--role", "editor",
                  "--name", "deploy-bot")
    listed = quietly(fresh, "admin", "list-workspaces")
    last_line = key.stdout.splitlines()[-1]
    assert (workspace.returncode, workspace.stdout, key.returncode, last_line.startswith("qly_"),
            " " in last_line, "deploy-bot" in key.stderr) == (
        0, "created workspace payments (id 2, Europe/Berlin)\n", 0, True, False, True)
    assert [line.split("\t")[:3] for line in listed.stdout.splitlines()] == [
        ["1", "default", "UTC"], ["2", "payments", "Europe/Berlin"]]


@pytest.mark.parametrize(("args", "message"), [
    (["create-key", "--workspace", "nope", "--name", "x"],
     "error: workspace: no workspace with slug 'nope'"),
    (["create-workspace", "bad slug!"], "error: "),
])
def test_admin_errors_exit_2(fresh: dict[str, str], args: list[str], message: str) -> None:
    result = quietly(fresh, "admin", *args)
    first, _, rest = result.stderr.partition("\n")  # first: the database the command used
    assert (result.returncode, first.startswith("database: sqlite:///"),
            rest.startswith(message), result.stdout) == (2, True, True, ""), result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(fresh: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A key made before the first start, then ``quietly serve`` on that database."""
    key = quietly(fresh, "admin", "create-key", "--role", "editor", "--name", "ops")
    assert key.returncode == 0, key.stderr
    url = f"http://127.0.0.1:{_free_port()}"
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "quietly.cli", "serve", "--port", url.rsplit(":", 1)[1],
             "--no-worker"], env=fresh, stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(url, process, log)
        yield url, key.stdout.splitlines()[-1]
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"quietly serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("quietly serve did not become healthy")


def test_a_key_made_before_serve_drives_the_client_commands(served: tuple[str, str]) -> None:
    url, key = served
    env: dict[str, str | None] = {"QUIETLY_URL": url, "QUIETLY_API_KEY": key}
    started = ok_json(cli("start", "service:checkout", "--for", "10m", "--json", env=env))
    quiet = cli("check", "service:checkout", env=env)
    listed = ok_json(cli("window", "list", "--json", env=env))
    assert (quiet.exit_code, [w["id"] for w in listed["windows"]]) == (0, [started["id"]])
    ok(cli("stop", "service:checkout", env=env))
    assert cli("check", "service:checkout", "-q", env=env).exit_code == 1
