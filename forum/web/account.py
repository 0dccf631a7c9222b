"""The member's own pages: names and newsletter (P9, P13), signing out here or everywhere,
downloading their data (P10) and deleting their account (P11, P12).

The rules live in forum/privacy (account, erasure), as for the JSON routes in
forum/privacy/routes.py; these views only turn forms into calls and answers into pages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import logout_user

from forum.content.errors import ContentError
from forum.db import db
from forum.privacy.account import sign_out_everywhere, update_profile
from forum.privacy.erasure import erase, finish_erasure
from forum.timeutil import utcnow
from forum.users.avatars import avatar_template
from forum.users.models import Avatar, User
from forum.web.access import me, page_requires
from forum.web.blueprint import bp, error_page

NAME_FIELDS = ("first_name", "last_name")
NAME_MAX = 255  # forum.privacy.account.NAME_MAX; the input's maxlength, the service decides


def _own(username: str) -> User | None:
    """The signed-in member if `username` is theirs; None for anyone else's page."""
    member = me()
    return member if username.lower() == member.username_lower else None


def _not_yours() -> tuple[str, int]:
    return error_page(403, "This page belongs to another member: you can only see your own.")


def _preferences(member: User, values: dict[str, Any], errors: dict[str, str]) -> str:
    avatar = db.session.get(Avatar, member.id)
    interval = current_app.config["EXPORT_INTERVAL_MINUTES"]
    next_export = None
    if member.last_export_at is not None and interval > 0:
        ready = member.last_export_at + timedelta(minutes=interval)
        next_export = ready if ready > utcnow() else None
    return render_template(
        "parlor/preferences.html",
        member=member,
        avatar=avatar_template(member.username, avatar.version if avatar else None),
        values=values,
        errors=errors,
        name_max=NAME_MAX,
        export_interval=interval,
        next_export=next_export,
    )


@bp.get("/u/<username>/preferences")
@page_requires("member")
def preferences(username: str) -> Any:
    """Your account: names, e-mail, newsletter, sessions, your data"""
    member = _own(username)
    if member is None:
        return _not_yours()
    values = {"first_name": member.first_name, "last_name": member.last_name}
    values["newsletter"] = member.newsletter
    return _preferences(member, values, {})


def _field_of(message: str) -> str:
    """The form field a message of update_profile is about (its messages name it first)."""
    for field in (*NAME_FIELDS, "newsletter"):
        if message.startswith(field):
            return field
    return "form"


@bp.post("/u/<username>/preferences")
@page_requires("member")
def update_preferences(username: str) -> Any:
    """Correct your names and choose the newsletter"""
    member = _own(username)
    if member is None:
        return _not_yours()
    form = request.form
    changes: dict[str, object] = {f: form.get(f, "") for f in NAME_FIELDS}
    # An unticked checkbox sends nothing: its absence is the choice "off".
    changes["newsletter"] = "on" if form.get("newsletter") else "off"
    try:
        changed = update_profile(member, changes)
    except ContentError as exc:
        db.session.rollback()
        message = "; ".join(exc.messages)
        field = _field_of(message)
        readable = message.replace("first_name", "First name").replace("last_name", "Last name")
        values = {**changes, "newsletter": changes["newsletter"] == "on"}
        return _preferences(me(), values, {field: readable}), 422
    db.session.commit()
    flash("Your preferences are saved." if changed else "Nothing to change.", "success")
    return redirect(url_for("web.preferences", username=member.username), 303)


def _end_session() -> None:
    # Cleared first: logout_user() leaves a note in the session to delete the remember-me
    # cookie, and clearing after it would drop the note and keep the member signed in.
    session.clear()
    logout_user()


@bp.post("/session/sign-out")
@page_requires("member")
def sign_out() -> Any:
    """Sign out in this browser"""
    _end_session()
    flash("You are signed out.", "success")
    return redirect(url_for("web.home"), 303)


@bp.post("/u/<username>/preferences/sign-out-everywhere")
@page_requires("member")
def sign_out_everywhere_page(username: str) -> Any:
    """End every session of yours, on every device"""
    member = _own(username)
    if member is None:
        return _not_yours()
    sign_out_everywhere(member)
    db.session.commit()
    _end_session()
    flash("You are signed out everywhere, on every device, this one included.", "success")
    return redirect(url_for("web.home"), 303)


def _delete_page(member: User, typed: str, error: str | None) -> str:
    return render_template(
        "parlor/delete_account.html",
        member=member,
        typed=typed,
        error=error,
        backup_days=current_app.config["BACKUP_RETENTION_DAYS"],
    )


@bp.get("/u/<username>/delete")
@page_requires("member")
def delete_account(username: str) -> Any:
    """What deleting your account does, and a form to confirm it"""
    member = _own(username)
    if member is None:
        return _not_yours()
    return _delete_page(member, "", None)


@bp.post("/u/<username>/delete")
@page_requires("member")
def erase_account(username: str) -> Any:
    """Delete your account: `confirm` must repeat your username"""
    member = _own(username)
    if member is None:
        return _not_yours()
    typed = request.form.get("confirm", "")
    if typed.strip().lower() != member.username_lower:
        error = f"Type your username, {member.username}, to confirm."
        return _delete_page(member, typed, error), 422
    try:
        erase(member)
    except ContentError as exc:  # the last admin, say
        db.session.rollback()
        return _delete_page(me(), typed, "; ".join(exc.messages)), exc.status
    db.session.commit()
    finish_erasure()
    _end_session()
    return redirect(url_for("web.account_deleted"), 303)


@bp.get("/account-deleted")
def account_deleted() -> str:
    """Your account is deleted: what happened"""
    return render_template(
        "parlor/account_deleted.html", backup_days=current_app.config["BACKUP_RETENTION_DAYS"]
    )
