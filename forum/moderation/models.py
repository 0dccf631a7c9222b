"""The audit log and the screened (blocked) addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped

from forum.db import IPAddress, IPColumn, UTCDateTime, db
from forum.privacy.registry import Privacy, column
from forum.timeutil import utcnow


class AuditEntry(db.Model):
    """Who did what to whom, when and from where. Written by the app, never changed by it.

    Subjects are kept as ids, not names, so erasing a member leaves entries that say an
    action happened without saying anything personal about them.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor", "actor_id", "created_at"),
        Index("ix_audit_log_subject", "subject_user_id", "created_at"),
        Index("ix_audit_log_action", "action", "created_at"),
        # A member's export holds the entries of what they did (with their own IP).
        {"info": {"owner": "actor_id", "on_erase": "detach"}},
    )

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    created_at: Mapped[datetime] = column(Privacy.INTERNAL, UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = column(
        Privacy.INTERNAL, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # The staff member's own address when they acted: personal data of the actor.
    actor_ip: Mapped[IPAddress | None] = column(Privacy.PERSONAL, IPColumn, nullable=True)
    action: Mapped[str] = column(Privacy.INTERNAL, String(40), nullable=False)
    subject_user_id: Mapped[int | None] = column(
        Privacy.INTERNAL,
        ForeignKey("users.id", ondelete="SET NULL"),
        nullable=True,
        info={"export": False},
    )
    subject_type: Mapped[str] = column(Privacy.INTERNAL, String(20), nullable=False, default="")
    subject_id: Mapped[int | None] = column(Privacy.INTERNAL, Integer, nullable=True)
    # What was asked (an address, a range) or changed (a role, a date, a reason): about
    # the subject, so it is not part of the actor's export, and erased with either.
    details: Mapped[dict[str, Any]] = column(
        Privacy.PERSONAL, JSON, nullable=False, default=dict, info={"export": False}
    )


class ScreenedIP(db.Model):
    """An address or range blocked from posting and signing in."""

    __tablename__ = "screened_ips"
    __table_args__ = (Index("ix_screened_ips_range", "first_ip", "last_ip"),)

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    cidr: Mapped[str] = column(Privacy.INTERNAL, String(64), nullable=False, unique=True)
    first_ip: Mapped[IPAddress] = column(Privacy.INTERNAL, IPColumn, nullable=False)
    last_ip: Mapped[IPAddress] = column(Privacy.INTERNAL, IPColumn, nullable=False)
    action: Mapped[str] = column(Privacy.INTERNAL, String(20), nullable=False, default="block")
    reason: Mapped[str] = column(Privacy.INTERNAL, Text, nullable=False, default="")
    created_by_id: Mapped[int | None] = column(
        Privacy.INTERNAL, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = column(Privacy.INTERNAL, UTCDateTime(), default=utcnow)
    match_count: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=0)
    last_match_at: Mapped[datetime | None] = column(Privacy.INTERNAL, UTCDateTime(), nullable=True)
