"""Destination guard: webhook URLs are user input, so internal addresses are refused.

``check_destination(url, allow_private)`` resolves the host and accepts only globally
routable addresses (``ipaddress``'s ``is_global``: no loopback, link-local, private,
carrier-grade NAT ``100.64.0.0/10`` — where cloud metadata services such as
``100.100.100.200`` live —, multicast, reserved, documentation or unspecified addresses; IPv4
and IPv6, IPv4-mapped included) unless ``allow_private`` (``QUIETLY_WEBHOOK_ALLOW_PRIVATE=
true``) is set. Every address a name resolves to must be global, so a name with one public
and one private address is refused. It returns the address it checked, and the transport
connects to that very address (``pin``), so a DNS answer that changes between the check and
the connection (rebinding) cannot send the request elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

__all__ = ["DestinationRefused", "Pinned", "check_destination", "check_url_shape", "pin"]


class DestinationRefused(Exception):
    """The URL points somewhere quietly must not send to.

    ``retryable`` is True only when the host could not be resolved (DNS may recover).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def check_url_shape(url: str) -> tuple[str, int]:
    """Return (host, port) of an http(s) URL with a host; raise ``DestinationRefused``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise DestinationRefused("the URL has no host")
    if parts.username or parts.password:
        raise DestinationRefused("credentials in the URL are not allowed; use the secret")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_destination(url: str, allow_private: bool) -> str | None:
    """The address ``url`` may be sent to, or ``None`` when ``allow_private`` skips the check;
    raise ``DestinationRefused`` otherwise (see the module docstring)."""
    host, port = check_url_shape(url)
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise DestinationRefused(f"cannot resolve {host!r}: {exc}", retryable=True) from exc
    for info in infos:
        address = str(info[4][0])
        if _is_internal(address):
            raise DestinationRefused(
                f"{host} resolves to {address}, which is not a public (global) address; "
                "set QUIETLY_WEBHOOK_ALLOW_PRIVATE=true to allow internal destinations")
    if not infos:
        raise DestinationRefused(f"{host!r} resolves to no address", retryable=True)
    return str(infos[0][4][0]).split("%", 1)[0]


@dataclass(frozen=True, slots=True)
class Pinned:
    """A request rewritten to connect to one checked address: the URL names the address,
    ``host`` goes in the Host header and ``sni`` is the TLS server name (and the name the
    certificate is verified against)."""

    url: str
    host: str
    sni: str


def pin(url: str, address: str) -> Pinned:
    """``url`` with its host replaced by ``address`` (see :class:`Pinned`)."""
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = parts.netloc.rpartition("@")[2]
    return Pinned(urlunsplit(parts._replace(netloc=netloc)), host_header, hostname)
