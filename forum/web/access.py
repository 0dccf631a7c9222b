"""Who may open a page, and how a service's refusal becomes a page.

`page_requires(role)` is `auth.sessions.requires` for pages: a visitor is shown a page
that offers to sign in (and come back), a member without the role a 403 page. The role
is left on the view as `parlor_role`, which /openapi.json reads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import render_template, request

from auth.sessions import ROLE_CHECKS, current_member
from forum.content.errors import ContentError
from forum.db import db
from forum.users.models import User
from forum.web.blueprint import MESSAGES, error_page

F = TypeVar("F", bound=Callable[..., Any])


def sign_in_page() -> tuple[str, int]:
    """403 with a way in: GitHub sign-in that returns to this page (GET only)."""
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    return render_template("parlor/sign_in_required.html", back=back), 403


def page_requires(role: str) -> Callable[[F], F]:
    allowed = ROLE_CHECKS[role]

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            me = current_member()
            if me is None:
                return sign_in_page()
            if not allowed(me):
                return error_page(403, MESSAGES[f"{role}_only"])
            return view(*args, **kwargs)

        wrapper.parlor_role = role  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def service_errors(view: F) -> F:
    """A ContentError the view did not show next to a form (a missing post, a refusal)
    becomes an error page with the service's own words and status."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ContentError as exc:
            db.session.rollback()
            return error_page(exc.status, "; ".join(exc.messages))

    return wrapper  # type: ignore[return-value]


def me() -> User:
    """The signed-in member (the decorators have checked)."""
    user = current_member()
    assert user is not None
    return user
