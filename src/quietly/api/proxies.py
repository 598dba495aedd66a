"""Forwarded headers, believed only from the reverse proxies the operator named.

``TrustedProxies`` is a pure ASGI middleware in front of everything. For a request whose peer
address is inside ``QUIETLY_TRUSTED_PROXIES`` it applies ``X-Forwarded-Proto`` (the scheme),
``X-Forwarded-Host`` (the Host header) and ``X-Forwarded-For`` (the client: the right-most
address that is not itself a trusted proxy), and marks the scope ``quietly.trusted_proxy``
so the web UI may believe the proxy's identity headers. From any other peer the identity
headers (``X-Forwarded-Email``, ``-User``, ``-Groups``, ``-Preferred-Username``) are removed
before anything else sees them, and the other forwarded headers are left unapplied.

uvicorn's own proxy-header handling is turned off (``server_config``): it would rewrite the
peer address before this check could see it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["IDENTITY_HEADERS", "TRUSTED_SCOPE_KEY", "TrustedProxies", "parse_networks"]

TRUSTED_SCOPE_KEY = "quietly.trusted_proxy"
IDENTITY_HEADERS = frozenset({b"x-forwarded-email", b"x-forwarded-user", b"x-forwarded-groups",
                              b"x-forwarded-preferred-username"})
_SCHEMES = {"http", "https"}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``'127.0.0.1, 10.0.0.0/8'`` as networks (the settings validated the syntax)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in text.split(",") if part.strip())


class TrustedProxies:
    def __init__(self, app: ASGIApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks
        self._known: dict[str, bool] = {}  # peer address → trusted (a handful of proxies)

    def trusted(self, address: str) -> bool:
        found = self._known.get(address)
        if found is None:
            try:
                ip = ipaddress.ip_address(address)
                found = any(ip in net for net in self.networks)
            except ValueError:
                found = False
            if len(self._known) < 4096:
                self._known[address] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            if client is not None and self.trusted(client[0]):
                scope = self._apply(scope)
            elif any(name in IDENTITY_HEADERS for name, _ in scope["headers"]):
                scope = dict(scope, headers=[(n, v) for n, v in scope["headers"]
                                             if n not in IDENTITY_HEADERS])
        await self.app(scope, receive, send)

    def _apply(self, scope: Scope) -> Scope:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        found = {name: value for name, value in headers
                 if name in (b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-for")}
        changed: dict[str, Any] = {TRUSTED_SCOPE_KEY: True}
        proto = found.get(b"x-forwarded-proto", b"").decode("latin-1").split(",")[0].strip()
        if proto.lower() in _SCHEMES:
            changed["scheme"] = proto.lower()
        host = found.get(b"x-forwarded-host", b"").decode("latin-1").split(",")[0].strip()
        if host and host.isprintable() and " " not in host:
            changed["headers"] = [(n, v) for n, v in headers if n != b"host"] + [
                (b"host", host.encode("latin-1"))]
        client = self._client(found.get(b"x-forwarded-for", b"").decode("latin-1"))
        if client:
            changed["client"] = (client, 0)
        return dict(scope, **changed)

    def _client(self, chain: str) -> str | None:
        """The right-most address of X-Forwarded-For that is not a trusted proxy."""
        hops = [hop.strip() for hop in chain.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop
        return hops[0] if hops else None
