"""Hiding a post: members see a placeholder; staff and the author still see the text."""

from __future__ import annotations

from forum.content.models import Post
from forum.content.reads import AnyPost
from forum.moderation import audit
from forum.timeutil import utcnow
from forum.users.models import User

PLACEHOLDER = "<p><em>This post was hidden by a moderator.</em></p>"


def hide_post(actor: User, post: Post) -> None:
    if post.hidden_at is None:
        post.hidden_at, post.hidden_by_id = utcnow(), actor.id
        audit.record(
            actor,
            "hide_post",
            subject_user_id=post.user_id,
            subject_type="post",
            subject_id=post.id,
        )


def unhide_post(actor: User, post: Post) -> None:
    if post.hidden_at is not None:
        post.hidden_at, post.hidden_by_id = None, None
        audit.record(
            actor,
            "unhide_post",
            subject_user_id=post.user_id,
            subject_type="post",
            subject_id=post.id,
        )


def can_see_hidden(viewer: User | None, post: AnyPost) -> bool:
    return viewer is not None and (viewer.is_staff or viewer.id == post.user_id)
