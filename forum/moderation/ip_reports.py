"""The moderator's IP views (P8). Every query here is answered from an index on
(ip, user_id, created_at) or (user_id, ip, created_at), so its cost follows the size of
the answer, not of the forum. Callers record each look in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal, select, union_all

from forum.content.models import Post, PostEdit, Topic
from forum.db import IPAddress, IPColumn, db
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


def _activity(where_post: Any, where_edit: Any) -> Any:
    """Posts and edits as one relation of (ip, user_id, created_at, kind)."""
    return union_all(
        select(Post.ip, Post.user_id, Post.created_at, literal("post").label("kind")).where(
            where_post, Post.ip.is_not(None)
        ),
        select(
            PostEdit.ip, PostEdit.user_id, PostEdit.created_at, literal("edit").label("kind")
        ).where(where_edit, PostEdit.ip.is_not(None)),
    ).subquery()


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
    if not ips:
        return {}
    result: dict[IPAddress, int] = {}
    for chunk in _chunks(ips, 500):
        act = _activity(Post.ip.in_(chunk), PostEdit.ip.in_(chunk))
        for ip, n in db.session.execute(
            select(act.c.ip, func.count(func.distinct(act.c.user_id)))
            .where(act.c.user_id != user_id)
            .group_by(act.c.ip)
        ):
            result[ip] = n
    return result


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# Built once: constructing these unions costs more Python time than running them.
_LO = bindparam("lo", type_=IPColumn())
_HI = bindparam("hi", type_=IPColumn())
_UID = bindparam("uid", type_=Integer())
_IN_RANGE = _activity(Post.ip.between(_LO, _HI), PostEdit.ip.between(_LO, _HI))
_ACCOUNTS_IN_RANGE = (
    select(
        User.username,
        func.count(),
        func.min(_IN_RANGE.c.created_at),
        func.max(_IN_RANGE.c.created_at),
    )
    .join(User, User.id == _IN_RANGE.c.user_id)
    .group_by(User.id, User.username)
    .order_by(func.count().desc(), User.username)
)
_OF_USER = _activity(Post.user_id == _UID, PostEdit.user_id == _UID)
_IPS_OF_USER = (
    select(
        _OF_USER.c.ip,
        func.count(),
        func.min(_OF_USER.c.created_at),
        func.max(_OF_USER.c.created_at),
    )
    .group_by(_OF_USER.c.ip)
    .order_by(func.max(_OF_USER.c.created_at).desc())
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
    rows = db.session.execute(_POSTS_IN_RANGE, {**_range(network), "skip": page * PAGE_SIZE}).all()
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def shared_ips(user: User) -> list[tuple[str, list[tuple[IPAddress, int]]]]:
    """Other accounts that posted or edited from any of this account's addresses."""
    mine = (
        select(Post.ip)
        .where(Post.user_id == user.id, Post.ip.is_not(None))
        .union(select(PostEdit.ip).where(PostEdit.user_id == user.id, PostEdit.ip.is_not(None)))
    )
    ips = list(db.session.scalars(mine))
    by_user: dict[str, list[tuple[IPAddress, int]]] = {}
    for chunk in _chunks(ips, 500):
        act = _activity(Post.ip.in_(chunk), PostEdit.ip.in_(chunk))
        for username, ip, n in db.session.execute(
            select(User.username, act.c.ip, func.count())
            .join(User, User.id == act.c.user_id)
            .where(act.c.user_id != user.id)
            .group_by(User.username, act.c.ip)
            .order_by(User.username, act.c.ip)
        ):
            by_user.setdefault(username, []).append((ip, n))
    return sorted(by_user.items(), key=lambda item: (-sum(n for _, n in item[1]), item[0]))
