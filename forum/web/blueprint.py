"""The pages' blueprint: forms with Discourse's `authenticity_token`, and errors as pages.

Routes live in the modules beside this one (reading, writing, account, staff); each
imports `bp` from here. Templates must stay free of inline scripts and styles: the
Content-Security-Policy (forum/web/headers.py) forbids them.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    has_request_context,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import HTTPException, default_exceptions

from auth.sessions import UNSAFE_METHODS, csrf_ok, csrf_token, current_member
from forum.api.blueprint import ids_in_range
from forum.db import db
from forum.errorlog import error_logger
from forum.unavailable import unexpected_error_message
from forum.urls import built_once

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    # Its own static path: a blueprint without a URL prefix would be shadowed by /static.
    static_url_path="/parlor-static",
)

# abort(status, description=<key>): what a person reads, and what they can do about it.
MESSAGES = {
    "not_logged_in": "Sign in with GitHub to do this.",
    "staff_only": "Only moderators and admins can see this page.",
    "admin_only": "Only admins can see this page.",
    "no_client_ip": "Your IP address could not be determined, so nothing was recorded.",
    "bad_csrf": "This form has expired. Go back, reload the page and try again.",
}
TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Not allowed"}


@bp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    ids_in_range(endpoint, values)


# The links in every page's frame (base.html): built once per mount point of the site,
# not with a dozen `url_for` calls per page (a tenth of a topic page's time).
SITE_LINKS = {
    "favicon": ("web.static", {"filename": "favicon.svg"}),
    "css": ("web.static", {"filename": "parlor.css"}),
    "js": ("web.static", {"filename": "parlor.js"}),
    "home": ("web.home", {}),
    "categories": ("web.categories", {}),
    "new_topic": ("web.new_topic", {}),
    "staff_desk": ("web.staff_desk", {}),
    "search": ("web.search", {}),
    "sign_out": ("web.sign_out", {}),
    "sign_in": ("auth.login", {}),
    "privacy": ("web.privacy_page", {}),
}


def site_links() -> dict[str, str]:
    return built_once(
        "site links",
        lambda: {name: url_for(endpoint, **args) for name, (endpoint, args) in SITE_LINKS.items()},
    )


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    found = {"current_member": current_member, "csrf_token": csrf_token}
    if has_request_context():  # not for a template rendered elsewhere (an e-mail)
        found["site"] = site_links()
    return found


@bp.before_request
def _require_csrf_for_form_posts() -> Any:
    # Every page write is a signed-in member's form; the unsubscribe link carries its own
    # secret token instead (it works signed out, from an e-mail).
    if request.method in UNSAFE_METHODS and request.endpoint != "web.unsubscribe":
        if not current_user.is_authenticated:
            return error_page(403, MESSAGES["not_logged_in"])
        if not csrf_ok():
            return error_page(403, MESSAGES["bad_csrf"])
    return None


def error_page(
    status: int, message: str, title: str | None = None, back: str | None = None
) -> tuple[str, int]:
    """The error page: what happened, and a way back (`back`, else the latest topics)."""
    return (
        render_template(
            "parlor/error.html",
            status=status,
            title=title or TITLES.get(status, "Something went wrong"),
            message=message,
            back=back,
        ),
        status,
    )


def navigated() -> bool:
    """A browser following a link (not a script or API client): it should get a page, even
    from a route that otherwise answers JSON, such as the export download."""
    return request.headers.get("Sec-Fetch-Mode") == "navigate"


def slow_down_page(message: str, wait_seconds: int) -> tuple[str, int, dict[str, str]]:
    body, status = error_page(429, message, title="Slow down")
    return body, status, {"Retry-After": str(wait_seconds)}


def _http_error(exc: HTTPException) -> Any:
    db.session.rollback()
    status = exc.code or 500
    message = MESSAGES.get(str(exc.description)) or (
        exc.description if status < 500 else "Something went wrong on our side."
    )
    response = error_page(status, message or exc.name, None if status < 500 else exc.name)
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        return (*response, {"Allow": ", ".join(exc.valid_methods)})  # type: ignore[attr-defined]
    return response


# Per status code, as in forum/api/blueprint.py: exact-code handlers win over class ones.
for _code in default_exceptions:
    bp.register_error_handler(_code, _http_error)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Any:
    db.session.rollback()
    error_logger().exception("Unhandled error on %s %s", request.method, request.path)
    return error_page(500, unexpected_error_message())
