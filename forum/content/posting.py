"""Writing: new topics, replies, edits and deletions (P5, P6).

Each function is one action and runs inside the caller's transaction. Markdown is rendered
here, once; the IP is stored with the row it belongs to, so there is no post without one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    cast,
    false,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm.attributes import set_committed_value

from forum.content import permissions
from forum.content.errors import ContentError, Forbidden, NotFound
from forum.content.markdown import render
from forum.content.models import Category, Post, PostEdit, Topic
from forum.content.slug import slugify
from forum.db import IPAddress, begin_writes, db, expire, loaded
from forum.moderation import screening
from forum.moderation.ip_uses import counting_posts, record_use
from forum.moderation.screening import NOT_BLOCKED
from forum.text import one_line, without_nul
from forum.timeutil import utcnow
from forum.users.models import User

# Discourse's defaults.
TITLE_MIN, TITLE_MAX = 15, 255
POST_MIN, POST_MAX = 20, 32000
EDIT_REASON_MAX = 255
LAST_SEEN_PRECISION = timedelta(minutes=1)


_T, _C, _P = Topic.__table__.c, Category.__table__.c, Post.__table__.c
# The statements every reply runs, built once, on the tables (no ORM bulk-update path).
_NOW = bindparam("now", type_=_T.bumped_at.type)
# Who may post (`permissions.can_reply`) and from where (not a blocked address), checked
# where it counts: in the write itself, so a topic deleted or closed, or an address blocked,
# after the request began takes no post (no row comes back), and the checks cost no
# statement of their own.
_BUMP_TOPIC = (
    update(Topic.__table__)
    .where(
        _T.id == bindparam("topic_id"),
        _T.deleted_at.is_(None),
        or_(_T.closed == false(), bindparam("staff")),
        NOT_BLOCKED,
    )
    .values(
        highest_post_number=_T.highest_post_number + 1,
        posts_count=_T.posts_count + 1,
        bumped_at=_NOW,
        last_posted_at=_NOW,
        last_post_user_id=bindparam("author_id"),
    )
    .returning(*Topic.__table__.c)
)
_COUNT_CATEGORY_POST = (
    update(Category.__table__)
    .where(_C.id == bindparam("category_id"))
    .values(post_count=_C.post_count + 1)
)
_COUNT_CATEGORY_TOPIC = (
    update(Category.__table__)
    .where(_C.id == bindparam("category_id"))
    .values(topic_count=_C.topic_count + 1)
)
# On the table, RETURNING the row: the ORM's unit of work was a sixth of a reply.
_INSERT_POST = insert(Post.__table__).returning(*Post.__table__.c)


def _reply_writes() -> Select[Any]:
    """PostgreSQL's one statement for a post's writes (data-modifying WITH queries): the
    topic's number and counts, the category's count, the post, its address's use. One
    row, the topic's columns (`topic_*`) and the post's (`post_*`, NULL when the post it
    replies to is not in the topic); none when the topic takes no reply."""
    bumped = _BUMP_TOPIC.cte("bumped")
    counted = (
        update(Category.__table__)
        .where(_C.id == select(bumped.c.category_id).scalar_subquery())
        .values(post_count=_C.post_count + 1)
        .cte("counted")
    )
    reply_to = cast(bindparam("reply_to"), Integer)
    written = (
        insert(Post.__table__)
        .from_select(
            [
                *("topic_id", "user_id", "post_number", "reply_to_post_number", "raw", "cooked"),
                *("ip", "created_at", "updated_at", "version", "like_count"),
            ],
            select(
                bumped.c.id,
                bindparam("author_id", type_=_P.user_id.type),
                bumped.c.highest_post_number,
                reply_to,
                bindparam("raw", type_=_P.raw.type),
                bindparam("cooked", type_=_P.cooked.type),
                bindparam("ip", type_=_P.ip.type),
                _NOW,
                _NOW,
                literal(1),
                literal(0),
            ).where(
                or_(
                    reply_to.is_(None), and_(reply_to >= 1, reply_to < bumped.c.highest_post_number)
                )
            ),
        )
        .returning(*_P)
        .cte("written")
    )
    used = counting_posts(written).cte("used")
    columns = [c.label(f"topic_{c.key}") for c in bumped.c] + [
        c.label(f"post_{c.key}") for c in written.c
    ]
    return (
        select(*columns)
        .select_from(bumped.outerjoin(written, true()))
        .add_cte(counted, used)  # not read by the SELECT, and run all the same
    )


_REPLY_WRITES = _reply_writes()


def validate_title(title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        raise ContentError("Title can't be blank")
    title = one_line(title)
    if len(title) < TITLE_MIN:
        raise ContentError(f"Title is too short (minimum is {TITLE_MIN} characters)")
    if len(title) > TITLE_MAX:
        raise ContentError(f"Title is too long (maximum is {TITLE_MAX} characters)")
    return title


def validate_raw(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ContentError("Body can't be blank")
    raw = without_nul(raw.replace("\r\n", "\n"))
    length = len(raw.strip())
    if length < POST_MIN:
        raise ContentError(f"Body is too short (minimum is {POST_MIN} characters)")
    if length > POST_MAX:
        raise ContentError(f"Body is too long (maximum is {POST_MAX} characters)")
    return raw


def create_topic(author: User, title: object, raw: object, category_id: int, ip: IPAddress) -> Post:
    title = validate_title(title)
    raw = validate_raw(raw)
    cooked = render(raw)
    category = db.session.get(Category, category_id)
    if category is None:
        raise ContentError("Category is not valid")
    begin_writes()
    now = utcnow()
    topic = Topic(
        title=title,
        slug=slugify(title),
        category_id=category.id,
        user_id=author.id,
        last_post_user_id=author.id,
        created_at=now,
        bumped_at=now,
        last_posted_at=now,
    )
    db.session.add(topic)
    db.session.flush()
    post = _add_post(topic.id, author, raw, cooked, ip, reply_to=None, now=now)
    # In SQL, not `category.topic_count += 1`: two topics opened at once would both read
    # the same count, and one would be lost (PostgreSQL runs them side by side). Last, as
    # the post's count: the category's row lock, which every post in it takes, is then
    # held from the post's writes to the commit only.
    db.session.connection().execute(_COUNT_CATEGORY_TOPIC, {"category_id": category.id})
    expire(Category, category.id)
    return post


def create_reply(
    author: User, topic_id: int, raw: object, ip: IPAddress, reply_to: int | None = None
) -> Post:
    raw = validate_raw(raw)
    cooked = render(raw)  # before the writes: on SQLite they hold the database's write lock
    begin_writes()
    # No read of the topic first: the UPDATE that numbers the post checks it (see
    # `_BUMP_TOPIC`) and returns it.
    return _add_post(topic_id, author, raw, cooked, ip, reply_to=reply_to, now=utcnow())


def _add_post(
    topic_id: int,
    author: User,
    raw: str,
    cooked: str,
    ip: IPAddress,
    reply_to: int | None,
    now: datetime,
) -> Post:
    connection = db.session.connection()  # Core statements: not the session's ORM path
    params = {
        "topic_id": topic_id,
        "author_id": author.id,
        "staff": author.is_staff,
        "now": now,
        "reply_to": reply_to,
        "raw": raw,
        "cooked": cooked,
        "ip": ip,
    }
    if connection.dialect.name == "postgresql":
        topic, post = _write_in_one_statement(connection, params)
    else:
        topic, post = _write_in_steps(connection, params)
    set_committed_value(post, "topic", topic)
    expire(Category, topic.category_id)  # its count changed in SQL
    # To the minute, as Discourse keeps it: not an UPDATE of the member per post. After
    # the topic's lock, as every writer takes a topic's row before its member's.
    seen = author.last_seen_at
    if seen is None or now - seen >= LAST_SEEN_PRECISION:
        author.last_seen_at = now
        db.session.flush()
    return post


def _write_in_steps(connection: Connection, params: dict[str, Any]) -> tuple[Topic, Post]:
    # One atomic UPDATE hands out the post number, so concurrent replies never collide.
    # RETURNING the whole row: the topic's counters as the database has them (another
    # reply may have come first), without a SELECT.
    row = connection.execute(_BUMP_TOPIC, params).one_or_none()
    if row is None:
        raise _cannot_reply(params["topic_id"], params["ip"])
    topic = loaded(Topic, row._mapping)
    reply_to = params["reply_to"]
    if reply_to is not None and not (1 <= reply_to < topic.highest_post_number):
        raise _not_a_post()
    connection.execute(_COUNT_CATEGORY_POST, {"category_id": topic.category_id})
    values = {
        "topic_id": topic.id,
        "user_id": params["author_id"],
        "post_number": topic.highest_post_number,
        "reply_to_post_number": reply_to,
        "raw": params["raw"],
        "cooked": params["cooked"],
        "ip": params["ip"],
        "created_at": params["now"],
        "updated_at": params["now"],
        "version": 1,
        "like_count": 0,
    }
    post = loaded(Post, connection.execute(_INSERT_POST, values).one()._mapping)
    record_use(params["author_id"], params["ip"], params["now"])
    return topic, post


def _write_in_one_statement(connection: Connection, params: dict[str, Any]) -> tuple[Topic, Post]:
    """PostgreSQL: the same four writes as `_write_in_steps`, in one statement. Every reply
    to a topic waits for the row lock its number takes, held until the commit: in steps,
    through three more round trips, during which the holder, on a busy machine, waits
    its turn for a CPU too (a fifth of the CPU stood idle under a load of replies)."""
    row = connection.execute(_REPLY_WRITES, params).one_or_none()
    if row is None:
        raise _cannot_reply(params["topic_id"], params["ip"])
    values = row._mapping
    if values["post_id"] is None:
        # reply_to is not a post of the topic: the topic and its category were counted but
        # the post was not written, and the caller's rollback undoes the counts.
        raise _not_a_post()
    topic = loaded(Topic, {c.key: values[f"topic_{c.key}"] for c in _T})
    return topic, loaded(Post, {c.key: values[f"post_{c.key}"] for c in _P})


def _not_a_post() -> ContentError:
    # The caller rolls back, the topic's counts with the rest.
    return ContentError("reply_to_post_number is not a post of this topic")


def _cannot_reply(topic_id: int, ip: IPAddress) -> ContentError:
    """Why the topic took no post: the address is blocked, there is no such topic (or it is
    deleted), or it is closed. A blocked address rolls the caller's transaction back (the
    post's, a new topic's row with it) and commits the block's count, then raises."""
    entry_id = screening.blocking(ip)
    if entry_id is not None:
        db.session.rollback()
        screening.refuse(entry_id)
    topic = db.session.get(Topic, topic_id, populate_existing=True)
    if topic is None or topic.deleted_at is not None:
        return ContentError("Topic is not valid")
    return Forbidden("This topic is closed; you cannot reply to it.")


