"""Where a webhook may go: SSRF protection for user-supplied URLs.

A webhook URL is chosen by a user, so by default every destination that is not publicly routable is
refused: loopback, private (RFC 1918), link-local, unique-local, CGNAT, multicast, reserved and
unspecified addresses, cloud metadata endpoints, and the same addresses embedded in IPv6 (IPv4-mapped,
IPv4-compatible, 6to4, Teredo, NAT64). `allow_private=True` (development) lets them through.

The host is resolved once and the caller connects to the addresses checked here, so a DNS answer
that changes between the check and the connection (DNS rebinding) cannot reach a refused address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# host, port -> the addresses the host resolves to (literal IPs resolve to themselves).
Resolver = Callable[[str, int], Awaitable[list[str]]]

SCHEMES = {"http": 80, "https": 443}

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean instance metadata
    "fd00:ec2::254",    # AWS instance metadata over IPv6
    "169.254.170.2",    # AWS ECS task metadata
    "100.100.100.200",  # Alibaba Cloud metadata
    "168.63.129.16",    # Azure wire server (a public-looking address)
))

# Ranges to refuse beyond what `is_global` already says (explicit, so the rule does not depend on the
# Python version's view of special-purpose registries).
_REFUSED_V4 = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
))
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class DestinationRefused(Exception):
    """The URL may not be delivered to; the message says why (shown to users and in delivery attempts)."""


@dataclass(frozen=True)
class Destination:
    """A parsed webhook URL: where to connect (`addresses`, checked) and what to call it (`hostname`)."""

    url: str
    scheme: str
    hostname: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _NAT64) or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why an address is not a public destination, or None when it is."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "a scoped (link-local) address"
        inner = embedded_ipv4(address)
        if inner is not None:  # the embedded IPv4 address is where the packets end up
            reason = refusal(inner)
            return None if reason is None else f"an IPv6 form of {inner}, {reason}"
    checks = (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("fc00::/7"),
         "a unique-local address"),
        (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"),
         "a carrier-grade NAT address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (isinstance(address, ipaddress.IPv4Address) and any(address in n for n in _REFUSED_V4),
         "a special-purpose address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


async def system_resolver(host: str, port: int) -> list[str]:
    """getaddrinfo through the event loop; literal IPs come back as they are."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse(url: str) -> tuple[SplitResult, str, int]:
    """(parts, hostname, port) of an http(s) URL, or DestinationRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"the webhook URL is malformed: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise DestinationRefused("the webhook URL must use http or https")
    if not parts.hostname:
        raise DestinationRefused("the webhook URL must name a host")
    try:  # the ASCII (IDNA) form is what DNS, the Host header and SNI carry
        hostname = parts.hostname if parts.hostname.isascii() else parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise DestinationRefused("the webhook URL's host is not a valid international domain name") from None
    return parts, hostname, port or SCHEMES[parts.scheme]


async def resolve(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> Destination:
    """Resolve the URL's host once and check every address; raises DestinationRefused (a refused
    address), or OSError when the host does not resolve."""
    parts, hostname, port = parse(url)
    answers = await resolver(hostname, port)
    if not answers:
        raise OSError(f"{hostname} resolved to no address")
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer)
        except ValueError:
            raise DestinationRefused(f"{hostname} resolved to {answer!r}, which is not an IP address") from None
        if not allow_private and (reason := refusal(address)) is not None:
            raise DestinationRefused(f"the webhook host {hostname} resolves to {address}, {reason}; refused")
        addresses.append(address)
    return Destination(url=url, scheme=parts.scheme, hostname=hostname, port=port, addresses=tuple(addresses))
