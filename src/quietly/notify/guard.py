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

An operator opens exactly their own internal receivers with an allow-list
(``QUIETLY_WEBHOOK_ALLOW``: CIDRs and host names, ``10.20.0.0/16,hooks.internal.example``,
``*.internal.example`` for every name under it) instead of opening every internal address
with ``QUIETLY_WEBHOOK_ALLOW_PRIVATE``. A listed name may resolve to any address; an address
in a listed network is allowed whatever name led to it. The check is made again, against
the same list, before every delivery, and the connection goes to the address checked then.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from quietly.notify.pinning import PinnedTransport

__all__ = ["AllowList", "DestinationRefused", "Pinned", "PinnedTransport",
           "allowed_destinations", "check_destination", "check_url_shape", "configure", "pin"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


class DestinationRefused(Exception):
    """The URL points somewhere quietly must not send to.

    ``retryable`` is True only when the host could not be resolved (DNS may recover).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class AllowList:
    """Internal destinations an operator opened: networks, exact host names and ``*.``
    suffixes (``*.internal.example`` matches ``a.internal.example``, not the bare name)."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, raw: str | None) -> AllowList:
        """``10.20.0.0/16,hooks.internal.example, *.corp.example`` (commas or spaces);
        raise ``ValueError`` naming the entry that is neither a network nor a host name."""
        networks: list[Network] = []
        hosts: set[str] = set()
        suffixes: list[str] = []
        for entry in (raw or "").replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            wildcard = name.startswith("*.")
            label = name[2:] if wildcard else name
            if not label or not all(part and part.replace("-", "").isalnum()
                                    and part.isascii() for part in label.split(".")):
                raise ValueError(f"{entry!r} is neither a network (10.20.0.0/16) nor a host "
                                 "name (hooks.internal.example, *.internal.example)")
            if wildcard:
                suffixes.append("." + label)
            else:
                hosts.add(label)
        return cls(tuple(networks), frozenset(hosts), tuple(suffixes))

    def __bool__(self) -> bool:
        return bool(self.networks or self.hosts or self.suffixes)

    def allows_host(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return name in self.hosts or name.endswith(self.suffixes)

    def allows_address(self, address: str) -> bool:
        ip = _address(address)
        return any(ip.version == net.version and ip in net for net in self.networks)


# The process's allow-list, set once from the settings at start-up (``configure``) so that
# every caller of ``check_destination`` — channels, syncs, the worker — applies the same one.
_ALLOWED = AllowList()


def configure(allow: AllowList) -> None:
    """Make ``allow`` the allow-list of every later ``check_destination`` call."""
    global _ALLOWED
    _ALLOWED = allow


def allowed_destinations() -> AllowList:
    return _ALLOWED


def _resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


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
    import httpx2 as httpx  # (not at import: settings import this module; issue 19)

    try:  # a host the HTTP client cannot encode (IDNA) would fail every delivery
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise DestinationRefused(f"not a valid URL: {exc}") from exc
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_internal(address: str) -> bool:
    ip = _address(address)
    return not ip.is_global or ip.is_multicast


def check_destination(url: str, allow_private: bool, *, allow: AllowList | None = None,
                      resolve: Resolver = _resolve) -> str | None:
    """The address ``url`` may be sent to, or ``None`` when ``allow_private`` skips the check;
    raise ``DestinationRefused`` otherwise (see the module docstring). ``allow``: the
    allow-list (default: the process's, see ``configure``)."""
    host, port = check_url_shape(url)
    if allow_private:
        return None
    allow = _ALLOWED if allow is None else allow
    try:
        addresses = resolve(host, port)
    except OSError as exc:
        raise DestinationRefused(f"cannot resolve {host!r}: {exc}", retryable=True) from exc
    if not addresses:
        raise DestinationRefused(f"{host!r} resolves to no address", retryable=True)
    if not allow.allows_host(host):
        for address in addresses:
            if _is_internal(address) and not allow.allows_address(address):
                raise DestinationRefused(
                    f"{host} resolves to {address}, which is not a public (global) address; "
                    "list it in QUIETLY_WEBHOOK_ALLOW (a network or the host name) to send "
                    "there, or set QUIETLY_WEBHOOK_ALLOW_PRIVATE=true to allow every "
                    "internal destination")
    return addresses[0].split("%", 1)[0]


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


def __getattr__(name: str) -> Any:
    """``PinnedTransport`` (``notify.pinning``: it needs the HTTP client, which this module,
    imported by the settings, does not import; issue 19)."""
    if name == "PinnedTransport":
        from quietly.notify.pinning import PinnedTransport

        return PinnedTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