def get_post(post_id: int, viewer: User | None = None) -> Post:
    """A visible post: deleted ones exist for staff only."""
    post = db.session.get(Post, post_id)
    staff = viewer is not None and viewer.is_staff
    if post is None or (post.deleted_at is not None and not staff):
        raise NotFound("The requested URL or resource could not be found.")
    if not staff:  # a deleted topic takes its replies with it
        topic = db.session.get(Topic, post.topic_id)
        if topic is None or topic.deleted_at is not None:
            raise NotFound("The requested URL or resource could not be found.")
    return post


def edit_post(editor: User, post: Post, raw: object, ip: IPAddress, reason: object = "") -> Post:
    # Row lock first: two edits at once (a double submit) then take turns, each seeing the
    # other's text and version, instead of both writing version n+1.
    _lock(post)
    topic = db.session.get(Topic, post.topic_id)
    assert topic is not None
    if not permissions.can_edit(editor, post, topic):
        raise Forbidden("You are not permitted to edit this post.")
    raw = validate_raw(raw)
    if reason is None:
        reason = ""
    if not isinstance(reason, str) or len(reason) > EDIT_REASON_MAX:
        raise ContentError(f"edit_reason must be text of at most {EDIT_REASON_MAX} characters")
    if raw == post.raw:
        return post  # nothing changed: no revision, as Discourse does
    post.version += 1
    db.session.add(
        PostEdit(
            post_id=post.id,
            user_id=editor.id,
            version=post.version,
            raw_before=post.raw,
            raw_after=raw,
            edit_reason=without_nul(reason).strip(),
            ip=ip,
        )
    )
    post.raw, post.cooked, post.updated_at = raw, render(raw), utcnow()
    record_use(editor.id, ip, post.updated_at)
    db.session.flush()
    return post


