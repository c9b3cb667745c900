"""Who a request counts against: the verified user, else the client's IP address.

The IP is the TCP peer unless that peer is a trusted proxy; then the forwarding header is read from
the right (the hop the proxy itself added) leftwards while the hops are trusted proxies, and the
first untrusted address is the client. Anything a client prepends is therefore never believed.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A verified token's subject is remembered this long (a decode costs ~0.1 ms). It only picks the
# bucket: a token expiring meanwhile counts as its user for at most this long; subgraphs verify anew.
SUBJECT_CACHE_SECONDS = 30.0
SUBJECT_CACHE_SIZE = 10_000


def client_subject(headers: Mapping[str, str], secret: str) -> str | None:
    """The `sub` of a bearer token the gateway can verify (HS256 with `jwt_secret`); None otherwise.

    The single seam for the gateway's token verification: swap the body for the real verifier.
    """
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    from ..auth import decode_dev_token  # PyJWT loads in ~0.1 s: only once a token is seen

    try:
        claims = decode_dev_token(token.strip(), secret)
    except Exception:  # any invalid, expired or malformed token: not a verified user
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) and subject else None


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
    """Turns (headers, peer address) into a limiter key: `user:<sub>` or `ip:<address>`."""

    def __init__(self, secret: str, trusted_proxies: Iterable[str] = (), header: str = "x-forwarded-for") -> None:
        self.secret = secret
        self.trusted = parse_networks(trusted_proxies)
        self.header = header
        self._subjects: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def subject(self, headers: Mapping[str, str]) -> str | None:
        """:func:`client_subject`, remembered per Authorization value (only successful verifications)."""
        value = headers.get("authorization")
        if not value:
            return None
        now = time.monotonic()
        hit = self._subjects.get(value)
        if hit is not None and hit[1] > now:
            return hit[0]
        subject = client_subject(headers, self.secret)
        if subject is not None:
            self._subjects[value] = (subject, now + SUBJECT_CACHE_SECONDS)
            self._subjects.move_to_end(value)
            if len(self._subjects) > SUBJECT_CACHE_SIZE:
                self._subjects.popitem(last=False)
        return subject

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

    def key(self, headers: Mapping[str, str], peer: str | None) -> str:
        subject = self.subject(headers)
        if subject is not None:
            return "user:" + subject
        return "ip:" + self.client_ip(headers, peer)
