"""`/session/*`: who is signed in, the CSRF token, sign out."""

from __future__ import annotations

from typing import Any

from flask import abort, session
from flask_login import logout_user

from auth.sessions import csrf_token, current_member
from forum.api.blueprint import bp
from forum.api.responses import json_response
from forum.api.serializers import current_user_json
from forum.db import db
from forum.users.models import Avatar


@bp.get("/session/current.json")
def current_session() -> Any:
    user = current_member()
    if user is None:
        abort(404, description="not_logged_in")
    avatar = db.session.get(Avatar, user.id)
    return json_response({"current_user": current_user_json(user, avatar and avatar.version)})


@bp.get("/session/csrf.json")
def csrf() -> Any:
    return json_response({"csrf": csrf_token()})


@bp.delete("/session/current.json")
def sign_out() -> Any:
    if current_member() is None:
        abort(404, description="not_logged_in")
    # Cleared first: logout_user() leaves a note in the session to delete the remember-me
    # cookie, and clearing after it would drop the note and keep the member signed in.
    session.clear()
    logout_user()
    return json_response({"success": "OK"})
