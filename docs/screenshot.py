"""Make ``docs/screenshot-timeline.png``, the README's picture of the timeline.

    PYTHONTZPATH="" .venv/bin/python docs/screenshot.py

Starts ``quietly serve`` on a temporary SQLite store and a free 127.0.0.1 port, creates a
workspace ``demo`` with a handful of windows relative to now (one running, one-time and
recurring ones, a group, an all-targets one), signs in with an editor key in Debian's
Chromium (Playwright) and saves the timeline at 1360x820, Europe/Berlin, en-GB.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
QUIETLY = Path(sys.executable).with_name("quietly")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _windows(now: datetime) -> list[dict[str, Any]]:
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    weekly = {"kind": "recurring", "timezone": "Europe/Berlin", "every": "weekly",
              "days_of_week": ["wed", "sun"], "start_time": "02:00", "end_time": "04:00"}
    return [
        {"name": "Checkout deploy", "targets": ["service:checkout"],
         "schedule": {"kind": "once", "start": _iso(now - timedelta(minutes=10)),
                      "end": _iso(now + timedelta(minutes=50))}},
        {"name": "Kubernetes 1.35 upgrade", "targets": ["group:web-tier"],
         "schedule": {"kind": "once", "start": _iso(hour + 2 * day),
                      "end": _iso(hour + 2 * day + timedelta(hours=4))}},
        {"name": "Weekly DB patching", "targets": ["service:postgres", "monitor:42"],
         "schedule": weekly},
        {"name": "Nightly backups", "targets": ["service:postgres"],
         "schedule": {"kind": "recurring", "timezone": "Europe/Berlin", "every": "daily",
                      "start_time": "01:00", "end_time": "01:30"}},
        {"name": "Certificate rotation", "targets": ["service:api-gateway", "service:checkout"],
         "schedule": {"kind": "recurring", "timezone": "UTC", "rrule": "FREQ=WEEKLY;BYDAY=TH",
                      "start_time": "09:00", "end_time": "10:00"}},
        {"name": "Datacenter power work", "all_targets": True,
         "schedule": {"kind": "once", "start": _iso(hour + 6 * day),
                      "end": _iso(hour + 6 * day + timedelta(hours=6))}},
    ]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="quietly-docs-") as folder:
        env = {**os.environ, "QUIETLY_DATABASE_URL": f"sqlite:///{folder}/quietly.db"}
        subprocess.run([QUIETLY, "admin", "create-workspace", "demo", "--timezone",  # noqa: S603
                        "Europe/Berlin"], env=env, check=True, capture_output=True)
        key = subprocess.run([QUIETLY, "admin", "create-key", "--name", "docs",  # noqa: S603
                              "--workspace",
                              "demo", "--role", "editor"], env=env, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([QUIETLY, "serve", "--host", "127.0.0.1",  # noqa: S603
                                   "--port", str(port),
                                   "--no-worker"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=base, timeout=10,
                              headers={"Authorization": f"Bearer {key}"}) as api:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if api.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise SystemExit("quietly serve did not become ready")
                    time.sleep(0.2)
                for body in _windows(datetime.now(UTC)):
                    made = api.post("/api/v1/windows", json=body)
                    if made.status_code != 201:
                        raise SystemExit(f"{body['name']}: {made.text}")
            with sync_playwright() as play:
                browser = play.chromium.launch(executable_path="/usr/bin/chromium")
                page = browser.new_page(viewport={"width": 1360, "height": 820},
                                        locale="en-GB", timezone_id="Europe/Berlin")
                page.goto(base + "/")
                page.get_by_label("API key").fill(key)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(base + "/")
                page.screenshot(path=str(HERE / "screenshot-timeline.png"))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(HERE / "screenshot-timeline.png")


if __name__ == "__main__":
    main()
