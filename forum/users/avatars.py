"""Avatars as Discourse clients expect them: an `avatar_template` with `{size}`, served here.

A member without a picture (none on GitHub, or it could not be downloaded) gets a letter
avatar generated from the username, so no page ever points at another host.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, url_for
from markupsafe import escape
from sqlalchemy import select

from forum.db import db
from forum.timeutil import utcnow
from forum.users.models import Avatar, User

bp = Blueprint("avatars", __name__)

_COLOURS = ("0E76BD", "1EA672", "B3261E", "8E44AD", "D35400", "2C3E50", "16A085", "C0392B")


def store_avatar(user: User, png: bytes | None) -> None:
    """Keep the member's picture; None (GitHub has none) removes the old one."""
    existing = db.session.get(Avatar, user.id)
    if png is None:
        if existing is not None:
            db.session.delete(existing)
        return
    version = hashlib.sha256(png).hexdigest()[:16]
    if existing is None:
        db.session.add(Avatar(user_id=user.id, content_type="image/png", data=png, version=version))
    elif existing.version != version:
        existing.data, existing.version, existing.updated_at = png, version, utcnow()


def avatar_template(username: str, version: str | None) -> str:
    """`/user_avatar/{username}/{size}/{version}.png`, or the letter avatar; `{size}` kept."""
    name = username.lower()
    if version:
        path = url_for("avatars.picture", username=name, size=0, version=version)
        return path.replace("/0/", "/{size}/", 1)
    path = url_for("avatars.letter", username=name, size=0)
    return path.replace("/0.svg", "/{size}.svg")


@bp.get("/user_avatar/<username>/<int:size>/<version>.png")
def picture(username: str, size: int, version: str) -> Response:
    row = db.session.execute(
        select(Avatar.data, Avatar.version)
        .join(User, User.id == Avatar.user_id)
        .where(User.username_lower == username.lower())
    ).first()
    if row is None or row.version != version:
        abort(404)
    resp = Response(row.data, mimetype="image/png")
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return resp


@bp.get("/letter_avatar/<username>/<int:size>.svg")
def letter(username: str, size: int) -> Response:
    size = min(max(size, 16), 480)
    digest = hashlib.sha256(username.lower().encode()).digest()
    colour = _COLOURS[digest[0] % len(_COLOURS)]
    initial = escape(username[:1].upper() or "?")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 100 100"><rect width="100" height="100" fill="#{colour}"/>'
        f'<text x="50" y="50" dy=".35em" text-anchor="middle" font-family="sans-serif" '
        f'font-size="55" fill="#fff">{initial}</text></svg>'
    )
    resp = Response(svg, mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "public, max-age=86400"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return resp