def delete_post(actor: User, post: Post) -> None:
    """Soft delete; deleting a topic's first post deletes the topic (as Discourse does)."""
    # The counters below are read and written back, so the rows are locked first, in the
    # order every writer takes them (post, topic, category): a reply or a like arriving
    # meanwhile waits instead of being lost, and no two writers wait on each other.
    _lock(post)
    if not permissions.can_delete(actor, post):
        raise Forbidden("You are not permitted to delete this post.")
    now = utcnow()
    post.deleted_at = now
    topic = db.session.get(Topic, post.topic_id)
    assert topic is not None
    _lock(topic)
    category = db.session.get(Category, topic.category_id)
    assert category is not None
    _lock(category)
    if post.post_number == 1:
        topic.deleted_at = now
        category.topic_count = max(category.topic_count - 1, 0)
        category.post_count = max(category.post_count - topic.posts_count, 0)
    else:
        topic.posts_count = max(topic.posts_count - 1, 0)
        topic.like_count = max(topic.like_count - post.like_count, 0)
        category.post_count = max(category.post_count - 1, 0)
    db.session.flush()


def _lock(row: Post | Topic | Category) -> None:
    """Re-read the row and hold it until commit (SELECT ... FOR UPDATE on PostgreSQL; on
    SQLite the write transaction already holds the whole database)."""
    db.session.refresh(row, with_for_update=True)
