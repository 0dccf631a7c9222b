"""The newsletter (P13): opt-in only, and a one-click unsubscribe link per member that
works without signing in (RFC 8058)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from forum.db import db
from forum.users.models import User

_SALT = "parlor.newsletter.unsubscribe"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def unsubscribe_token(user: User) -> str:
    return _serializer().dumps({"u": user.id})


def user_for_token(token: str | None) -> User | None:
    if not token:
        return None
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def unsubscribe_url(user: User) -> str:
    """The absolute link for e-mails; built from PUBLIC_URL, also outside any request."""
    args = {"token": unsubscribe_token(user)}
    if has_request_context():
        path = url_for("web.unsubscribe", **args)
    else:
        path = current_app.url_map.bind("localhost").build("web.unsubscribe", args)
    public = current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    return f"{public}{path}"


def unsubscribe(user: User) -> bool:
    """Turn the newsletter off; True if it was on."""
    if not user.newsletter:
        return False
    from forum.privacy.account import update_profile

    update_profile(user, {"newsletter": False})
    return True


def recipients() -> Iterator[tuple[str, str]]:
    """(address, unsubscribe URL) for every member who opted in."""
    query = select(User).where(User.newsletter.is_(True), User.email.is_not(None))
    for user in db.session.scalars(query.order_by(User.id)):
        assert user.email is not None
        yield user.email, unsubscribe_url(user)
