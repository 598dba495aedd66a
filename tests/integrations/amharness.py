"""Run Debian's real Alertmanager (``prometheus-alertmanager``) for tests and benchmarks.

``Alertmanager`` starts the binary on a free port with a throw-away config and data folder,
clustering off, one webhook receiver pointing where the caller says (optionally with a Bearer
credential, as ``http_config.authorization`` sends it). ``Recorder`` is a tiny HTTP server on
127.0.0.1 that keeps every webhook request, to record real payloads as fixtures.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx

__all__ = ["BINARY", "Alertmanager", "Recorder", "free_port"]

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(url: str | None, bearer: str | None, group_by: list[str]) -> str:
    if url is None:  # no receiver at all, and groups never flushed: nothing evaluates alerts
        return ("route:\n  receiver: none\n  group_wait: 24h\n  group_interval: 24h\n"
                "  repeat_interval: 24h\nreceivers:\n- name: none\n")
    auth = ""
    if bearer:
        auth = (f"\n    http_config:\n      authorization:\n        type: Bearer\n"
                f"        credentials: {bearer}")
    return (
        "route:\n  receiver: quietly\n"
        f"  group_by: {json.dumps(group_by)}\n"
        "  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        "receivers:\n- name: quietly\n  webhook_configs:\n"
        f"  - url: {url}\n    send_resolved: true{auth}\n"
    )


class Alertmanager:
    """The real binary, started on a free port; use as a context manager.

    Without ``webhook_url`` it has no receiver and never flushes groups (for benchmarks:
    then only API calls evaluate silences).
    """

    def __init__(self, webhook_url: str | None = None, *, bearer: str | None = None,
                 group_by: list[str] | None = None, timeout: float = 30) -> None:
        if BINARY is None:
            raise RuntimeError("prometheus-alertmanager is not installed")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="quietly-am-"))
        (self._dir / "alertmanager.yml").write_text(
            _config(webhook_url, bearer, group_by or ["alertname"]))
        self._proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=timeout)

    def __enter__(self) -> Alertmanager:
        assert BINARY is not None
        self._proc = subprocess.Popen(
            [BINARY, f"--config.file={self._dir / 'alertmanager.yml'}",
             f"--storage.path={self._dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
             "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.client.get("/-/ready").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("Alertmanager did not become ready")

    def __exit__(self, *_exc: object) -> None:
        self.client.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """``POST /api/v2/alerts`` (what Prometheus does)."""
        self.client.post("/api/v2/alerts", json=alerts).raise_for_status()

    def alerts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.client.get("/api/v2/alerts").json()
        return found


class Recorder:
    """A webhook receiver on 127.0.0.1 that records (headers, JSON body) of every POST."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                recorder.requests.append((dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return [body for _headers, body in self.requests]
