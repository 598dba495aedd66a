"""Destination guard: webhook URLs are user input, so internal addresses are refused.

``check_destination(url, allow_private)`` resolves the host and refuses loopback, link-local,
private, multicast, reserved and unspecified addresses (IPv4 and IPv6, IPv4-mapped included)
unless ``allow_private`` (``QUIETLY_WEBHOOK_ALLOW_PRIVATE=true``) is set. Every address a name
resolves to must be public, so a name with one public and one private address is refused.
The check runs right before each attempt; a DNS answer that changes between this check and
the connection (rebinding) is not covered — keep ``allow_private`` off on shared networks.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["DestinationRefused", "check_destination", "check_url_shape"]


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
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def check_destination(url: str, allow_private: bool) -> None:
    """Raise ``DestinationRefused`` unless ``url`` may be sent to (see the module docstring)."""
    host, port = check_url_shape(url)
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise DestinationRefused(f"cannot resolve {host!r}: {exc}", retryable=True) from exc
    for info in infos:
        address = str(info[4][0])
        if _is_internal(address):
            raise DestinationRefused(
                f"{host} resolves to {address}, a loopback, private or link-local address; "
                "set QUIETLY_WEBHOOK_ALLOW_PRIVATE=true to allow internal destinations")
