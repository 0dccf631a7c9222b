"""Who may do what with content. One place, so pages, API and tests agree."""

from __future__ import annotations

from forum.content.reads import AnyPost, AnyTopic
from forum.users.models import User


def can_reply(user: User | None, topic: AnyTopic) -> bool:
    if user is None or topic.deleted_at is not None:
        return False
    return not topic.closed or user.is_staff


def can_edit(user: User | None, post: AnyPost, topic: AnyTopic) -> bool:
    if user is None or post.deleted_at is not None:
        return False
    if user.is_staff:
        return True
    return post.user_id == user.id and not topic.closed


def can_delete(user: User | None, post: AnyPost) -> bool:
    if user is None or post.deleted_at is not None:
        return False
    return user.is_staff or post.user_id == user.id


def can_like(user: User | None, post: AnyPost) -> bool:
    return user is not None and post.user_id != user.id and post.deleted_at is None
