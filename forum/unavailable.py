"""The database unavailable: down, unreachable, or locked past the busy timeout.

Such a request gets 503 with Retry-After, not a 500 and never a traceback: JSON routes in
Discourse's error shape, pages and redirects a plain page (plain on purpose: the site's
layout asks the database who is signed in). Nothing is kept between requests, so the next
request after the database comes back works again (the pool replaces broken connections).

One case differs: the database failing after the request already saved its change (a
commit, then a read for the answer). "Try again" would then write it twice, so the answer
is a 500 that says the change was saved.

The handlers are Parlor's blueprints' own, like their other error handlers, so a host
application that mounts the forum keeps its own answer for its own routes.
"""

from __future__ import annotations

import contextlib
import html
from typing import Any

from flask import Blueprint, Response, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy import exc as sa
from sqlalchemy.orm import Session

from forum.api.responses import json_error
from forum.db import UNSAVED, db
from forum.errorlog import error_logger

# Connection refused or lost, server shutting down, "database is locked", pool exhausted.
# Not IntegrityError or ProgrammingError: those are bugs, and stay 500s.
UNAVAILABLE: tuple[type[Exception], ...] = (
    sa.OperationalError,
    sa.InterfaceError,
    sa.TimeoutError,
)
RETRY_AFTER_SECONDS = 10
MESSAGE = "The forum's database is not available right now. Please try again in a moment."
SAVED_MESSAGE = (
    "Your change was saved, but the forum's database went away before the answer was "
    "complete. Reload to see it; do not send it again."
)
PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} · Parlor</title></head>
<body>
<h1>{title}</h1>
<p>{message}</p>
</body>
</html>
"""

# Whether this request has committed a change of its own (g): flushed rows, then a commit
# outside `write_transaction` (whose GET-route bookkeeping a retry repeats harmlessly).
SAVED = "parlor_saved"
NOTHING_SAVED = "Something went wrong on our side; nothing was saved."
SAVED_BEFORE_ERROR = (
    "Your change was saved, but something went wrong on our side before the answer was "
    "complete. Reload to see it; do not send it again."
)
_installed = False


def _recover(exc: Exception) -> None:
    """End the failed transaction (which may fail too, on a dead connection) and log one
    line: the error's class and first line, never its SQL or parameters."""
    with contextlib.suppress(Exception):  # the connection is gone; the pool replaces it
        db.session.rollback()
    reason = getattr(exc, "orig", None) or exc
    first_line = (str(reason).strip().splitlines() or [""])[0][:200]
    error_logger().warning(
        "Database unavailable on %s %s: %s: %s",
        request.method,
        request.path,
        type(reason).__name__,
        first_line,
    )


def json_unavailable(exc: Exception) -> Response:
    _recover(exc)
    if g.get(SAVED):
        return json_error(500, [SAVED_MESSAGE], "server_error")
    return json_error(
        503, [MESSAGE], "service_unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def page_unavailable(exc: Exception) -> Response:
    _recover(exc)
    if g.get(SAVED):
        return Response(
            PAGE.format(title="Saved", message=html.escape(SAVED_MESSAGE)),
            status=500,
            content_type="text/html; charset=utf-8",
        )
    return Response(
        PAGE.format(title="Temporarily unavailable", message=html.escape(MESSAGE)),
        status=503,
        content_type="text/html; charset=utf-8",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unexpected_error_message() -> str:
    """What an unexpected error (a 500) tells the member: whether their change was saved
    first (a new post's answer is built after its commit), so that they do not send it
    twice, or that nothing was."""
    return SAVED_BEFORE_ERROR if g.get(SAVED) else NOTHING_SAVED


def _after_flush(_session: Session, _context: Any) -> None:
    if has_request_context():
        g.setdefault(UNSAVED, True)


def _after_commit(_session: Session) -> None:
    if has_request_context() and g.pop(UNSAVED, False) and not g.get("parlor_write"):
        setattr(g, SAVED, True)


def _after_rollback(_session: Session) -> None:
    if has_request_context():
        g.pop(UNSAVED, None)


def install(json_blueprints: tuple[Blueprint, ...], page_blueprints: tuple[Blueprint, ...]) -> None:
    """Give these blueprints their 503 handlers; once per process, before the blueprints
    are first registered (Flask freezes a blueprint's handlers when it is registered)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    for blueprints, handler in (
        (json_blueprints, json_unavailable),
        (page_blueprints, page_unavailable),
    ):
        for bp in blueprints:
            for cls in UNAVAILABLE:
                bp.register_error_handler(cls, handler)
    _installed = True


def install_on_parlor() -> None:
    """The JSON API answers in JSON; pages, sign-in and avatars with the plain page."""
    from auth.routes import bp as auth_bp
    from forum.api.blueprint import bp as api_bp
    from forum.users.avatars import bp as avatars_bp
    from forum.web import bp as web_bp

    install((api_bp,), (web_bp, auth_bp, avatars_bp))
