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

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["IDENTITY_HEADERS", "TRUSTED_SCOPE_KEY", "ProxyTrust", "TrustedProxies",
           "parse_networks"]

TRUSTED_SCOPE_KEY = "quietly.trusted_proxy"
IDENTITY_HEADERS = frozenset({b"x-forwarded-email", b"x-forwarded-user", b"x-forwarded-groups",
                              b"x-forwarded-preferred-username"})
_SCHEMES = {"http", "https"}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``'127.0.0.1, 10.0.0.0/8'`` as networks (the settings validated the syntax)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in text.split(",") if part.strip())


class ProxyTrust:
    """Which peers are trusted proxies, and who the client behind one is."""

    def __init__(self, networks: tuple[Network, ...]) -> None:
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

    def client_of(self, peer: str | None, headers: list[tuple[bytes, bytes]]) -> str | None:
        """The client address ``TrustedProxies`` would leave in the scope, without changing
        it: ``peer``, or behind a trusted proxy the client its ``X-Forwarded-For`` names."""
        if peer is None or not self.networks or not self.trusted(peer):
            return peer
        chain = None
        for name, value in headers:
            if name == b"x-forwarded-for":
                chain = value  # the last one, as ``TrustedProxies`` reads them
        return (self.client(chain.decode("latin-1")) if chain is not None else None) or peer

    def client(self, chain: str) -> str | None:
        """The right-most address of X-Forwarded-For that is not a trusted proxy."""
        hops = [hop.strip() for hop in chain.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop
        return hops[0] if hops else None


class TrustedProxies:
    def __init__(self, app: ASGIApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.trust = ProxyTrust(networks)
        self.trusted = self.trust.trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            if client is not None and self.trusted(client[0]):
                self._apply(scope)
            elif any(name in IDENTITY_HEADERS for name, _ in scope["headers"]):
                scope["headers"] = [(n, v) for n, v in scope["headers"]
                                    if n not in IDENTITY_HEADERS]
        await self.app(scope, receive, send)

    def _apply(self, scope: Scope) -> None:
        """Apply the forwarded headers to the scope in place (as uvicorn's own middleware
        does): one pass over the headers, nothing copied when none are present."""
        scope[TRUSTED_SCOPE_KEY] = True
        proto = host = chain = None
        for name, value in scope["headers"]:
            if name.startswith(b"x-forwarded-"):
                if name == b"x-forwarded-proto":
                    proto = value
                elif name == b"x-forwarded-host":
                    host = value
                elif name == b"x-forwarded-for":
                    chain = value
        if proto is not None:
            scheme = proto.decode("latin-1").split(",")[0].strip().lower()
            if scheme in _SCHEMES:
                scope["scheme"] = scheme
        if host is not None:
            name = host.decode("latin-1").split(",")[0].strip()
            if name and name.isprintable() and " " not in name:
                scope["headers"] = [(n, v) for n, v in scope["headers"] if n != b"host"] + [
                    (b"host", name.encode("latin-1"))]
        if chain is not None:
            forwarded = self.trust.client(chain.decode("latin-1"))
            if forwarded:
                scope["client"] = (forwarded, 0)
