"""Likes (Discourse's post action type 2): one per member and post, counted on the post."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from forum.content import permissions
from forum.content.errors import Forbidden
from forum.content.models import Like, Post, Topic
from forum.db import db
from forum.users.models import User

LIKE = 2

# Built once: every page of posts a member reads runs it.
_L = Like.__table__.c
_LIKED = select(_L.post_id).where(
    _L.user_id == bindparam("user_id"), _L.post_id.in_(bindparam("post_ids", expanding=True))
)


def like(user: User, post: Post) -> None:
    # The post's row first (as a deletion takes it): a like and the post's deletion, or the
    # same like sent twice, take turns and each sees what the other did.
    lock_post(post)
    if not permissions.can_like(user, post):
        raise Forbidden("You cannot like this post.")
    exists = db.session.scalar(
        select(Like.id).where(Like.post_id == post.id, Like.user_id == user.id)
    )
    if exists is not None:
        raise Forbidden("You already performed this action.")
    try:
        with db.session.begin_nested():
            db.session.add(Like(post_id=post.id, user_id=user.id))
    except IntegrityError:  # the same like from a concurrent request
        raise Forbidden("You already performed this action.") from None
    _count(post, +1)


def unlike(user: User, post: Post) -> None:
    lock_post(post)
    if post.deleted_at is not None:  # its likes already left the topic's count
        raise Forbidden("This post is deleted.")
    removed = db.session.execute(
        delete(Like).where(Like.post_id == post.id, Like.user_id == user.id)
    ).rowcount
    if not removed:
        raise Forbidden("You have not liked this post.")
    _count(post, -1)


def lock_post(post: Post) -> None:
    """Re-read the post and hold its row until commit (FOR UPDATE; a no-op on SQLite,
    whose write transaction holds the whole database)."""
    db.session.refresh(post, with_for_update=True)


def _count(post: Post, delta: int) -> None:
    db.session.execute(
        update(Post).where(Post.id == post.id).values(like_count=Post.like_count + delta)
    )
    db.session.execute(
        update(Topic).where(Topic.id == post.topic_id).values(like_count=Topic.like_count + delta)
    )
    db.session.refresh(post)


def liked_post_ids(user: User | None, post_ids: list[int]) -> set[int]:
    """Which of these posts the member liked: one query for a whole page of posts."""
    if user is None or not post_ids:
        return set()
    return set(db.session.scalars(_LIKED, {"user_id": user.id, "post_ids": post_ids}))
