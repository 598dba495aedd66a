"""A sync connects to the address the destination guard checked, never to a second DNS
answer (rebinding): against a real Alertmanager over HTTP and a real Icinga 2 over HTTPS,
whose certificate is still verified against the name.

DNS is the part outside our control: ``socket.getaddrinfo`` answers a name of the test's
first with 127.0.0.1 (the real system) and from then on with 127.0.0.2, where nothing
listens. The allow-list opens exactly that name, as an operator would for an internal
Alertmanager (``QUIETLY_WEBHOOK_ALLOW``), rather than every internal address.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import pytest

from quietly.notify import guard
from quietly.sync.alertmanager.adapter import AlertmanagerAdapter
from quietly.sync.alertmanager.adapter import Connection as AmConnection
from quietly.sync.icinga2.adapter import Connection as IcingaConnection
from quietly.sync.icinga2.adapter import IcingaAdapter
from tests.sync.amserver import Alertmanager
from tests.sync.icinga_harness import BINARY as ICINGA
from tests.sync.icinga_harness import NODE, Icinga

AM_NAME = "alertmanager.quietly.invalid"  # .invalid never resolves for real (RFC 6761)


class Rebinding:
    """Answers ``names`` with 127.0.0.1 once, then with 127.0.0.2; counts the lookups."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.lookups: dict[str, int] = dict.fromkeys(names, 0)
        self._real = socket.getaddrinfo

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in self.names:
            return self._real(host, port, *args, **kwargs)
        self.lookups[host] += 1
        address = "127.0.0.1" if self.lookups[host] == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (address, int(port)))]


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rebinding]:
    dns = Rebinding({AM_NAME, NODE})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    before = guard.allowed_destinations()
    guard.configure(guard.AllowList.parse(f"{AM_NAME},{NODE}"))
    yield dns
    guard.configure(before)


@pytest.fixture
def alertmanager() -> Iterator[Alertmanager]:
    made = Alertmanager().start()
    yield made
    made.close()


def test_alertmanager_sync_uses_the_checked_address(rebinding: Rebinding,
                                                    alertmanager: Alertmanager) -> None:
    port = alertmanager.port
    connection = AmConnection(f"http://{AM_NAME}:{port}")  # allow_private is off
    with AlertmanagerAdapter(connection, 1, 987_654) as adapter:
        assert adapter.list_own() == []
        assert adapter.list_own() == []
    assert rebinding.lookups[AM_NAME] == 1  # the guard's; the connections asked no one
    # The control: a client that resolves again lands on the rebound address.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{AM_NAME}:{port}/-/ready", timeout=5)


@pytest.mark.skipif(ICINGA is None, reason="icinga2 is not installed")
def test_icinga_sync_uses_the_checked_address_and_verifies_the_name(
        rebinding: Rebinding) -> None:
    with Icinga({"web-1": []}) as icinga:
        connection = IcingaConnection(f"https://{NODE}:{icinga.port}", icinga.username,
                                      icinga.password, ca_file=str(icinga.ca_file))
        with IcingaAdapter(connection, 1, 987_655, now=datetime.now(UTC)) as adapter:
            assert adapter.list_own() == []
            assert adapter.endpoint == f"https://{NODE}:{icinga.port}"
        assert rebinding.lookups[NODE] == 1


def test_a_host_that_was_not_checked_is_refused() -> None:
    transport = guard.PinnedTransport({"a.quietly.invalid": "127.0.0.1"},
                                      httpx.HTTPTransport())
    with httpx.Client(transport=transport) as client, pytest.raises(
            httpx.ConnectError, match="not checked"):
        client.get("http://b.quietly.invalid:1/")
