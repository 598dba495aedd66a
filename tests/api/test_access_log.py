"""The access log: one JSON line per request, decisions only when asked, no secrets, and the
client address as seen through a trusted proxy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from quietly.settings import Settings
from quietly.storage.db import Database
from tests.conftest import make_tenant
from tests.web.sso_support import quietly_server


def _lines(path: Path, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [e for e in map(json.loads, path.read_text().splitlines()) if predicate(e)]


def _wait_for(path: Path, predicate: Callable[[dict[str, Any]], bool], count: int
              ) -> list[dict[str, Any]]:
    """The line is written once the response has gone out: give it a moment to land."""
    for _ in range(200):
        found = _lines(path, predicate)
        if len(found) >= count:
            return found
        time.sleep(0.02)
    return _lines(path, predicate)


@contextmanager
def logged_server(settings: Settings, db: Database, log: Path, **overrides: Any
                  ) -> Iterator[str]:
    with quietly_server(settings, db, access_log=True, access_log_file=str(log),
                        **overrides) as url:
        yield url


def test_one_line_per_request_with_the_fields(settings: Settings, db: Database,
                                              tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with logged_server(settings, db, log) as url:
        tenant = make_tenant(db, url)
        tenant.viewer.get("/api/v1/windows", params={"limit": 5})
        httpx.get(url + "/api/v1/windows/123456", headers={"User-Agent": "probe/1"})
        found = _wait_for(log, lambda e: e["path"].startswith("/api/v1/windows"), 2)
        tenant.close()
    first, second = found
    assert (sorted(first), first["event"], first["method"], first["route"], first["status"],
            first["client"], first["ts"].endswith("Z"), second["status"], second["route"],
            second["user_agent"]) == (
        ["client", "event", "method", "ms", "path", "route", "status", "ts", "user_agent"],
        "request", "GET", "/api/v1/windows", 200, "127.0.0.1", True, 401,
        "/api/v1/windows/{window_id}", "probe/1")


def test_calendar_tokens_never_reach_the_log(settings: Settings, db: Database,
                                             tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with logged_server(settings, db, log) as url:
        tenant = make_tenant(db, url)
        feed = tenant.admin.get("/api/v1/calendar").json()["workspace_url"]
        assert httpx.get(feed).status_code == 200
        token = feed.rsplit("/", 1)[1].removesuffix(".ics")
        found = _wait_for(log, lambda e: e["path"].startswith("/calendar/"), 1)
        tenant.close()
    assert (found[0]["path"], token in log.read_text()) == (
        f"/calendar/{tenant.slug}/….ics", False)


DECISION_CASES = {
    "left out by default": ({}, 0),
    "logged when asked": ({"access_log_decisions": True}, 2),
}


@pytest.mark.parametrize("case", DECISION_CASES, ids=list(DECISION_CASES))
def test_decisions_are_logged_only_when_asked(case: str, settings: Settings, db: Database,
                                              tmp_path: Path) -> None:
    overrides, expected = DECISION_CASES[case]
    log = tmp_path / "access.log"
    with logged_server(settings, db, log, **overrides) as url:
        tenant = make_tenant(db, url)
        ok = tenant.viewer.get("/api/v1/decide", params={"target": "service:a"})
        refused = httpx.get(url + "/api/v1/decide", params={"target": "service:a"})
        tenant.viewer.get("/healthz")  # a line that is always written, to wait for
        _wait_for(log, lambda e: e["path"] == "/healthz", 1)
        tenant.close()
    decisions = _lines(log, lambda e: e["path"] == "/api/v1/decide")
    assert (ok.status_code, refused.status_code, len(decisions)) == (200, 401, expected)


def test_access_log_can_be_turned_off(settings: Settings, db: Database,
                                      tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with quietly_server(settings, db, access_log=False, access_log_file=str(log)) as url:
        assert httpx.get(url + "/healthz").status_code == 200
    assert log.exists() is False


FORWARDED = {
    "through the trusted proxy": ("127.0.0.1", "203.0.113.7"),
    "from anyone else": ("127.0.0.2", "127.0.0.2"),
}


@pytest.mark.parametrize("case", FORWARDED, ids=list(FORWARDED))
def test_client_is_forwarded_only_through_a_trusted_proxy(
        case: str, settings: Settings, db: Database, tmp_path: Path) -> None:
    source, expected = FORWARDED[case]
    log = tmp_path / "access.log"
    with logged_server(settings, db, log, trusted_proxies="127.0.0.1") as url, httpx.Client(
            transport=httpx.HTTPTransport(local_address=source)) as client:
        client.get(url + "/healthz", headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.7"})
        found = _wait_for(log, lambda e: e["path"] == "/healthz", 1)
    assert found[0]["client"] == expected


LINES = [
    # (name, write_line's arguments): the line is what structlog's renderer wrote for them
    ("a plain GET", ("GET", "/api/v1/windows", "/api/v1/windows", 200, 0.0031, "127.0.0.1",
                     [(b"user-agent", b"probe/1")])),
    ("no route, no client, no agent", ("POST", "/nowhere", None, 404, 0.5, None, [])),
    ("non-ASCII path and agent", ("GET", "/compat/ohdear/sites/é", None, 401, 12.0, "::1",
                                  [(b"user-agent", "bö/1 \"x\"".encode("latin-1"))])),
]


@pytest.mark.parametrize(("name", "args"), LINES, ids=[c[0] for c in LINES])
def test_a_line_is_what_structlog_rendered(name: str, args: tuple[Any, ...],
                                           tmp_path: Path) -> None:
    """The lines are written without structlog (its import is a tenth of a second of every
    start): field for field, in the same order, as its JSON renderer wrote them."""
    import structlog

    from quietly.api.access_log import AccessLines, _header

    ours = tmp_path / "ours.log"
    with ours.open("a", buffering=1, encoding="utf-8") as stream:
        AccessLines(stream).write_line(*args)
    theirs = tmp_path / "theirs.log"
    with theirs.open("a", buffering=1, encoding="utf-8") as stream:
        method, path, route, status, seconds, client, headers = args
        structlog.wrap_logger(
            structlog.PrintLogger(file=stream),
            processors=[structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
                        structlog.processors.JSONRenderer()],
        ).info("request", method=method, path=path, route=route, status=status,
               ms=round(seconds * 1000, 2), client=client,
               user_agent=_header(headers, b"user-agent")[:200] or None)
    line, expected = ours.read_text(), theirs.read_text()
    # Equal but for the instant written (of the same form: RFC 3339 in UTC, "Z").
    assert (line.count("\n"), line.rsplit('"ts": ', 1)[0], len(line)) == (
        1, expected.rsplit('"ts": ', 1)[0], len(expected))


def test_stdout_is_the_one_at_the_time_of_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from quietly.api.access_log import AccessLines, open_stream

    lines = AccessLines(open_stream(None))
    assert open_stream(None) is sys.stdout
    lines.write_line("GET", "/healthz", "/healthz", 200, 0.001, None, [])
    assert json.loads(capsys.readouterr().out)["path"] == "/healthz"
