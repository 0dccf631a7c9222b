"""Writing the audit log: one call per action, in the action's own transaction."""

from __future__ import annotations

from typing import Any

from flask import has_request_context

from forum.db import db
from forum.moderation.models import AuditEntry
from forum.users.models import User

# The actions the log knows; a typo in an action name is a bug, not a new kind of entry.
ACTIONS = frozenset(
    {
        "reveal_post_ip", "user_ips", "ip_lookup", "shared_ips", "export_other",
        "grant_role", "suspend", "unsuspend", "hide_post", "unhide_post",
        "close_topic", "open_topic", "screen_ip", "unscreen_ip",
    }
)  # fmt: skip


def record(
    actor: User | None,
    action: str,
    *,
    subject_user_id: int | None = None,
    subject_type: str = "",
    subject_id: int | None = None,
    **details: Any,
) -> AuditEntry:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor_ip=_actor_ip(),
        action=action,
        subject_user_id=subject_user_id,
        subject_type=subject_type,
        subject_id=subject_id,
        details={k: v for k, v in details.items() if v is not None},
    )
    db.session.add(entry)
    return entry


def record_about(actor: User | None, action: str, user: User, **details: Any) -> AuditEntry:
    """An entry whose subject is a member's account."""
    return record(
        actor, action, subject_user_id=user.id, subject_type="user", subject_id=user.id, **details
    )


def _actor_ip() -> Any:
    if not has_request_context():
        return None  # a command run by the operator on the server
    from forum.net import request_ip

    return request_ip()
