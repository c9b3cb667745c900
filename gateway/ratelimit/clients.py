"""Who a request counts against: the verified user, else the client's IP address.

The IP is the TCP peer unless that peer is a trusted proxy; then the forwarding header is read from
the right (the hop the proxy itself added) leftwards while the hops are trusted proxies, and the
first untrusted address is the client. Anything a client prepends is therefore never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (or single addresses); ValueError naming the bad entry."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES entry {cidr!r} is not an IP network") from None
    return tuple(networks)


def _address(text: str) -> IPAddress | None:
    """An address from a forwarding hop: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `"[::1]"`, `::1`."""
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _hops(header: str, value: str) -> list[str]:
    if header == "forwarded":  # RFC 7239: `for=1.2.3.4;proto=https, for="[::1]:80"`
        hops = []
        for element in value.split(","):
            for pair in element.split(";"):
                key, _, item = pair.partition("=")
                if key.strip().lower() == "for":
                    hops.append(item)
        return hops
    return value.split(",")


class ClientIdentifier:
    """Turns (verified subject, headers, peer address) into a limiter key: `user:<sub>` or `ip:<address>`.

    The subject comes from the gateway's own token check (gateway.auth), made before this runs, so a
    forged or expired token never picks a user's bucket: it was refused with 401 already."""

    def __init__(self, trusted_proxies: Iterable[str] = (), header: str = "x-forwarded-for") -> None:
        self.trusted = parse_networks(trusted_proxies)
        self.header = header

    def _trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted)

    def client_ip(self, headers: Mapping[str, str], peer: str | None) -> str:
        if peer is None:
            return "unknown"
        current = _address(peer)
        if current is None or not self.trusted or not self._trusted(current):
            return peer
        forwarded = headers.get(self.header)
        if not forwarded:
            return str(current)
        for hop in reversed(_hops(self.header, forwarded)):
            address = _address(hop)
            if address is None:  # garbage in the chain: stop at the last hop we could read
                break
            current = address
            if not self._trusted(current):
                break
        return str(current)

    def key(self, subject: str | None, headers: Mapping[str, str], peer: str | None) -> str:
        if subject is not None:
            return "user:" + subject
        return "ip:" + self.client_ip(headers, peer)
