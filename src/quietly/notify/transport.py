"""The one seam for outbound HTTP: ``Transport.send(OutboundRequest) -> OutboundResponse``.

``HttpTransport`` is the real one (httpx2): it checks the destination first (see ``guard``),
never follows redirects, bounds every phase with a timeout and the whole exchange with a
deadline, and reads at most ``max_response_bytes`` of the answer. Tests swap in their own
``Transport`` or pass an ``httpx2`` mock transport.

Errors::

    TransportError          the request did not get an HTTP answer; ``retryable`` says
                            whether trying again later can help (timeouts, refused
                            connections: yes; a refused destination: no)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx2 as httpx

from quietly.notify.guard import DestinationRefused, check_destination, pin

__all__ = ["HttpTransport", "OutboundRequest", "OutboundResponse", "Transport",
           "TransportError"]

USER_AGENT = "quietly-webhooks/1"


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status_code: int
    body: bytes
    duration_ms: int


class TransportError(Exception):
    """No HTTP answer; ``retryable`` says whether a later attempt can succeed."""

    def __init__(self, message: str, *, retryable: bool, duration_ms: int = 0) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.duration_ms = duration_ms


class Transport(Protocol):
    def send(self, request: OutboundRequest) -> OutboundResponse: ...


class HttpTransport:
    """POST over httpx2 with the guard, no redirects, timeouts and a capped answer."""

    def __init__(self, *, allow_private: bool, timeout: float = 10.0,
                 max_response_bytes: int = 64 * 1024,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._allow_private = allow_private
        self._deadline = timeout
        self._max = max_response_bytes
        self._client = httpx.Client(
            follow_redirects=False, trust_env=False, transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"user-agent": USER_AGENT})

    def close(self) -> None:
        self._client.close()

    def send(self, request: OutboundRequest) -> OutboundResponse:
        started = time.monotonic()
        try:
            address = check_destination(request.url, self._allow_private)
        except DestinationRefused as exc:
            raise TransportError(str(exc), retryable=exc.retryable) from exc
        headers = {"content-type": "application/json", **request.headers}
        url, extensions = request.url, {}
        if address is not None:  # connect to the address checked, not to a new DNS answer
            pinned = pin(request.url, address)
            url, headers["host"] = pinned.url, pinned.host
            extensions = {"sni_hostname": pinned.sni}
        try:
            with self._client.stream("POST", url, content=request.body, headers=headers,
                                     extensions=extensions) as response:
                body = self._read_capped(response, started)
                status = response.status_code
        except httpx.TimeoutException as exc:
            raise TransportError(f"timed out: {type(exc).__name__}", retryable=True,
                                 duration_ms=_ms_since(started)) from exc
        except httpx.InvalidURL as exc:  # saved before the guard checked this: never works
            raise TransportError(f"not a valid URL: {exc}", retryable=False,
                                 duration_ms=_ms_since(started)) from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", retryable=True,
                                 duration_ms=_ms_since(started)) from exc
        return OutboundResponse(status, body, _ms_since(started))

    def _read_capped(self, response: httpx.Response, started: float) -> bytes:
        """Read at most ``max_response_bytes``; stop at the deadline (a slow-drip answer)."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            chunks.append(chunk[: self._max - size])
            size += len(chunk)
            if size >= self._max or time.monotonic() - started > self._deadline:
                break
        return b"".join(chunks)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
