"""Writing through the API: posts (new topic or reply), edits, deletes, likes (P5, P6)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from auth.sessions import current_member, member_required
from forum import events
from forum.api.blueprint import bp
from forum.api.params import int_param, params
from forum.api.responses import json_response
from forum.api.serializers import card, cards, post_json
from forum.content import likes, posting
from forum.content.errors import ContentError, Forbidden
from forum.content.models import Post, Topic
from forum.db import IPAddress, commit_as_written, db, reads_first
from forum.moderation.screening import ensure_not_blocked
from forum.moderation.suspend import suspension_message
from forum.net import request_ip
from forum.ratelimits import limited
from forum.users.models import User


def post_payload(
    post: Post, viewer: User | None, *, new: bool = False, **extra: Any
) -> dict[str, Any]:
    """`new`: the post was written in this request, so nobody has liked it yet."""
    topic = db.session.get(Topic, post.topic_id)
    assert topic is not None
    if viewer is not None and viewer.id == post.user_id:  # their own: no query for the card
        author = card(viewer, viewer.avatar_version)
    else:
        author = cards({post.user_id})[post.user_id]
    liked = False if new else bool(likes.liked_post_ids(viewer, [post.id]))
    return post_json(post, topic, author, viewer, liked, include_raw=True, **extra)


@bp.get("/posts/<int:post_id>.json")
def show_post(post_id: int) -> Any:
    viewer = current_member()
    return json_response(post_payload(posting.get_post(post_id, viewer), viewer))


def writer() -> User:
    """The signed-in member, if they may write: not suspended (told why and until when)."""
    user = current_member()
    assert user is not None  # member_required has checked
    if user.is_suspended:
        raise Forbidden(suspension_message(user))
    return user


def writer_ip() -> IPAddress:
    """The address an edit is recorded with, unless it is screened (a new post's write
    checks its address itself, see `posting._BUMP_TOPIC`)."""
    ip = request_ip()
    ensure_not_blocked(ip)
    return ip


def is_reply() -> bool:
    """Whether POST /posts.json is a reply (topic_id) rather than a new topic."""
    try:
        return params().get("topic_id") not in (None, "")
    except ContentError:  # the view refuses the body (4xx), which no limit counts
        return False


@bp.post("/posts.json")
@reads_first
@limited("topic", when=lambda: not is_reply())
@limited("post", when=is_reply)
@member_required
def create_post() -> Any:
    """A new topic (title, raw, category) or a reply (topic_id, raw)."""
    user = writer()
    data = params()
    ip = request_ip()  # a blocked address is refused by the post's write (posting._BUMP_TOPIC)
    topic_id = int_param(data, "topic_id", required=False)
    if topic_id is not None:
        reply_to = int_param(data, "reply_to_post_number", required=False)
        post = posting.create_reply(user, topic_id, data.get("raw"), ip, reply_to)
    else:
        if "title" not in data:
            raise ContentError("title is required for a new topic, or topic_id for a reply")
        category = int_param(data, "category")
        assert category is not None
        post = posting.create_topic(user, data.get("title"), data.get("raw"), category, ip)
    commit_as_written()  # the answer, built from what was written, reads nothing again
    payload = post_payload(post, user, new=True)
    events.post_created.send(current_app._get_current_object(), post=post)
    return json_response(payload)


@bp.put("/posts/<int:post_id>.json")
@limited("edit")
@member_required
def update_post(post_id: int) -> Any:
    user = writer()
    data = params()
    body = data.get("post")
    if not isinstance(body, dict):  # also accept a flat `raw`, as some clients send
        body = {"raw": data.get("raw"), "edit_reason": data.get("edit_reason")}
    post = posting.get_post(post_id, user)
    post = posting.edit_post(user, post, body.get("raw"), writer_ip(), body.get("edit_reason"))
    payload = {"post": post_payload(post, user)}  # before the commit, as in create_post
    db.session.commit()
    events.post_edited.send(current_app._get_current_object(), post=post)
    return json_response(payload)


@bp.delete("/posts/<int:post_id>.json")
@member_required
def destroy_post(post_id: int) -> Any:
    user = writer()
    posting.delete_post(user, posting.get_post(post_id, user))
    db.session.commit()
    return json_response({"success": "OK"})


def _like_params(post_id: int | None = None) -> tuple[User, Post]:
    user = writer()
    data = params()
    if post_id is None:
        post_id = int_param(data, "id")
    kind = int_param(data, "post_action_type_id")
    if kind != likes.LIKE:
        raise ContentError("post_action_type_id: only 2 (like) is supported")
    assert post_id is not None
    return user, posting.get_post(post_id, user)


@bp.post("/post_actions.json")
@limited("like")
@member_required
def like_post() -> Any:
    user, post = _like_params()
    likes.like(user, post)
    payload = post_payload(post, user)  # before the commit, as in create_post
    db.session.commit()
    return json_response(payload)


@bp.delete("/post_actions/<int:post_id>.json")
@member_required
def unlike_post(post_id: int) -> Any:
    user, post = _like_params(post_id)
    likes.unlike(user, post)
    payload = post_payload(post, user)  # before the commit, as in create_post
    db.session.commit()
    return json_response(payload)
