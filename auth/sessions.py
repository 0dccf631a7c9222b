"""Sessions (Flask-Login over Flask's signed cookie) and the CSRF token Discourse clients use.

The id Flask-Login keeps is "user id:session token": a new token ends every session of
that member at once (sign out everywhere), and nothing in the cookie is a GitHub secret.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Request, abort, g, request, session
from flask_login import LoginManager, current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import undefer

from forum.db import db
from forum.users.models import User

F = TypeVar("F", bound=Callable[..., Any])
CSRF_KEY = "_csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

login_manager = LoginManager()
login_manager.session_protection = "basic"
# Built once: every signed-in request runs it (`session.get` builds its statement per call).
# With the avatar's version, for the member's own card (forum/api/post_routes.py).
_USER_BY_ID = (
    select(User).options(undefer(User.avatar_version)).where(User.id == bindparam("user_id"))
)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _, token = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and token) or len(user_id) > 10:
        return None
    user = db.session.execute(_USER_BY_ID, {"user_id": int(user_id)}).scalar_one_or_none()
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user


@login_manager.request_loader
def load_from_api_key(req: Request) -> User | None:
    """Discourse clients' `Api-Key` and `Api-Username` headers (no cookie, no CSRF)."""
    key = req.headers.get("Api-Key")
    if not key:
        return None
    from auth.api_keys import authenticate

    user = authenticate(key, req.headers.get("Api-Username"))
    g.parlor_api_key = user is not None
    g.parlor_bad_api_key = user is None
    return user


def via_api_key() -> bool:
    return bool(g.get("parlor_api_key"))


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    abort(403, description="not_logged_in")


def init_sessions(app: Flask) -> None:
    login_manager.init_app(app)


def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_ok() -> bool:
    """Whether this request carries the session's CSRF token (header or form field)."""
    expected = session.get(CSRF_KEY)
    sent = request.headers.get("X-CSRF-Token") or _form_token()
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


def _form_token() -> str | None:
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get("authenticity_token")
    return None


def current_member() -> User | None:
    """The signed-in member, or None. The object itself, not Flask-Login's `current_user`
    proxy: every attribute read through the proxy is a context lookup, and a page of posts
    reads the viewer's id and role a few times per post."""
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    return user if user.is_authenticated else None


ROLE_CHECKS: dict[str, Callable[[User], bool]] = {
    "member": lambda user: True,
    "staff": lambda user: user.is_staff,
    "admin": lambda user: user.is_admin,
}


def requires(role: str) -> Callable[[F], F]:
    """Only signed-in members holding `role` (member, staff, admin): visitors get 403
    `not_logged_in`, as Discourse answers, and members without the role 403. The role is
    left on the view as `parlor_role`, for /openapi.json to say who may call it."""
    allowed = ROLE_CHECKS[role]

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(403, description="not_logged_in")
            if not allowed(current_user):
                abort(403, description=f"{role}_only")
            return view(*args, **kwargs)

        wrapper.parlor_role = role  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


member_required = requires("member")
staff_required = requires("staff")
admin_required = requires("admin")
