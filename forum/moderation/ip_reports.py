"""The moderator's IP views (P8). Every query here is answered from an index, so its cost
follows the size of the answer, not of the forum: the per-(account, address) counts in
`ip_uses` for the account reports and the accounts behind an address, and
(ip, user_id, created_at) on the posts for the posts behind an address. Callers record
each look in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, func, select

from forum.content.models import Post, PostEdit, Topic
from forum.db import IPAddress, IPColumn, db
from forum.moderation.ip_uses import AddressUse
from forum.net import Network
from forum.users.models import SignInEvent, User

PAGE_SIZE = 50
# Widest ranges a lookup may ask for: beyond these a "lookup" is a dump of the forum.
MIN_PREFIX_V4, MIN_PREFIX_V6 = 8, 32


@dataclass(frozen=True)
class IPUse:
    ip: IPAddress
    count: int
    first_seen: datetime
    last_seen: datetime


def post_ips(post: Post) -> dict[str, Any]:
    edits = db.session.execute(
        select(PostEdit.version, PostEdit.ip, PostEdit.created_at, User.username)
        .join(User, User.id == PostEdit.user_id)
        .where(PostEdit.post_id == post.id)
        .order_by(PostEdit.version)
    ).all()
    return {"ip": post.ip, "edits": edits}


def user_ips(user: User) -> tuple[list[tuple[IPUse, int]], list[IPUse]]:
    """The account's posting addresses with how many other accounts used each, and its
    sign-in addresses."""
    rows = db.session.execute(_IPS_OF_USER, {"uid": user.id}).all()
    uses = [IPUse(r[0], r[1], r[2], r[3]) for r in rows]
    others = _other_accounts_per_ip(user.id, [u.ip for u in uses])
    sign_ins = db.session.execute(
        select(
            SignInEvent.ip,
            func.count(),
            func.min(SignInEvent.created_at),
            func.max(SignInEvent.created_at),
        )
        .where(SignInEvent.user_id == user.id)
        .group_by(SignInEvent.ip)
        .order_by(func.max(SignInEvent.created_at).desc())
    ).all()
    return [(u, others.get(u.ip, 0)) for u in uses], [IPUse(*r) for r in sign_ins]


def _other_accounts_per_ip(user_id: int, ips: list[IPAddress]) -> dict[IPAddress, int]:
    result: dict[IPAddress, int] = {}
    for chunk in _chunks(ips, 500):
        for ip, n in db.session.execute(
            select(AddressUse.ip, func.count())
            .where(AddressUse.ip.in_(chunk), AddressUse.user_id != user_id)
            .group_by(AddressUse.ip)
        ):
            result[ip] = n
    return result


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# Built once: constructing statements costs more Python time than running these.
_LO = bindparam("lo", type_=IPColumn())
_HI = bindparam("hi", type_=IPColumn())
_UID = bindparam("uid", type_=Integer())
_ACCOUNTS_IN_RANGE = (
    select(
        User.username,
        func.sum(AddressUse.uses),
        func.min(AddressUse.first_seen),
        func.max(AddressUse.last_seen),
    )
    .join(User, User.id == AddressUse.user_id)
    .where(AddressUse.ip.between(_LO, _HI))
    .group_by(User.id, User.username)
    .order_by(func.sum(AddressUse.uses).desc(), User.username)
)
_IPS_OF_USER = (
    select(AddressUse.ip, AddressUse.uses, AddressUse.first_seen, AddressUse.last_seen)
    .where(AddressUse.user_id == _UID)
    .order_by(AddressUse.last_seen.desc())
)
_SHARED = (
    select(User.username, AddressUse.ip, AddressUse.uses)
    .join(User, User.id == AddressUse.user_id)
    .where(
        AddressUse.ip.in_(select(AddressUse.ip).where(AddressUse.user_id == _UID)),
        AddressUse.user_id != _UID,
    )
    .order_by(User.username, AddressUse.ip)
)


def _range(network: Network) -> dict[str, Any]:
    return {"lo": network.network_address, "hi": network.broadcast_address}


def lookup_accounts(network: Network) -> list[tuple[str, int, datetime, datetime]]:
    """The accounts that posted or edited from this address or range."""
    rows = db.session.execute(_ACCOUNTS_IN_RANGE, _range(network))
    return [(r[0], r[1], r[2], r[3]) for r in rows]


_POSTS_IN_RANGE = (
    select(
        Post.id,
        Post.topic_id,
        Topic.title,
        Topic.slug,
        Post.post_number,
        User.username,
        Post.created_at,
        Post.ip,
    )
    .join(Topic, Topic.id == Post.topic_id)
    .join(User, User.id == Post.user_id)
    .where(Post.ip.between(_LO, _HI))
    .order_by(Post.created_at.desc(), Post.id.desc())
    .offset(bindparam("skip", type_=Integer()))
    .limit(PAGE_SIZE + 1)
)


def lookup_posts(network: Network, page: int) -> tuple[list[Any], bool]:
    """The posts from this address or range, newest first, one page; and whether more."""
    if page * PAGE_SIZE >= 2**31:  # past any table's end, and past what an OFFSET binds
        return [], False
    rows = db.session.execute(_POSTS_IN_RANGE, {**_range(network), "skip": page * PAGE_SIZE}).all()
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def shared_ips(user: User) -> list[tuple[str, list[tuple[IPAddress, int]]]]:
    """Other accounts that posted or edited from any of this account's addresses."""
    by_user: dict[str, list[tuple[IPAddress, int]]] = {}
    for username, ip, n in db.session.execute(_SHARED, {"uid": user.id}):
        by_user.setdefault(username, []).append((ip, n))
    return sorted(by_user.items(), key=lambda item: (-sum(n for _, n in item[1]), item[0]))
