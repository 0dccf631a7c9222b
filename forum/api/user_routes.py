"""`/u/{username}.json` (and `/users/...`): a member's public card and counts."""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import func, select

from auth.sessions import current_member
from forum.api.blueprint import bp
from forum.api.responses import json_response
from forum.api.serializers import card
from forum.content.models import Post, Topic
from forum.db import db
from forum.timeutil import iso
from forum.users.models import Avatar, User


@bp.get("/u/<username>.json")
@bp.get("/users/<username>.json")
def show_user(username: str) -> Any:
    row = db.session.execute(
        select(User, Avatar.version)
        .outerjoin(Avatar, Avatar.user_id == User.id)
        .where(User.username_lower == username.lower())
    ).first()
    if row is None:
        abort(404)
    user, version = row
    viewer = current_member()
    is_self = viewer is not None and viewer.id == user.id
    post_count = db.session.scalar(
        select(func.count(Post.id)).where(Post.user_id == user.id, Post.deleted_at.is_(None))
    )
    topic_count = db.session.scalar(
        select(func.count(Topic.id)).where(Topic.user_id == user.id, Topic.deleted_at.is_(None))
    )
    last_posted_at = db.session.scalar(
        select(func.max(Post.created_at)).where(Post.user_id == user.id, Post.deleted_at.is_(None))
    )
    data = {
        **card(user, version).basic(),
        "last_posted_at": iso(last_posted_at),
        # When someone was last around is theirs to know, not everyone's.
        "last_seen_at": iso(user.last_seen_at) if is_self else None,
        "created_at": iso(user.created_at),
        "trust_level": 1,
        "moderator": user.role == "moderator",
        "admin": user.role == "admin",
        "title": None,
        "badge_count": 0,
        "post_count": post_count or 0,
        "topic_count": topic_count or 0,
        "can_edit": is_self,
        "can_edit_username": False,
        "can_edit_email": False,
        "can_edit_name": is_self,
        "staged": False,
        "uploaded_avatar_id": None,
        "profile_view_count": 0,
    }
    return json_response({"user_badges": [], "user": data})
