"""Staff buttons on the topic page: hide or show a post, close or reopen a topic. The
actions are forum.moderation's (each one audited); these routes only turn a form into a call
and answer with a redirect back to where the moderator was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect

from auth.sessions import current_member
from forum.content import posting
from forum.content.errors import NotFound
from forum.content.models import Post, Topic
from forum.db import db
from forum.moderation.close import set_closed
from forum.moderation.hide import hide_post, unhide_post
from forum.users.models import User
from forum.web.access import page_requires
from forum.web.blueprint import bp
from forum.web.forms import post_url, topic_url


def _me() -> User:
    user = current_member()
    assert user is not None  # page_requires has checked
    return user


def _on_post(post_id: int, action: Callable[[User, Post], None], done: str) -> Any:
    try:
        post = posting.get_post(post_id, _me())
    except NotFound:
        abort(404, description="There is no such post.")
    action(_me(), post)
    db.session.commit()
    topic = db.session.get(Topic, post.topic_id)
    assert topic is not None
    flash(done, "success")
    return redirect(post_url(topic, post.post_number), 303)


@bp.post("/posts/<int:post_id>/hide", endpoint="hide_post")
@page_requires("staff")
def hide_post_page(post_id: int) -> Any:
    """Hide a post: others see a placeholder; staff and the author still see it."""
    return _on_post(post_id, hide_post, "The post is hidden.")


@bp.post("/posts/<int:post_id>/unhide", endpoint="unhide_post")
@page_requires("staff")
def unhide_post_page(post_id: int) -> Any:
    """Show a hidden post to everyone again."""
    return _on_post(post_id, unhide_post, "The post is shown again.")


def _set_closed(topic_id: int, closed: bool) -> Any:
    topic = db.session.get(Topic, topic_id)
    if topic is None or topic.deleted_at is not None:
        abort(404, description="There is no such topic, or it was deleted.")
    set_closed(_me(), topic, closed)
    db.session.commit()
    flash("The topic is closed." if closed else "The topic is open again.", "success")
    return redirect(topic_url(topic), 303)


@bp.post("/t/<int:topic_id>/close")
@page_requires("staff")
def close_topic(topic_id: int) -> Any:
    """Close a topic: members can no longer reply."""
    return _set_closed(topic_id, True)


@bp.post("/t/<int:topic_id>/reopen")
@page_requires("staff")
def reopen_topic(topic_id: int) -> Any:
    """Reopen a closed topic."""
    return _set_closed(topic_id, False)
