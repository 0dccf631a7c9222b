"""Suspending an account until a date, with a reason the member is shown, and lifting it."""

from __future__ import annotations

from datetime import datetime

from forum.content.errors import ContentError, Forbidden
from forum.moderation import audit
from forum.timeutil import iso, utcnow
from forum.users.models import User

REASON_MAX = 500


def check_can_moderate(actor: User, target: User) -> None:
    if target.github_id is None:
        raise Forbidden("The Anonymous user cannot be suspended.")
    if target.id == actor.id:
        raise Forbidden("You cannot suspend yourself.")
    if target.is_staff and not actor.is_admin:
        raise Forbidden("Only admins can suspend staff.")


def suspend(actor: User, target: User, until: datetime, reason: object) -> None:
    check_can_moderate(actor, target)
    if not isinstance(reason, str) or not reason.strip():
        raise ContentError("A reason is required; the member is shown it.")
    if len(reason) > REASON_MAX:
        raise ContentError(f"reason is too long (maximum is {REASON_MAX} characters)")
    if until <= utcnow():
        raise ContentError("suspend_until must be in the future")
    target.suspended_until, target.suspended_reason = until, reason.strip()
    audit.record_about(
        actor,
        "suspend",
        target,
        until=iso(until),
        reason=reason.strip(),
    )


def unsuspend(actor: User, target: User) -> None:
    check_can_moderate(actor, target)
    target.suspended_until, target.suspended_reason = None, ""
    audit.record_about(actor, "unsuspend", target)


def suspension_message(user: User) -> str:
    until = user.suspended_until.strftime("%Y-%m-%d %H:%M UTC") if user.suspended_until else ""
    return f"Your account is suspended until {until}. Reason: {user.suspended_reason}"
