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
