"""Likes (Discourse's post action type 2): one per member and post, counted on the post."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from forum.content import permissions
from forum.content.errors import Forbidden
from forum.content.models import Like, Post, Topic
from forum.db import db
from forum.users.models import User

LIKE = 2


def like(user: User, post: Post) -> None:
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
    if post.deleted_at is not None:  # its likes already left the topic's count
        raise Forbidden("This post is deleted.")
    removed = db.session.execute(
        delete(Like).where(Like.post_id == post.id, Like.user_id == user.id)
    ).rowcount
    if not removed:
        raise Forbidden("You have not liked this post.")
    _count(post, -1)


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
    return set(
        db.session.scalars(
            select(Like.post_id).where(Like.user_id == user.id, Like.post_id.in_(post_ids))
        )
    )
