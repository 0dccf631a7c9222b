"""Screened IPs: addresses and ranges blocked from posting and from signing in."""

from __future__ import annotations

import ipaddress
from typing import NoReturn

from sqlalchemy import bindparam, exists, select, update

from forum.content.errors import ContentError, Forbidden
from forum.db import IPAddress, begin_writes, commit_bookkeeping, db
from forum.moderation import audit
from forum.moderation.models import ScreenedIP
from forum.net import Network
from forum.timeutil import utcnow
from forum.users.models import User

REASON_MAX = 500
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def parse_network(text: object, min_v4: int = 0, min_v6: int = 0) -> Network:
    """An address or CIDR range; a single address is a /32 or /128. Raises ContentError."""
    if not isinstance(text, str) or not text.strip():
        raise ContentError("Give an IP address or a CIDR range, e.g. 192.0.2.7 or 2001:db8::/48")
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ContentError(f"{text.strip()[:60]!r} is not an IP address or CIDR range") from None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        mapped = network.network_address.ipv4_mapped
        network = ipaddress.ip_network(f"{mapped}/{max(network.prefixlen - 96, 0)}")
    limit = min_v4 if network.version == 4 else min_v6
    if network.prefixlen < limit:
        raise ContentError(
            f"/{network.prefixlen} is too wide: IPv{network.version} ranges go down to /{limit}"
        )
    # IPv4 is stored inside ::ffff:0:0/96: an IPv6 range around that block (::/80, say)
    # holds every IPv4 address, an IPv4 /0.
    if min_v4 > 0 and isinstance(network, ipaddress.IPv6Network) and network.supernet_of(_MAPPED):
        raise ContentError(
            f"/{network.prefixlen} is too wide: {network} holds every IPv4 address "
            f"(::ffff:0:0/96), and IPv4 ranges go down to /{min_v4}"
        )
    return network


def screen(actor: User, cidr: object, reason: object) -> ScreenedIP:
    network = parse_network(cidr)
    if not isinstance(reason, str) or len(reason) > REASON_MAX:
        raise ContentError(f"reason must be text of at most {REASON_MAX} characters")
    text = str(network)
    if db.session.scalar(select(ScreenedIP.id).where(ScreenedIP.cidr == text)) is not None:
        raise ContentError(f"{text} is already screened")
    entry = ScreenedIP(
        cidr=text,
        first_ip=network.network_address,
        last_ip=network.broadcast_address,
        reason=reason.strip(),
        created_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(
        actor,
        "screen_ip",
        subject_type="screened_ip",
        subject_id=entry.id,
        cidr=text,
        reason=entry.reason,
    )
    return entry


def unscreen(actor: User, entry: ScreenedIP) -> None:
    audit.record(
        actor, "unscreen_ip", subject_type="screened_ip", subject_id=entry.id, cidr=entry.cidr
    )
    db.session.delete(entry)


_S = ScreenedIP.__table__.c
_IP = bindparam("ip", type_=_S.first_ip.type)
# Built once, on the table (every post, edit and sign-in asks): the id of a block covering
# the address, if any.
_COVERS = (_S.first_ip <= _IP, _S.last_ip >= _IP, _S.action == "block")
_BLOCKING = select(_S.id).where(*_COVERS).limit(1)
# The same test inside a post's write (`forum.content.posting`), on its `ip` parameter:
# true when no block covers the address.
NOT_BLOCKED = ~exists().where(*_COVERS)


def blocking(ip: IPAddress) -> int | None:
    """The id of a block covering the address, if any."""
    # On the connection: a Core statement needs none of the session's ORM execution path.
    return db.session.connection().execute(_BLOCKING, {"ip": ip}).scalar()


def ensure_not_blocked(ip: IPAddress) -> None:
    """Refuse a write from a blocked address, counting the match (Discourse does too)."""
    entry_id = blocking(ip)
    if entry_id is not None:
        refuse(entry_id)


def refuse(entry_id: int) -> NoReturn:
    """The refusal of a write that block `entry_id` covers: its match counted and committed
    (the count survives the refusal, as a bookkeeping write), then Forbidden."""
    begin_writes()
    db.session.execute(
        update(ScreenedIP)
        .where(ScreenedIP.id == entry_id)
        .values(match_count=ScreenedIP.match_count + 1, last_match_at=utcnow())
    )
    commit_bookkeeping()
    raise Forbidden("Your IP address is blocked from posting and signing in on this forum.")
