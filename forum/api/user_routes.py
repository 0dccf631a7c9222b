"""`/u/{username}.json` (and `/users/...`): a member's public card and counts."""

from __future__ import annotations

from typing import Any

from flask import abort, url_for
from sqlalchemy import func, select

from auth.sessions import current_member
from forum.api.blueprint import bp
from forum.api.responses import json_response
from forum.api.serializers import card
from forum.content.models import Post, Topic
from forum.db import db
from forum.timeutil import iso
from forum.users.models import Avatar, User
from forum.users.roles import find_user


@bp.get("/u/<username>.json")
@bp.get("/users/<username>.json")
def show_user(username: str) -> Any:
    user = find_user(username)
    if user is None:
        abort(404)
    return json_response({"user_badges": [], "user": user_payload(user, current_member())})


def user_payload(user: User, viewer: User | None) -> dict[str, Any]:
    """A member's card and counts; to the member themselves, everything Parlor holds (P9)."""
    avatar = db.session.get(Avatar, user.id)
    is_self = viewer is not None and viewer.id == user.id
    mine = (Post.user_id == user.id) & Post.deleted_at.is_(None)
    post_count, last_posted_at = db.session.execute(
        select(func.count(Post.id), func.max(Post.created_at)).where(mine)
    ).one()
    topic_count = db.session.scalar(
        select(func.count(Topic.id)).where(Topic.user_id == user.id, Topic.deleted_at.is_(None))
    )
    data: dict[str, Any] = {
        **card(user, avatar.version if avatar else None).basic(),
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
    if is_self:
        data.update(
            {
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "github_id": user.github_id,
                "role": user.role,
                "newsletter": user.newsletter,
                "newsletter_consent_at": iso(user.newsletter_consent_at),
                "names_from_github": not user.names_locked,
                "suspended_till": iso(user.suspended_until),
                "suspend_reason": user.suspended_reason or None,
                "export_url": url_for("api.export_zip", username=user.username_lower),
            }
        )
    return data
