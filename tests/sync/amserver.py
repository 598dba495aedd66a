"""A real Alertmanager 0.25 for sync tests: start, SIGKILL/stop and restart on the same port,
optionally with its storage wiped; plus helpers to read its silences and alert statuses."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx

from quietly.sync.reconciler import Tag
from tests.integrations.amharness import BINARY, free_port

__all__ = ["Alertmanager", "eventually"]

T = TypeVar("T")
CONFIG = ("route:\n  receiver: none\n  group_wait: 24h\n  group_interval: 24h\n"
          "  repeat_interval: 24h\nreceivers:\n- name: none\n")


def eventually(probe: Callable[[], T], *, timeout: float = 30.0,
               what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy (returned), or fail at the deadline."""
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached; last value: {last!r}")
        time.sleep(0.05)
        last = probe()
    return last


class Alertmanager:
    """The Debian binary on a free 127.0.0.1 port with a temp folder; clustering off."""

    def __init__(self) -> None:
        if BINARY is None:
            import pytest

            pytest.skip("sync tests need Debian's prometheus-alertmanager "
                        "(apt-get install -y prometheus-alertmanager)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="quietly-sync-am-"))
        (self._dir / "alertmanager.yml").write_text(CONFIG)
        self._proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def start(self) -> Alertmanager:
        assert BINARY is not None
        self._proc = subprocess.Popen(
            [BINARY, f"--config.file={self._dir / 'alertmanager.yml'}",
             f"--storage.path={self._dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        eventually(self._ready, timeout=20, what="Alertmanager ready")
        return self

    def _ready(self) -> bool:
        try:
            return self.client.get("/-/ready").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self, *, wipe: bool = False) -> None:
        """SIGKILL (no snapshot on the way out), optionally deleting its storage."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._proc = None
        if wipe:
            shutil.rmtree(self._dir / "data", ignore_errors=True)

    def close(self) -> None:
        self.stop()
        self.client.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def silences(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.client.get("/api/v2/silences").json()
        return found

    def live(self, sync_id: int | None = None) -> list[dict[str, Any]]:
        """Active and pending silences; with ``sync_id`` only that sync's (by tag; sync ids
        are never reused, so the workspace need not be checked)."""
        out = []
        for silence in self.silences():
            if silence["status"]["state"] == "expired":
                continue
            tag = Tag.find(silence.get("comment", ""))
            if sync_id is None or (tag is not None and tag.sync_id == sync_id):
                out.append(silence)
        return out

    def add_silence(self, matchers: list[dict[str, Any]], ends_at: str,
                    comment: str = "by hand") -> str:
        body = {"matchers": matchers, "startsAt": "2020-01-01T00:00:00Z", "endsAt": ends_at,
                "createdBy": "someone", "comment": comment}
        response = self.client.post("/api/v2/silences", json=body)
        response.raise_for_status()
        return str(response.json()["silenceID"])

    def expire(self, silence_id: str) -> None:
        self.client.delete(f"/api/v2/silence/{silence_id}").raise_for_status()

    def post_alert(self, labels: dict[str, str]) -> None:
        self.client.post("/api/v2/alerts", json=[{"labels": labels}]).raise_for_status()

    def silenced_by(self, labels: dict[str, str]) -> list[str] | None:
        """The ids silencing the alert with exactly ``labels`` (None if it is not there)."""
        for alert in self.client.get("/api/v2/alerts").json():
            if alert["labels"] == labels:
                return sorted(alert["status"]["silencedBy"])
        return None
