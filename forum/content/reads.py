"""The hot reads (topic pages, topic lists) as plain rows, from statements built once.

A page only shows what it reads, so these select the columns it shows and return
SQLAlchemy `Row`s, read by attribute like the models (`row.title`), instead of ORM objects:
no identity map, no change tracking, no statement built per request. Building a `select()`
and turning rows into `Topic`/`Post` objects was over half of a topic's time (issue 10,
`bench/NOTES.md`). Writes still load the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import Row, Select, bindparam, case, select

from forum.content.models import Category, Post, Topic
from forum.db import db

# What serializers, permissions and templates read, by attribute: a model or its row here.
AnyTopic: TypeAlias = Topic | Row[Any]
AnyPost: TypeAlias = Post | Row[Any]

_T, _P, _C = Topic.__table__.c, Post.__table__.c, Category.__table__.c

# `Topic.reply_count` is a Python property; rows carry it as a column.
_REPLY_COUNT = case((_T.posts_count > 0, _T.posts_count - 1), else_=0).label("reply_count")
_TOPIC_COLUMNS = (*_T, _REPLY_COUNT)
# Everything a post shows: not its source (`raw`) nor where it came from (`ip`).
_POST_COLUMNS = tuple(c for c in _P if c.name not in ("raw", "ip"))

_TOPIC = select(*_TOPIC_COLUMNS).where(_T.id == bindparam("topic_id"))
_CATEGORY = select(_C.id, _C.name, _C.slug).where(_C.id == bindparam("category_id"))


def _visible(include_deleted: bool) -> list[Any]:
    where = [_P.topic_id == bindparam("topic_id")]
    return where if include_deleted else [*where, _P.deleted_at.is_(None)]


def _by_deleted(build: Any) -> dict[bool, Select[Any]]:
    """One statement for staff (who see deleted posts) and one for everyone else."""
    return {include_deleted: build(_visible(include_deleted)) for include_deleted in (False, True)}


_STREAM = _by_deleted(
    lambda where: select(_P.id, _P.user_id).where(*where).order_by(_P.post_number)
)
_PAGE = _by_deleted(
    lambda where: (
        select(*_POST_COLUMNS)
        .where(*where)
        .order_by(_P.post_number)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )
)
_BY_IDS = _by_deleted(
    lambda where: (
        select(*_POST_COLUMNS)
        .where(*where, _P.id.in_(bindparam("post_ids", expanding=True)))
        .order_by(_P.post_number)
    )
)


def _topic_list(in_category: bool) -> Select[Any]:
    query = select(*_TOPIC_COLUMNS).where(_T.deleted_at.is_(None))
    if in_category:
        query = query.where(_T.category_id == bindparam("category_id"))
    return (
        query.order_by(_T.bumped_at.desc(), _T.id.desc())
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


_TOPIC_LISTS = {in_category: _topic_list(in_category) for in_category in (False, True)}


def topic(topic_id: int) -> Row[Any] | None:
    """The topic's row (every column, and `reply_count`), deleted or not."""
    return db.session.execute(_TOPIC, {"topic_id": topic_id}).first()


def category(category_id: int) -> Row[Any] | None:
    """A category's id, name and slug."""
    return db.session.execute(_CATEGORY, {"category_id": category_id}).first()


def post_stream(topic_id: int, include_deleted: bool) -> Sequence[Row[Any]]:
    """(id, user_id) of every post of the topic in order: Discourse's `stream`."""
    return db.session.execute(_STREAM[include_deleted], {"topic_id": topic_id}).all()


def posts_page(topic_id: int, offset: int, limit: int, include_deleted: bool) -> Sequence[Row[Any]]:
    """The topic's posts in order, from the `offset`th, at most `limit`."""
    params = {"topic_id": topic_id, "offset": offset, "limit": limit}
    return db.session.execute(_PAGE[include_deleted], params).all()


def posts_by_id(topic_id: int, post_ids: list[int], include_deleted: bool) -> Sequence[Row[Any]]:
    """These posts of the topic (others are left out), in order."""
    if not post_ids:
        return []
    params = {"topic_id": topic_id, "post_ids": post_ids}
    return db.session.execute(_BY_IDS[include_deleted], params).all()


def topic_list(category_id: int | None, offset: int, limit: int) -> Sequence[Row[Any]]:
    """Undeleted topics, the most recently bumped first; of one category if given."""
    params = {"offset": offset, "limit": limit}
    if category_id is not None:
        params["category_id"] = category_id
    return db.session.execute(_TOPIC_LISTS[category_id is not None], params).all()
