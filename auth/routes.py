"""The sign-in routes: `/auth/github/login` and `/auth/github/callback` (P1-P3)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import login_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from auth.accounts import sign_in_member
from auth.avatars import download_avatar
from auth.github import (
    GitHubError,
    GitHubSettings,
    authorization_request,
    exchange_code,
    fetch_profile,
)
from auth.profile import UnverifiedEmail
from forum import events
from forum.content.errors import Forbidden
from forum.db import db, write_transaction
from forum.moderation.screening import ensure_not_blocked
from forum.moderation.suspend import suspension_message
from forum.net import request_ip
from forum.ratelimits import limited
from forum.users.models import User

bp = Blueprint("auth", __name__, template_folder="templates")

PENDING_KEY = "_github_oauth"
PENDING_TTL_SECONDS = 15 * 60


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: no open redirects through `next`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _callback_url() -> str:
    public = current_app.config.get("PUBLIC_URL")
    path = url_for("auth.callback")
    return f"{public}{path}" if public else url_for("auth.callback", _external=True)


@bp.get("/auth/github/login")
@limited("signin")
def login() -> Any:
    gh = GitHubSettings.from_config(current_app.config)
    if not gh.client_id:
        return failure("not_configured", 503)
    if (blocked := _blocked_address()) is not None:
        return blocked
    hint = request.args.get("login", "").strip()[:39] or None
    auth = authorization_request(gh, _callback_url(), login_hint=hint)
    session[PENDING_KEY] = {
        "state": auth.state,
        "verifier": auth.code_verifier,
        "next": safe_next(request.args.get("next")) or url_for("web.home"),
        "remember": request.args.get("remember", "") in ("1", "true", "on", "yes"),
        "at": int(time.time()),
    }
    return redirect(auth.url)


@bp.get("/auth/github/callback")
@limited("signin")
def callback() -> Any:
    # Popped first: whatever happens next, this state can never be used again.
    pending = session.pop(PENDING_KEY, None)
    error = request.args.get("error")
    if error:
        return failure("access_denied" if error == "access_denied" else "github_refused", 403)
    state = request.args.get("state")
    if not pending or not state or state != pending.get("state"):
        return failure("bad_state", 400)
    if time.time() - pending.get("at", 0) > PENDING_TTL_SECONDS:
        return failure("bad_state", 400)
    code = request.args.get("code")
    if not code:
        return failure("bad_state", 400)

    if (blocked := _blocked_address()) is not None:
        return blocked
    gh = GitHubSettings.from_config(current_app.config)
    try:
        token = exchange_code(gh, code, _callback_url(), pending.get("verifier"))
        profile = fetch_profile(gh, token)
    except UnverifiedEmail:
        return failure("unverified_email", 403)
    except GitHubError as exc:
        if exc.kind == "unverified_user_email":  # GitHub's own refusal, same advice
            return failure("unverified_email", 403)
        current_app.logger.warning("GitHub sign-in failed: %s", exc.kind)
        return failure(exc.kind, exc.status, retry_after=exc.retry_after)
    del token  # used for the two calls above and never kept (P3)

    known = db.session.scalar(select(User).where(User.github_id == profile.github_id))
    if known is not None and known.is_suspended:
        return failure("suspended", 403, detail=suspension_message(known))

    avatar = download_avatar(profile.avatar_url, gh.timeout) if profile.avatar_url else None
    avatar_failed = profile.avatar_url is not None and avatar is None
    ip = request_ip()
    for attempt in (1, 2):
        try:
            with write_transaction():
                user, event, created = sign_in_member(
                    profile, avatar, avatar_failed, ip, request.headers.get("User-Agent", "")
                )
            break
        except IntegrityError:
            # The same account signing in twice at once (two tabs): the other request
            # created the row first; the second attempt finds and refreshes it.
            if attempt == 2:
                raise
    # A new session for the signed-in member: nothing from before sign-in carries over.
    session.clear()
    login_user(user, remember=bool(pending.get("remember")))
    events.user_signed_in.send(
        current_app._get_current_object(), user=user, event=event, created=created
    )
    return redirect(pending["next"])


# What each failure tells the person: what happened, and what to do about it.
FAILURES: dict[str, tuple[str, str]] = {
    "access_denied": (
        "You did not allow Parlor to use your GitHub account.",
        "Nothing was stored. To sign in, start again and choose “Authorize” on GitHub.",
    ),
    "github_refused": (
        "GitHub refused the sign-in request.",
        "Nothing was stored. Try again; if it keeps failing, tell the forum's operators.",
    ),
    "bad_state": (
        "This sign-in link has expired or was already used.",
        "Nothing was stored. Start the sign-in again from this browser.",
    ),
    "unverified_email": (
        "Your primary e-mail address on GitHub is not verified.",
        "Parlor only accepts a verified address. Verify it at GitHub (Settings > Emails), "
        "then sign in again. Nothing was stored.",
    ),
    "bad_verification_code": (
        "GitHub did not accept the sign-in code: it expired or was already used.",
        "Nothing was stored. Start the sign-in again.",
    ),
    "incorrect_client_credentials": (
        "This forum's GitHub settings are wrong (GitHub rejected its client credentials).",
        "Nothing was stored. Please tell the forum's operators; signing in again will not help.",
    ),
    "redirect_uri_mismatch": (
        "This forum's GitHub settings are wrong (the callback URL does not match).",
        "Nothing was stored. Please tell the forum's operators; signing in again will not help.",
    ),
    "bad_response": (
        "GitHub sent an answer Parlor could not read.",
        "Nothing was stored. Please try again in a few minutes.",
    ),
    "missing_scope": (
        "GitHub did not let Parlor read your e-mail address.",
        "Sign in again and grant access to your e-mail addresses. Nothing was stored.",
    ),
    "rate_limited": (
        "GitHub is limiting requests right now.",
        "Nothing was stored. Please wait a minute and sign in again.",
    ),
    "timeout": (
        "GitHub did not answer in time.",
        "Nothing was stored. Please try again in a moment.",
    ),
    "unavailable": (
        "GitHub is not available right now.",
        "Nothing was stored. Please try again in a few minutes.",
    ),
    "too_many_attempts": (
        "Too many sign-in attempts from your address.",
        "Nothing was stored. Please wait a little, then sign in again.",
    ),
    "ip_blocked": (
        "Your IP address is blocked from signing in on this forum.",
        "If you think this is a mistake, contact the forum's moderators from another address.",
    ),
    "suspended": (
        "Your account is suspended.",
        "You can sign in again when the suspension ends. Nothing was changed.",
    ),
    "not_configured": (
        "Sign-in with GitHub is not configured on this forum.",
        "The operators need to set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET.",
    ),
}
_GENERIC = (
    "Signing in with GitHub did not work.",
    "Nothing was stored. Please try again; if it keeps failing, tell the forum's operators.",
)


def _blocked_address() -> Any:
    """The failure page if the request comes from a screened address, else None."""
    try:
        with write_transaction():
            ensure_not_blocked(request_ip())
    except Forbidden:
        return failure("ip_blocked", 403)
    return None


def failure(
    kind: str, status: int, retry_after: int | None = None, detail: str | None = None
) -> Any:
    title, advice = FAILURES.get(kind, _GENERIC)
    body = render_template(
        "auth/failure.html",
        kind=kind,
        title=title,
        advice=advice,
        retry_after=retry_after,
        detail=detail,
    )
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return body, status, headers
