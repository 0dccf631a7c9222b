"""Staff roles: member, moderator, admin."""

from __future__ import annotations

from sqlalchemy import select

from forum.content.errors import NotFound
from forum.db import db
from forum.users.models import ANONYMOUS_USERNAME, ROLES, User


class RoleError(ValueError):
    pass


def find_user(username: str) -> User | None:
    if "\x00" in username:  # no username has one, and PostgreSQL refuses it in a query
        return None
    return db.session.scalar(select(User).where(User.username_lower == username.lower()))


def member_named(username: str) -> User:
    """The member named `username`; NotFound (a 404, as a page or as JSON) if there is none."""
    user = find_user(username)
    if user is None:
        raise NotFound(f"No member named {username!r}.")
    return user


def grant_role(username: str, role: str, actor: User | None = None) -> User:
    """Give `username` a role; `actor` None is the operator at the command line."""
    if role not in ROLES:
        raise RoleError(f"role must be one of {', '.join(ROLES)}")
    user = find_user(username)
    if user is None:
        raise RoleError(f"no member named {username!r}")
    if user.username == ANONYMOUS_USERNAME and user.github_id is None:
        raise RoleError("the Anonymous user cannot be given a role")
    if user.role != role:
        from forum.moderation import audit

        audit.record_about(
            actor,
            "grant_role",
            user,
            role=role,
            previous=user.role,
        )
        user.role = role
    return user
