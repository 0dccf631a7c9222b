"""The account tables: users, their avatars, and the record of their sign-ins."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    select,
)
from sqlalchemy.orm import Mapped, column_property

from forum.db import IPAddress, IPColumn, UTCDateTime, db
from forum.privacy.registry import Privacy, column
from forum.timeutil import utcnow

TZ = UTCDateTime()

ROLES = ("member", "moderator", "admin")
ANONYMOUS_USERNAME = "Anonymous"


class User(db.Model):
    __tablename__ = "users"
    # AUTOINCREMENT: SQLite would otherwise hand an erased member's id to the next account,
    # and the erasure ledger and old cookies name accounts by id.
    __table_args__ = {"info": {"owner": "id"}, "sqlite_autoincrement": True}

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    # GitHub's numeric id is the account key: logins change, ids never do. None: Anonymous.
    github_id: Mapped[int | None] = column(Privacy.PERSONAL, BigInteger, unique=True, nullable=True)
    username: Mapped[str] = column(Privacy.PUBLIC, String(60), nullable=False)
    username_lower: Mapped[str] = column(Privacy.PUBLIC, String(60), nullable=False, unique=True)
    first_name: Mapped[str] = column(Privacy.PERSONAL, String(255), nullable=False, default="")
    last_name: Mapped[str] = column(Privacy.PERSONAL, String(255), nullable=False, default="")
    email: Mapped[str | None] = column(Privacy.PERSONAL, String(320), nullable=True)
    role: Mapped[str] = column(Privacy.INTERNAL, String(20), nullable=False, default="member")
    created_at: Mapped[datetime] = column(Privacy.PERSONAL, TZ, default=utcnow)
    updated_at: Mapped[datetime] = column(Privacy.PERSONAL, TZ, default=utcnow, onupdate=utcnow)
    last_seen_at: Mapped[datetime | None] = column(Privacy.PERSONAL, TZ, nullable=True)
    # Suspension (moderation): until when, and the reason the member is shown.
    suspended_until: Mapped[datetime | None] = column(Privacy.PERSONAL, TZ, nullable=True)
    suspended_reason: Mapped[str] = column(Privacy.PERSONAL, Text, nullable=False, default="")
    # The newsletter (P13): off until the member opts in; when they did is recorded.
    newsletter: Mapped[bool] = column(Privacy.PERSONAL, Boolean, nullable=False, default=False)
    newsletter_consent_at: Mapped[datetime | None] = column(Privacy.PERSONAL, TZ, nullable=True)
    # When the member last downloaded their data (one export per EXPORT_INTERVAL_MINUTES).
    last_export_at: Mapped[datetime | None] = column(Privacy.INTERNAL, TZ, nullable=True)
    # Set once the member corrects their names in Parlor: sign-in stops overwriting them.
    names_locked: Mapped[bool] = column(Privacy.INTERNAL, Boolean, nullable=False, default=False)
    # Part of the id Flask-Login keeps in the cookie; a new one ends every session at once.
    # Random rather than a counter, so a cookie can never fit a later account given the
    # same numeric id.
    session_token: Mapped[str] = column(
        Privacy.SECRET, String(43), nullable=False, default=lambda: secrets.token_urlsafe(24)
    )

    # Flask-Login's interface, written out rather than mixed in.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.github_id is not None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def suspended_at(self, now: datetime) -> bool:
        return self.suspended_until is not None and self.suspended_until > now

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at(utcnow())

    @property
    def is_staff(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Avatar(db.Model):
    """The member's picture, downloaded from GitHub at sign-in and served by Parlor."""

    __tablename__ = "avatars"
    __table_args__ = {"info": {"owner": "user_id"}}

    user_id: Mapped[int] = column(
        Privacy.INTERNAL, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = column(Privacy.PERSONAL, String(40), nullable=False)
    data: Mapped[bytes] = column(Privacy.PERSONAL, LargeBinary, nullable=False)
    # Part of the avatar URL, so browsers may cache a version forever.
    version: Mapped[str] = column(Privacy.INTERNAL, String(32), nullable=False)
    updated_at: Mapped[datetime] = column(Privacy.PERSONAL, TZ, default=utcnow)


# The avatar's version is part of its URL, so a member's card needs it: a property of the
# member, loaded only where asked for (`undefer`). The session's user loader asks, so the
# answer to a member's own post shows their card without a query of its own.
User.avatar_version = column_property(  # type: ignore[attr-defined]
    select(Avatar.version).where(Avatar.user_id == User.id).scalar_subquery(), deferred=True
)


class SignInEvent(db.Model):
    __tablename__ = "sign_in_events"
    __table_args__ = {"info": {"owner": "user_id"}}

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    user_id: Mapped[int] = column(
        Privacy.INTERNAL, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = column(Privacy.PERSONAL, TZ, default=utcnow)
    ip: Mapped[IPAddress] = column(Privacy.PERSONAL, IPColumn, nullable=False, index=True)
    user_agent: Mapped[str] = column(Privacy.PERSONAL, Text, nullable=False, default="")
