"""Where webhooks may go (API.md §16): public HTTPS addresses only.

A URL must be `https`, and every address its host resolves to must be public (not loopback,
private, link-local, the cloud metadata address, or otherwise reserved), checked when the
endpoint is made and again at every delivery, since a DNS name may change what it points to.
A delivery then connects to an address it checked, never to a fresh lookup. Hosts in
`WEBHOOK_ALLOWED_HOSTS` (tests, development) skip the address check and may use plain `http`.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

RESOLVE_TIMEOUT_SECONDS = 2.0
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """A webhook URL the service will not call, and why."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its host, and the addresses a delivery may connect to."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def is_public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF) if address in _NAT64 else None
        )
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


def parse(url: str, allowed_hosts: Collection[str]) -> tuple[str, int]:
    """The URL's host and port; UnsafeUrl for anything but http(s) to a host, with no
    credentials in it, and https unless the host is allowed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeUrl("The URL must be https://host/path.")
    if parts.username or parts.password:
        raise UnsafeUrl("The URL must not hold a user name or password.")
    if parts.scheme == "http" and host not in allowed_hosts:
        raise UnsafeUrl("The URL must use https.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("The URL's port is not a number from 1 to 65535.") from exc
    return host, port


async def resolve(url: str, allowed_hosts: Collection[str]) -> Target:
    """The URL checked, with the addresses its host resolves to now."""
    host, port = parse(url, allowed_hosts)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError) as exc:
        raise UnsafeUrl(f"The host {host} does not resolve.") from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in found))
    if host not in allowed_hosts:
        blocked = [a for a in addresses if not is_public(ipaddress.ip_address(a.split("%")[0]))]
        if blocked or not addresses:
            raise UnsafeUrl(
                f"The host {host} resolves to a non-public address ({', '.join(blocked)})."
            )
    return Target(url, host, port, addresses)
