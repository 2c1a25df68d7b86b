"""The client's IP address, resolved once per request (API.md §2)."""

from collections.abc import Sequence
from ipaddress import ip_address

from starlette.types import Scope

from worksible_api.config import Network


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def resolve_client_ip(scope: Scope, trusted_proxies: Sequence[Network]) -> str:
    """The peer address; X-Forwarded-For counts only when the peer is a trusted proxy.

    Walks the forwarded chain from the right and stops at the first address that is not a
    trusted proxy: everything left of it was written by the client and proves nothing.
    """
    client = scope.get("client")
    peer = client[0] if client else "0.0.0.0"
    if not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return peer
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", [])
        if name == b"x-forwarded-for"
    ]
    hops = [hop.strip() for header in forwarded for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            try:
                return str(ip_address(hop))
            except ValueError:
                return peer
    return peer
