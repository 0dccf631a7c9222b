"""Turn a verified GitHub profile into a Parlor account (P3).

The account key is GitHub's numeric id, so a member who renames themselves on GitHub keeps
their account. E-mail, username and picture are refreshed at each sign-in; names too,
until the member corrects them in Parlor.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from auth.profile import GitHubProfile
from forum.db import IPAddress, db
from forum.timeutil import utcnow
from forum.users.avatars import store_avatar
from forum.users.models import SignInEvent, User

# Names that would impersonate the forum or collide with its own routes and users.
RESERVED_USERNAMES = frozenset(
    {
        "anonymous", "system", "admin", "administrator", "moderator", "mod", "staff",
        "support", "help", "root", "parlor", "discourse", "everyone", "here", "all",
        "api", "auth", "session", "u", "user", "users", "t", "c", "posts", "privacy",
        "about", "null", "undefined", "me", "current",
    }
)  # fmt: skip
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_.-]")
MAX_USERNAME = 60


def choose_username(login: str, owner_id: int | None = None) -> str:
    """`login` itself when free; otherwise the first of `login1`, `login2`, ... that is.

    Deterministic and readable; `owner_id` is the account asking, which may keep its own.
    """
    base = _NOT_ALLOWED.sub("_", login)[: MAX_USERNAME - 4] or "member"
    candidate, n = base, 0
    while candidate.lower() in RESERVED_USERNAMES or _taken(candidate, owner_id):
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _taken(username: str, owner_id: int | None) -> bool:
    holder = db.session.scalar(select(User.id).where(User.username_lower == username.lower()))
    return holder is not None and holder != owner_id


def upsert_member(profile: GitHubProfile) -> tuple[User, bool]:
    """The account for this GitHub id, created or refreshed; and whether it is new."""
    user = db.session.scalar(select(User).where(User.github_id == profile.github_id))
    created = user is None
    if user is None:
        username = choose_username(profile.login)
        user = User(
            github_id=profile.github_id,
            username=username,
            username_lower=username.lower(),
            first_name=profile.first_name,
            last_name=profile.last_name,
            email=profile.email,
        )
        db.session.add(user)
        db.session.flush()
    else:
        if user.username.lower() != profile.login.lower():
            username = choose_username(profile.login, owner_id=user.id)
            user.username, user.username_lower = username, username.lower()
        elif user.username != profile.login:  # only the case changed on GitHub
            user.username = profile.login
        user.email = profile.email
        if not user.names_locked:
            user.first_name, user.last_name = profile.first_name, profile.last_name
    return user, created


def record_sign_in(user: User, ip: IPAddress, user_agent: str) -> SignInEvent:
    event = SignInEvent(user_id=user.id, ip=ip, user_agent=user_agent[:512])
    user.last_seen_at = utcnow()
    db.session.add(event)
    return event


def sign_in_member(
    profile: GitHubProfile, avatar_png: bytes | None, avatar_failed: bool, ip: IPAddress, ua: str
) -> tuple[User, SignInEvent, bool]:
    """Everything a successful GitHub sign-in writes, in the caller's one transaction."""
    user, created = upsert_member(profile)
    if not avatar_failed:  # a failed download keeps the picture we had
        store_avatar(user, avatar_png)
    event = record_sign_in(user, ip, ua)
    return user, event, created
