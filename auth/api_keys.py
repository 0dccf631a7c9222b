"""API keys (P14): Discourse's `Api-Key` and `Api-Username` headers.

A key is shown once, when it is made; Parlor keeps only its SHA-256 hash and a 4-character
prefix to name it by. A single-user key acts only as its member; an all-users key (made by
an admin) acts as whichever member `Api-Username` names.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped

from forum.db import UTCDateTime, db, write_transaction
from forum.privacy.registry import Privacy, column
from forum.timeutil import utcnow
from forum.users.models import User
from forum.users.roles import find_user

PREFIX_LENGTH = 4
# Recording every use would turn every API read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    __table_args__ = {"info": {"owner": "user_id"}}

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    # NULL: an all-users key, which acts as any member (admins make those).
    user_id: Mapped[int | None] = column(
        Privacy.INTERNAL, ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_by_id: Mapped[int | None] = column(
        Privacy.INTERNAL, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    key_hash: Mapped[str] = column(Privacy.SECRET, String(64), nullable=False, unique=True)
    prefix: Mapped[str] = column(Privacy.INTERNAL, String(PREFIX_LENGTH), nullable=False)
    description: Mapped[str] = column(Privacy.INTERNAL, String(255), nullable=False, default="")
    created_at: Mapped[datetime] = column(Privacy.INTERNAL, UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = column(Privacy.INTERNAL, UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = column(Privacy.INTERNAL, UTCDateTime(), nullable=True)


class ApiKeyError(ValueError):
    pass


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once, never stored
    record: ApiKey


def create_key(username: str, description: str = "", all_users: bool = False) -> NewKey:
    user = find_user(username)
    if user is None or user.github_id is None:
        raise ApiKeyError(f"no member named {username!r}")
    if all_users and not user.is_admin:
        raise ApiKeyError("only an admin can hold an all-users key")
    if len(description) > 255:
        raise ApiKeyError("the description is too long (at most 255 characters)")
    key = secrets.token_hex(32)
    record = ApiKey(
        user_id=None if all_users else user.id,
        created_by_id=user.id,
        key_hash=_hash(key),
        prefix=key[:PREFIX_LENGTH],
        description=description,
    )
    db.session.add(record)
    db.session.flush()
    return NewKey(key, record)


def revoke_key(prefix: str) -> ApiKey:
    active = list(
        db.session.scalars(
            select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
        )
    )
    if not active:
        raise ApiKeyError(f"no active key starts with {prefix!r}")
    if len(active) > 1:
        ids = ", ".join(str(k.id) for k in active)
        raise ApiKeyError(f"{len(active)} active keys start with {prefix!r} (ids {ids})")
    active[0].revoked_at = utcnow()
    return active[0]


def authenticate(key: str, username: str | None) -> User | None:
    """The member a request with these headers acts as, or None."""
    if not key or len(key) > 128:
        return None
    record = db.session.scalar(
        select(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None))
    )
    if record is None or not hmac.compare_digest(record.key_hash, _hash(key)):
        return None
    if record.user_id is None:
        user = find_user(username) if username else None
        creator = db.session.get(User, record.created_by_id) if record.created_by_id else None
        if creator is None or not creator.is_admin:  # an all-users key lives by its admin
            return None
    else:
        user = db.session.get(User, record.user_id)
        if user is not None and username and username.lower() != user.username_lower:
            return None
    if user is None or not user.is_active:
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        with write_transaction():  # often inside a GET: begin as a writer (SQLite)
            record.last_used_at = now
    return user
