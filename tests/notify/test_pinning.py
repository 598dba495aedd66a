"""The transport connects to the address the guard checked (issue #14 point 6): a second DNS
answer (rebinding) cannot redirect a webhook to an internal address."""

from __future__ import annotations

import socket
from typing import Any

import httpx2 as httpx
import pytest

from quietly.notify.guard import check_destination, pin
from quietly.notify.transport import HttpTransport, OutboundRequest

PUBLIC = "93.184.215.14"


def _resolving(answers: list[str]) -> Any:
    """A resolver giving each answer in turn (the first one to the guard)."""
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
    return getaddrinfo


def test_the_request_goes_to_the_checked_address_with_the_name_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard sees a public address; a later lookup would say 127.0.0.1.
    monkeypatch.setattr(socket, "getaddrinfo", _resolving([PUBLIC, "127.0.0.1"]))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    transport = HttpTransport(allow_private=False, transport=httpx.MockTransport(handler))
    try:
        transport.send(OutboundRequest("https://hooks.example.com:8443/x?y=1", b"{}"))
    finally:
        transport.close()
    request = seen[0]
    assert (str(request.url), request.headers["host"],
            request.extensions.get("sni_hostname")) == (
        f"https://{PUBLIC}:8443/x?y=1", "hooks.example.com:8443", "hooks.example.com")


PINS = [
    ("http://hooks.example.com/a", "93.184.215.14", "http://93.184.215.14/a",
     "hooks.example.com"),
    ("https://hooks.example.com:444/", "2606:4700::1111", "https://[2606:4700::1111]:444/",
     "hooks.example.com:444"),
]


@pytest.mark.parametrize(("url", "address", "pinned", "host"), PINS)
def test_pin(url: str, address: str, pinned: str, host: str) -> None:
    result = pin(url, address)
    assert (result.url, result.host, result.sni) == (pinned, host, "hooks.example.com")


def test_the_guard_returns_the_address_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _resolving([PUBLIC]))
    assert check_destination("https://hooks.example.com/", allow_private=False) == PUBLIC
