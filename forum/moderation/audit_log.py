"""Reading the audit log (admins): filtered by actor, subject, action and time; paginated."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from forum.content.errors import ContentError
from forum.db import db
from forum.moderation.audit import ACTIONS
from forum.moderation.models import AuditEntry
from forum.timeutil import iso, parse_iso
from forum.users.models import User
from forum.users.roles import find_user

PAGE_SIZE = 100


def _time(args: Mapping[str, str], name: str) -> datetime | None:
    value = args.get(name)
    if not value:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise ContentError(f"{name} is not an ISO 8601 date or time") from None


def _user_id(args: Mapping[str, str], name: str) -> int | None:
    username = args.get(name)
    if not username:
        return None
    user = find_user(username)
    return user.id if user else -1  # an unknown name matches nothing


def audit_page(args: Mapping[str, str], page: int) -> tuple[list[dict[str, Any]], bool]:
    actor, subject = aliased(User), aliased(User)
    query = (
        select(AuditEntry, actor.username, subject.username)
        .outerjoin(actor, actor.id == AuditEntry.actor_id)
        .outerjoin(subject, subject.id == AuditEntry.subject_user_id)
    )
    action = args.get("action")
    if action:
        if action not in ACTIONS:
            raise ContentError(f"action must be one of {', '.join(sorted(ACTIONS))}")
        query = query.where(AuditEntry.action == action)
    if (actor_id := _user_id(args, "actor")) is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if (subject_id := _user_id(args, "subject")) is not None:
        query = query.where(AuditEntry.subject_user_id == subject_id)
    if (since := _time(args, "since")) is not None:
        query = query.where(AuditEntry.created_at >= since)
    if (until := _time(args, "until")) is not None:
        query = query.where(AuditEntry.created_at < until)
    rows = db.session.execute(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .offset(page * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    ).all()
    entries = [
        {
            "id": e.id,
            "created_at": iso(e.created_at),
            "actor": actor_name,
            "actor_ip": str(e.actor_ip) if e.actor_ip else None,
            "action": e.action,
            "subject_user": subject_name,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "details": e.details,
        }
        for e, actor_name, subject_name in rows[:PAGE_SIZE]
    ]
    return entries, len(rows) > PAGE_SIZE
