"""What ``quietly serve`` does not import to start (issue 19: start-up, fifth pass), and that
what it left out still works when first used, in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from quietly.settings import Settings

# Imported by the first request that needs them (or the background work after the first
# ready answer), not to start: the UI's page rendering (Jinja2), the HTTP client and the
# channel transports (the settings import the destination guard).
NOT_AT_START = ("jinja2", "quietly.web.render", "quietly.web.errors", "httpx2",
                "quietly.notify.transport", "quietly.notify.pinning")

_COLD = """
import asyncio, json, sys
import quietly.cli, quietly.api.server
from quietly.api.app import create_app
from quietly.settings import Settings

app = create_app(Settings(database_url=sys.argv[1], run_worker=False, access_log=False))
names = json.loads(sys.argv[2])
before = [m for m in names if m in sys.modules]

# First use, in this process: the UI's error handlers as the app registered them, the
# guard's URL check (the HTTP client) and its pinned transport, the channels' names.
from starlette.requests import Request
from quietly.web.auth import NotSignedIn, UiError
request = Request({"type": "http", "method": "GET", "path": "/windows", "headers": [],
                   "query_string": b"", "app": app, "router": app.router})
redirect = asyncio.run(app.exception_handlers[NotSignedIn](request, NotSignedIn("/windows", False)))
htmx = asyncio.run(app.exception_handlers[NotSignedIn](request, NotSignedIn("/windows", True)))
from quietly.notify import guard
from quietly import notify
try:
    guard.check_url_shape("http://\u2100.com/")  # not IDNA: the client refuses it
    refused = None
except guard.DestinationRefused as exc:
    refused = str(exc)
print(json.dumps({
    "before": before,
    "redirect": [redirect.status_code, redirect.headers.get("location")],
    "htmx": [htmx.status_code, htmx.headers.get("hx-redirect")],
    "shape": list(guard.check_url_shape("https://hooks.example.com/x")),
    "refused": refused,
    "pinned": guard.PinnedTransport.__module__,
    "transport": notify.HttpTransport.__module__,
    "sign": notify.sign.__module__,
    "after": [m for m in names if m in sys.modules],
}))
"""


def test_serving_imports_none_of_these_and_each_works_on_first_use(settings: Settings) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _COLD, settings.effective_database_url,
         json.dumps(NOT_AT_START)], capture_output=True, text=True, timeout=180, check=True,
        env={**os.environ, "PYTHONTZPATH": ""})
    found = json.loads(out.stdout.splitlines()[-1])
    assert found["before"] == []
    assert found["redirect"] == [303, "/sign-in?next=/windows"]
    assert found["htmx"] == [401, "/sign-in?next=/windows"]
    assert found["shape"] == ["hooks.example.com", 443]
    assert found["refused"] is not None
    assert found["refused"].startswith("not a valid URL")
    assert (found["pinned"], found["transport"], found["sign"]) == (
        "quietly.notify.pinning", "quietly.notify.transport", "quietly.notify.signing")
    assert "httpx2" in found["after"]
    assert "quietly.web.errors" in found["after"]


def test_a_ui_page_without_a_session_is_redirected_by_the_lazy_handler(server: str) -> None:
    """Through the app, a UI page without a session is redirected to sign in by the
    handler that imports ``web.errors`` on first use."""
    import httpx2 as httpx

    with httpx.Client(base_url=server, timeout=30) as client:
        answer = client.get("/windows", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=")


def test_a_websocket_upgrade_is_answered_as_plain_http(server: str) -> None:
    """No route speaks WebSocket, so uvicorn runs without an implementation of it (one import
    less to start, ``server_config``): an upgrade request gets the route's plain answer, not
    a 101 nor the refusal of a WebSocket handshake."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(server)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
                     b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
