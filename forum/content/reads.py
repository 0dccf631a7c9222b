"""The hot reads (topic pages, topic lists) as plain tuples, from statements built once.

A page only shows what it reads, so these select the columns it shows and return named
tuples, read by attribute like the models (`row.title`), instead of ORM objects: no
identity map, no change tracking, no statement built per request. Building a `select()`
and turning rows into `Topic`/`Post` objects was over half of a topic's time (issue 10,
`bench/NOTES.md`); reading an attribute of SQLAlchemy's own `Row` costs ten times a named
tuple's, and a page reads a few hundred. Writes still load the models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeAlias, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, case, false, select

from forum.content.models import Category, Like, Post, Topic
from forum.db import db
from forum.users.models import Avatar, User


class TopicRow(NamedTuple):
    id: int
    title: str
    slug: str
    category_id: int
    user_id: int
    last_post_user_id: int
    created_at: datetime
    bumped_at: datetime
    last_posted_at: datetime
    posts_count: int
    highest_post_number: int
    like_count: int
    views: int
    closed: bool
    deleted_at: datetime | None
    reply_count: int  # `Topic.reply_count`, a Python property there


class PostRow(NamedTuple):
    """What a post shows: not its source (`raw`) nor where it came from (`ip`)."""

    id: int
    topic_id: int
    user_id: int
    post_number: int
    reply_to_post_number: int | None
    cooked: str
    created_at: datetime
    updated_at: datetime
    version: int
    like_count: int
    deleted_at: datetime | None
    hidden_at: datetime | None
    liked: bool  # by the viewer
    # The author's card (forum/api/serializers.py, `authors`): no query of its own.
    author_username: str
    author_first_name: str
    author_last_name: str
    author_role: str
    author_avatar_version: str | None


class CategoryRow(NamedTuple):
    id: int
    name: str
    slug: str


# What serializers, permissions and templates read, by attribute: a model or its row here.
AnyTopic: TypeAlias = Topic | TopicRow
AnyPost: TypeAlias = Post | PostRow

_T, _P, _C = Topic.__table__.c, Post.__table__.c, Category.__table__.c
_EXTRA = {
    "reply_count": case((_T.posts_count > 0, _T.posts_count - 1), else_=0).label("reply_count")
}


def _columns(fields: tuple[str, ...], table: Any) -> list[ColumnElement[Any]]:
    """A row type's fields as columns, in its order (a field the table lacks fails here,
    at import, rather than as a wrong attribute on some page)."""
    return [_EXTRA[name] if name in _EXTRA else table[name] for name in fields]


_TOPIC_COLUMNS = _columns(TopicRow._fields, _T)
# The post's own columns; `liked` and the author's come from joins (see _posts).
_POST_COLUMNS = _columns(PostRow._fields[: PostRow._fields.index("liked")], _P)
_U, _A = User.__table__, Avatar.__table__
_AUTHOR_COLUMNS = (
    _U.c.username.label("author_username"),
    _U.c.first_name.label("author_first_name"),
    _U.c.last_name.label("author_last_name"),
    _U.c.role.label("author_role"),
    _A.c.version.label("author_avatar_version"),
)

_TOPIC = select(*_TOPIC_COLUMNS).where(_T.id == bindparam("topic_id"))
_CATEGORY = select(*_columns(CategoryRow._fields, _C)).where(_C.id == bindparam("category_id"))

R = TypeVar("R")


def _all(
    make: Callable[[Iterable[Any]], R], statement: Select[Any], params: dict[str, Any]
) -> list[R]:
    return list(map(make, db.session.execute(statement, params).all()))


def _first(
    make: Callable[[Iterable[Any]], R], statement: Select[Any], params: dict[str, Any]
) -> R | None:
    found = db.session.execute(statement, params).first()
    return None if found is None else make(found)


def _visible(include_deleted: bool) -> list[Any]:
    where = [_P.topic_id == bindparam("topic_id")]
    return where if include_deleted else [*where, _P.deleted_at.is_(None)]


_STREAM = {
    include_deleted: select(_P.id, _P.user_id)
    .where(*_visible(include_deleted))
    .order_by(_P.post_number)
    for include_deleted in (False, True)
}


def _posts(include_deleted: bool, signed_in: bool, by_id: bool) -> Select[Any]:
    """Posts of a topic with `liked` (whether the viewer liked each: a join on the
    viewer's likes, false for visitors) and their authors' cards, in one query."""
    posts = Post.__table__
    if signed_in:
        _L = Like.__table__
        liked = _L.c.id.is_not(None).label("liked")
        joined = posts.outerjoin(
            _L, (_L.c.post_id == _P.id) & (_L.c.user_id == bindparam("viewer_id"))
        )
    else:
        liked, joined = false().label("liked"), posts
    joined = joined.join(_U, _U.c.id == _P.user_id).outerjoin(_A, _A.c.user_id == _P.user_id)
    query = select(*_POST_COLUMNS, liked, *_AUTHOR_COLUMNS).select_from(joined)
    query = query.where(*_visible(include_deleted)).order_by(_P.post_number)
    if by_id:
        return query.where(_P.id.in_(bindparam("post_ids", expanding=True)))
    return query.offset(bindparam("offset")).limit(bindparam("limit"))


# Every combination of: staff (who see deleted posts) or not, signed in or not, by id or paged.
_POSTS = {
    (include_deleted, signed_in, by_id): _posts(include_deleted, signed_in, by_id)
    for include_deleted in (False, True)
    for signed_in in (False, True)
    for by_id in (False, True)
}


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


def topic(topic_id: int) -> TopicRow | None:
    """The topic's row, deleted or not."""
    return _first(TopicRow._make, _TOPIC, {"topic_id": topic_id})


# What a card needs (forum/api/serializers.py, `cards_from`), in its order.
_CARD_FIELDS = ("id", "username", "first_name", "last_name", "role")


def _card_columns(user: Any, avatar: Any) -> list[ColumnElement[Any]]:
    return [*(user.c[name] for name in _CARD_FIELDS), avatar.c.version]


_CREATOR, _CREATOR_AVATAR = _U.alias("creator"), _A.alias("creator_avatar")
_LAST, _LAST_AVATAR = _U.alias("last_poster"), _A.alias("last_poster_avatar")
_TOPIC_WITH_PEOPLE = (
    select(
        *_TOPIC_COLUMNS,
        *_card_columns(_CREATOR, _CREATOR_AVATAR),
        *_card_columns(_LAST, _LAST_AVATAR),
    )
    .select_from(
        Topic.__table__.join(_CREATOR, _CREATOR.c.id == _T.user_id)
        .outerjoin(_CREATOR_AVATAR, _CREATOR_AVATAR.c.user_id == _T.user_id)
        .join(_LAST, _LAST.c.id == _T.last_post_user_id)
        .outerjoin(_LAST_AVATAR, _LAST_AVATAR.c.user_id == _T.last_post_user_id)
    )
    .where(_T.id == bindparam("topic_id"))
)


def topic_with_people(topic_id: int) -> tuple[TopicRow, list[Sequence[Any]]] | None:
    """The topic's row and the card columns of its creator and of its last poster, which
    the topic's JSON shows: one query instead of two."""
    row = db.session.execute(_TOPIC_WITH_PEOPLE, {"topic_id": topic_id}).first()
    if row is None:
        return None
    n, card = len(_TOPIC_COLUMNS), len(_CARD_FIELDS) + 1
    return TopicRow._make(row[:n]), [row[n : n + card], row[n + card :]]


def category(category_id: int) -> CategoryRow | None:
    return _first(CategoryRow._make, _CATEGORY, {"category_id": category_id})


def post_stream(topic_id: int, include_deleted: bool) -> Sequence[tuple[int, int]]:
    """(id, user_id) of every post of the topic in order: Discourse's `stream`."""
    return db.session.execute(_STREAM[include_deleted], {"topic_id": topic_id}).all()


def posts_page(
    topic_id: int, offset: int, limit: int, *, include_deleted: bool, viewer_id: int | None
) -> list[PostRow]:
    """The topic's posts in order, from the `offset`th, at most `limit`; `liked` is the
    viewer's (None: a visitor)."""
    params = {"topic_id": topic_id, "offset": offset, "limit": limit, "viewer_id": viewer_id}
    return _all(PostRow._make, _POSTS[include_deleted, viewer_id is not None, False], params)


def posts_by_id(
    topic_id: int, post_ids: list[int], *, include_deleted: bool, viewer_id: int | None
) -> list[PostRow]:
    """These posts of the topic (others are left out), in order, as `posts_page`."""
    if not post_ids:
        return []
    params = {"topic_id": topic_id, "post_ids": post_ids, "viewer_id": viewer_id}
    return _all(PostRow._make, _POSTS[include_deleted, viewer_id is not None, True], params)


def topic_list(category_id: int | None, offset: int, limit: int) -> list[TopicRow]:
    """Undeleted topics, the most recently bumped first; of one category if given."""
    params = {"offset": offset, "limit": limit}
    if category_id is not None:
        params["category_id"] = category_id
    return _all(TopicRow._make, _TOPIC_LISTS[category_id is not None], params)
