"""``QUIETLY_WEBHOOK_ALLOW``: an operator opens exactly their internal receivers (networks and
host names) without ``QUIETLY_WEBHOOK_ALLOW_PRIVATE`` opening every internal address.

The guard's table runs on a fixed resolver; the API and delivery tests talk only to
127.0.0.1 (a second quietly server with the list set, a real receiver), with name resolution
replaced for the one name they invent.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from quietly.api.app import create_app
from quietly.api.server import server_config
from quietly.notify import guard
from quietly.notify.guard import AllowList, DestinationRefused, check_destination
from quietly.notify.transport import HttpTransport, OutboundRequest, TransportError
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.conftest import _free_port, make_tenant, serving

NAME = "hooks.internal.example"


def _answers(table: dict[str, list[str]]) -> guard.Resolver:
    def resolve(host: str, port: int) -> list[str]:
        return table[host]
    return resolve


DNS = {NAME: ["10.20.1.5"], "other.internal.example": ["10.20.1.6"],
       "a.corp.example": ["192.168.7.1"], "corp.example": ["192.168.7.2"],
       "mixed.example": ["93.184.215.14", "10.99.0.1"], "public.example": ["93.184.215.14"],
       "127.0.0.1": ["127.0.0.1"], "10.20.9.9": ["10.20.9.9"], "10.21.0.1": ["10.21.0.1"],
       "fd00::5": ["fd00::5"], "::1": ["::1"], "100.100.100.200": ["100.100.100.200"]}

ALLOW = "10.20.0.0/16, fd00::/64,hooks.internal.example,*.corp.example"

# (url, allow-list, allow_private) → the address the request would go to, or None: refused.
CASES = [
    ("http://10.20.9.9/h", ALLOW, False, "10.20.9.9"),            # in a listed network
    ("http://10.21.0.1/h", ALLOW, False, None),                   # next to it: not
    (f"http://{NAME}/h", ALLOW, False, "10.20.1.5"),              # a listed name
    ("http://other.internal.example/h", ALLOW, False, "10.20.1.6"),  # its address is listed
    ("http://a.corp.example/h", ALLOW, False, "192.168.7.1"),     # under a *. suffix
    ("http://corp.example/h", ALLOW, False, None),                # the suffix itself: not
    ("http://[fd00::5]/h", ALLOW, False, "fd00::5"),              # IPv6 network
    ("http://[::1]/h", ALLOW, False, None),                       # loopback, not listed
    ("http://127.0.0.1/h", ALLOW, False, None),
    ("http://100.100.100.200/latest", ALLOW, False, None),        # metadata service
    ("http://mixed.example/h", ALLOW, False, None),               # one address not listed
    ("http://public.example/h", ALLOW, False, "93.184.215.14"),   # public: as before
    ("http://10.20.9.9/h", "", False, None),                      # no list: internal refused
    ("http://127.0.0.1/h", "", True, "skipped"),                  # allow_private: no check
    ("http://127.0.0.1/h", "127.0.0.1", False, "127.0.0.1"),      # one address, no prefix
]


@pytest.mark.parametrize(("url", "allow", "allow_private", "expected"), CASES)
def test_allow_list_table(url: str, allow: str, allow_private: bool,
                          expected: str | None) -> None:
    try:
        got: str | None = check_destination(url, allow_private, allow=AllowList.parse(allow),
                                             resolve=_answers(DNS)) or "skipped"
    except DestinationRefused:
        got = None
    assert got == expected


BAD_ENTRIES = ["10.20.0.0/33", "hooks_internal", "*.", "-", "exa mple.com/", "http://x.example"]


@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_a_bad_entry_stops_start_up_naming_it(entry: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(webhook_allow=f"10.0.0.0/8,{entry}")
    assert entry.split()[0] in str(caught.value)


def test_the_refusal_says_how_to_open_the_destination() -> None:
    with pytest.raises(DestinationRefused) as caught:
        check_destination("http://10.21.0.1/h", False, allow=AllowList.parse(ALLOW),
                          resolve=_answers(DNS))
    assert "QUIETLY_WEBHOOK_ALLOW" in str(caught.value)


@pytest.fixture
def restore_allow_list() -> Iterator[None]:
    before = guard.allowed_destinations()
    yield
    guard.configure(before)


@pytest.fixture
def resolving(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Resolve the names put in the returned dict to the given address (the rest as usual)."""
    names: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture
def guarded_server(settings: Settings, db: Database,
                   restore_allow_list: None) -> Iterator[str]:
    """A second server over the suite's database with internal addresses closed except
    127.0.0.1 and the name hooks.internal.example."""
    closed = replace_settings(settings, webhook_allow_private=False,
                              webhook_allow=f"127.0.0.1/32,{NAME}")
    port = _free_port()
    config = server_config(create_app(closed, database=db), host="127.0.0.1", port=port,
                           log_level="warning", lifespan="on")
    with serving(config):
        yield f"http://127.0.0.1:{port}"


def replace_settings(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


# (url, status of POST /api/v1/channels) with 127.0.0.1/32 and hooks.internal.example listed.
SAVES = [
    ("http://127.0.0.1:9/hook", 201),
    (f"http://{NAME}:9/hook", 201),          # the name is listed, whatever it resolves to
    ("http://127.0.0.2:9/hook", 422),        # loopback, but not the listed address
    ("http://[::1]:9/hook", 422),
    ("http://10.1.2.3/hook", 422),
    ("http://elsewhere.internal.example:9/hook", 422),  # another name, an unlisted address
]


def test_channels_are_saved_or_refused_as_the_list_says(
        guarded_server: str, db: Database, resolving: dict[str, str]) -> None:
    resolving[NAME] = "127.0.0.3"
    resolving["elsewhere.internal.example"] = "127.0.0.3"
    tenant = make_tenant(db, guarded_server)
    try:
        got = []
        for url, _ in SAVES:
            answer = tenant.admin.post("/api/v1/channels", json={
                "name": f"c{len(got)}", "type": "webhook", "url": url})
            field = answer.json().get("field") if answer.status_code == 422 else None
            got.append((url, answer.status_code, field))
    finally:
        tenant.close()
    assert got == [(url, status, "url" if status == 422 else None) for url, status in SAVES]


def test_delivery_checks_again_and_goes_to_the_address_it_checked(
        httpserver: HTTPServer, resolving: dict[str, str], restore_allow_list: None) -> None:
    """Saved while the name resolved to a listed network; when DNS later answers an address
    outside it, the delivery is refused and nothing is sent."""
    guard.configure(AllowList.parse("127.0.0.1/32"))
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    url = f"http://receiver.internal.example:{httpserver.port}/hook"
    resolving["receiver.internal.example"] = "127.0.0.1"
    check_destination(url, False)  # as when the channel was saved
    transport = HttpTransport(allow_private=False)
    try:
        first = transport.send(OutboundRequest(url, b"{}"))
        resolving["receiver.internal.example"] = "127.0.0.2"  # DNS changed
        with pytest.raises(DestinationRefused):
            check_destination(url, False)
        with pytest.raises(TransportError) as refused:
            transport.send(OutboundRequest(url, b"{}"))
    finally:
        transport.close()
    assert (first.status_code, refused.value.retryable, len(httpserver.log)) == (204, False, 1)
    assert httpserver.log[0][0].headers["Host"] == f"receiver.internal.example:{httpserver.port}"


def test_the_config_file_sets_it_and_config_show_lists_it(tmp_path: Path) -> None:
    from tests.cli.test_config import _env, _show, quietly

    config = tmp_path / "quietly.toml"
    config.write_text('webhook_allow = "10.20.0.0/16,hooks.internal.example"\n')
    shown = _show(quietly(_env(tmp_path / "home"), "--config", str(config), "config", "show"))
    broken = quietly(_env(tmp_path / "home", QUIETLY_WEBHOOK_ALLOW="10.20.0.0/33"),
                     "config", "show")
    assert (shown["webhook_allow"], broken.returncode != 0, "10.20.0.0/33" in broken.stderr) \
        == (('"10.20.0.0/16,hooks.internal.example"', str(config)), True, True)
