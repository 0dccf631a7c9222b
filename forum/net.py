"""The client's IP address: the one function every recorded IP comes from (P6)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from forum.db import IPAddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` we believe: CIDRs, and `unix` for a socket proxy."""

    def __init__(self, networks: Iterable[Network] = (), unix: bool = False) -> None:
        self.networks = tuple(networks)
        self.unix = unix

    @classmethod
    def parse(cls, spec: str) -> TrustedProxies:
        networks: list[Network] = []
        unix = False
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            if item.lower() == "unix":
                unix = True
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {item!r} is neither a CIDR, an IP address nor 'unix'"
                ) from None
        return cls(networks, unix)

    def trusts(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.networks)


def parse_ip(value: str) -> IPAddress | None:
    """An address in canonical form (IPv4-mapped IPv6 becomes IPv4), or None if not one."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:5123"
        value = value.split(":", 1)[0]
    value = value.split("%", 1)[0]  # zone index, meaningless off the host
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def client_ip(environ: Mapping[str, Any], trusted: TrustedProxies) -> IPAddress | None:
    """The socket peer, unless it is a trusted proxy; then the right-most `X-Forwarded-For`
    entry that is not itself a trusted proxy. Entries to the left of an untrusted hop are
    whatever the client chose to send, so they are never believed.
    """
    peer_raw = environ.get("REMOTE_ADDR") or ""
    peer = parse_ip(peer_raw)
    if peer is None:
        # A Unix-socket proxy leaves no address (or a path); only `unix` lets us go on.
        if not trusted.unix:
            return None
    elif not trusted.trusts(peer):
        return peer

    hops = [h for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        ip = parse_ip(hop)
        if ip is None:
            # Garbage where a trusted proxy should have written an address: the client's
            # address is unknown, and recording the proxy's instead would be wrong data.
            return None
        if not trusted.trusts(ip):
            return ip
    # Every hop is a trusted proxy: the left-most is as close to the client as we can get.
    # With no hop at all the trusted peer spoke for itself (a host inside the trusted range,
    # or a health check), as Rails and Werkzeug's ProxyFix take it.
    leftmost = parse_ip(hops[0]) if hops else None
    return leftmost or peer


def request_ip() -> IPAddress:
    """The current request's client IP; a request whose address cannot be known is refused,
    because nothing may be written without one (P6)."""
    from flask import abort, current_app, g, request

    ip = g.get("parlor_client_ip")
    if ip is None:
        ip = client_ip(request.environ, current_app.extensions["parlor"].trusted_proxies)
        if ip is None:
            abort(400, description="no_client_ip")
        g.parlor_client_ip = ip
    return ip
