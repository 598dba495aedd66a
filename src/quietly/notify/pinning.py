"""Connecting to the address the destination guard checked (``notify.guard``)."""

from __future__ import annotations

import httpx2 as httpx

__all__ = ["PinnedTransport"]


class PinnedTransport(httpx.BaseTransport):
    """A transport for clients that talk to a few checked hosts (the syncs' Alertmanager or
    Icinga 2 endpoints): every request connects to the address its host was checked at
    (``pins``: host name → address from ``check_destination``), keeping the name in the URL's
    Host header and as the TLS server name, against which the certificate is verified. A
    host that was not checked is refused rather than resolved again."""

    def __init__(self, pins: dict[str, str], inner: httpx.BaseTransport) -> None:
        self._pins = dict(pins)
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        address = self._pins.get(host)
        if address is None:
            raise httpx.ConnectError(f"{host} was not checked by the destination guard",
                                     request=request)
        request.url = request.url.copy_with(host=address)  # the Host header keeps the name
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
