"""The API blueprint: CSRF for cookie sessions, and errors in Discourse's shape.

The handlers are the blueprint's own, so a host application mounting the forum keeps its
own error pages and JSON settings.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException, default_exceptions

from auth.sessions import UNSAFE_METHODS, csrf_ok, via_api_key
from forum.api.responses import json_error
from forum.content.errors import ContentError
from forum.db import db
from forum.errorlog import error_logger
from forum.unavailable import unexpected_error_message

bp = Blueprint("api", __name__)

# abort(status, description=<key>) -> the message Discourse clients show.
MESSAGES = {
    "not_logged_in": "You are not logged in.",
    "no_client_ip": "Your IP address could not be determined, so nothing can be recorded.",
    "staff_only": "You are not permitted to view the requested resource: staff only.",
    "admin_only": "You are not permitted to view the requested resource: admins only.",
}
ERROR_KEYS = {"staff_only": "invalid_access", "admin_only": "invalid_access"}
ERROR_TYPES = {
    400: "invalid_parameters",
    403: "invalid_access",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid_parameters",
}


@bp.url_value_preprocessor
def ids_in_range(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    # An id no INTEGER column can hold names nothing (and SQLite cannot even bind it).
    if values and any(isinstance(v, int) and not 0 <= v < 2**31 for v in values.values()):
        abort(404)


@bp.before_request
def require_csrf_for_cookie_writes() -> Any:
    signed_in = current_user.is_authenticated  # loads the session or the API key
    if g.get("parlor_bad_api_key"):
        return json_error(403, ["The API key or username is not valid."], "invalid_access")
    if request.method in UNSAFE_METHODS and signed_in and not via_api_key() and not csrf_ok():
        return json_error(403, ["BAD CSRF"], "invalid_access")
    return None


@bp.errorhandler(ContentError)
def content_error(exc: ContentError) -> Any:
    db.session.rollback()
    return json_error(exc.status, exc.messages, exc.error_type)


def http_error(exc: HTTPException) -> Any:
    db.session.rollback()
    status = exc.code or 500
    key = exc.description if exc.description in MESSAGES else None
    if key:
        return json_error(status, [MESSAGES[key]], ERROR_KEYS.get(key, key))
    message = exc.description if status < 500 else "Something went wrong."
    return json_error(status, [message or exc.name], ERROR_TYPES.get(status, "error"))


# Registered per status code: Flask prefers any handler for the exact code (say, a host
# application's 404 page) over a handler for the HTTPException class, even a blueprint's.
for _code in default_exceptions:
    bp.register_error_handler(_code, http_error)


@bp.errorhandler(Exception)
def unexpected(exc: Exception) -> Any:
    db.session.rollback()
    error_logger().exception("Unhandled error on %s %s", request.method, request.path)
    return json_error(500, [unexpected_error_message()], "server_error")
