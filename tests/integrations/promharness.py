"""Run Debian's real Prometheus (``prometheus``) for tests.

``Prometheus`` starts the binary on a free 127.0.0.1 port with a throw-away configuration and
data folder that scrapes one target every second and evaluates the given rules every second,
and stops it by PID. The first scrape comes about five seconds after start (no flag changes
that): callers wait for what they need with ``wait_for``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx

from tests.integrations.amharness import free_port

__all__ = ["BINARY", "PROMTOOL", "Prometheus"]

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")
BINARY = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


def _config(target: str, metrics_path: str) -> str:
    return (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "rule_files: [rules.yml]\n"
        "scrape_configs:\n- job_name: quietly\n"
        f"  metrics_path: {metrics_path}\n"
        f"  static_configs:\n  - targets: ['{target}']\n"
    )


class Prometheus:
    """The real binary scraping ``scrape_url`` (its host and port) with ``rules``."""

    def __init__(self, scrape_url: str, rules: str, *, metrics_path: str = "/metrics") -> None:
        if BINARY is None:
            raise RuntimeError("prometheus is not installed")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="quietly-prom-"))
        (self._dir / "prometheus.yml").write_text(
            _config(urlsplit(scrape_url).netloc, metrics_path))
        (self._dir / "rules.yml").write_text(rules)
        self._proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def __enter__(self) -> Prometheus:
        assert BINARY is not None
        self._log = (self._dir / "prometheus.log").open("wb")
        self._proc = subprocess.Popen(
            [BINARY, f"--config.file={self._dir / 'prometheus.yml'}",
             f"--storage.tsdb.path={self._dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT)
        self._wait(lambda: self.client.get("/-/ready").status_code == 200, "ready")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._log.close()
        self.client.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def log(self) -> str:
        return (self._dir / "prometheus.log").read_text(errors="replace")[-3000:]

    def _wait(self, done: Any, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log()}")
            try:
                if done():
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus: not {what} within {timeout} s\n{self.log()}")
            time.sleep(0.2)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now."""
        response = self.client.get("/api/v1/query", params={"query": expr})
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def wait_for(self, expr: str, timeout: float = 60) -> None:
        """Wait until ``expr`` has at least one series."""
        self._wait(lambda: bool(self.query(expr)), f"showing {expr}", timeout)

    def last_evaluation(self) -> datetime:
        """When the (only) rule group was last evaluated."""
        groups = self.client.get("/api/v1/rules").json()["data"]["groups"]
        found = _RFC3339.fullmatch(str(groups[0]["lastEvaluation"]))
        assert found is not None, groups[0]["lastEvaluation"]
        seconds, fraction, zone = found.groups()
        # Go writes nanoseconds; fromisoformat takes at most microseconds.
        return datetime.fromisoformat(
            f"{seconds}.{(fraction or '0')[:6]}{'+00:00' if zone == 'Z' else zone}")

    def wait_evaluated_after(self, instant: datetime, timeout: float = 30) -> None:
        """Wait until the rules have been evaluated after ``instant``."""
        self._wait(lambda: self.last_evaluation() > instant, f"evaluated after {instant}",
                   timeout)
