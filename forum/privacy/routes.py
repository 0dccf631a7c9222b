"""Privacy self-service over HTTP: export, profile corrections, sign out everywhere,
the policy, and the newsletter's unsubscribe link."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    current_app,
    render_template,
    request,
    session,
    stream_with_context,
)
from flask_login import logout_user

from auth.sessions import current_member, member_required
from forum.api.blueprint import bp
from forum.api.params import params
from forum.api.responses import json_response, rate_limited
from forum.api.user_routes import user_payload
from forum.content.errors import ContentError, Forbidden, NotFound
from forum.db import db, write_transaction
from forum.moderation import audit
from forum.privacy.account import TooSoon, check_export_pace, sign_out_everywhere, update_profile
from forum.privacy.erasure import erase, finish_erasure
from forum.privacy.export import export_files, stream_zip
from forum.privacy.policy import load_policy
from forum.ratelimits import limited
from forum.users.models import User
from forum.users.roles import find_user
from forum.web.blueprint import bp as web_bp
from forum.web.blueprint import navigated, slow_down_page


def _self(username: str, refusal: str) -> User:
    """The signed-in member, if `username` is theirs; anyone else is refused."""
    viewer, member = _self_or_admin(username)
    if member.id != viewer.id:
        raise Forbidden(refusal)
    return member


def _self_or_admin(username: str) -> tuple[User, User]:
    """(viewer, member): the member themselves, or an admin acting for them."""
    viewer = current_member()
    assert viewer is not None
    member = find_user(username)
    if member is None or member.github_id is None:
        raise NotFound(f"No member named {username!r}.")
    if member.id != viewer.id and not viewer.is_admin:
        raise Forbidden("You can only do this for your own account.")
    return viewer, member


def _site() -> str:
    return current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")


@bp.get("/u/<username>/export.zip")
@limited("export")
@member_required
def export_zip(username: str) -> Any:
    viewer, member = _self_or_admin(username)
    if member.id == viewer.id:
        try:
            with write_transaction():  # a GET that writes: begin as a writer (SQLite)
                check_export_pace(member, current_app.config["EXPORT_INTERVAL_MINUTES"])
        except TooSoon as wait:
            minutes = (wait.retry_after + 59) // 60
            when = "1 minute" if minutes == 1 else f"{minutes} minutes"
            message = f"You downloaded your data moments ago; try again in {when}."
            if navigated():  # the "Download my data" link: a page, not JSON
                return slow_down_page(message, wait.retry_after)
            return rate_limited(message, wait.retry_after)
    else:
        with write_transaction():  # a GET that writes (the audit entry): as a writer
            audit.record_about(viewer, "export_other", member)
    # The export reads in a transaction of its own (PostgreSQL's server-side cursor needs
    # one; a GET began without, see `forum.db.init_reads`).
    db.session.commit()
    files = export_files(member, _site(), current_app.config["THIRD_PARTIES_FILE"])
    resp = Response(stream_with_context(stream_zip(files)), mimetype="application/zip")
    resp.headers["Content-Disposition"] = (
        f'attachment; filename="parlor-{member.username_lower}-data.zip"'
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.put("/u/<username>.json")
@bp.put("/users/<username>.json")
@member_required
def update_user(username: str) -> Any:
    member = _self(username, "Only the member can correct their own profile.")
    data = params()
    body = data.get("user") if isinstance(data.get("user"), dict) else data
    changes = {k: v for k, v in body.items() if k in ("first_name", "last_name", "newsletter")}
    update_profile(member, changes)
    db.session.commit()
    return json_response({"success": "OK", "user": user_payload(member, member)})


@bp.delete("/u/<username>.json")
@bp.delete("/users/<username>.json")
@member_required
def erase_user(username: str) -> Any:
    """Erase my account (P11): `confirm` must repeat the username."""
    member = _self(username, "Only the member can erase their own account here.")
    confirm = params().get("confirm")
    if not isinstance(confirm, str) or confirm.strip().lower() != member.username_lower:
        raise ContentError(
            f"To erase this account, send confirm={member.username} (your username)."
        )
    erase(member)
    db.session.commit()
    finish_erasure()
    session.clear()
    logout_user()  # after the clear: it leaves the note that deletes a remember-me cookie
    return json_response({"success": "OK"})


@bp.post("/u/<username>/sign-out-everywhere.json")
@member_required
def sign_out_everywhere_route(username: str) -> Any:
    member = _self(username, "Only the member can end their own sessions.")
    sign_out_everywhere(member)
    db.session.commit()
    logout_user()
    return json_response({"success": "OK"})


@bp.get("/privacy.json")
def privacy_json() -> Any:
    policy = load_policy(current_app.config["PRIVACY_POLICY_FILE"])
    return json_response(
        {
            "title": policy.title,
            "last_updated": policy.last_updated,
            "markdown": policy.markdown,
            "html": policy.html,
        }
    )


@web_bp.get("/privacy")
def privacy_page() -> str:
    return render_template(
        "parlor/privacy.html", policy=load_policy(current_app.config["PRIVACY_POLICY_FILE"])
    )


@web_bp.route("/newsletter/unsubscribe", methods=["GET", "POST"])
def unsubscribe() -> Any:
    """GET asks to confirm; POST unsubscribes in one click (RFC 8058), signed out."""
    from forum.privacy.newsletter import unsubscribe as turn_off
    from forum.privacy.newsletter import user_for_token

    token = request.values.get("token")
    member = user_for_token(token)
    if member is None:
        return render_template("parlor/unsubscribe.html", state="invalid"), 400
    if request.method == "GET":
        return render_template("parlor/unsubscribe.html", state="confirm", token=token)
    turn_off(member)
    db.session.commit()
    return render_template("parlor/unsubscribe.html", state="done")
