"""See and correct (P9): names and the newsletter choice, signing out everywhere, and the
pace of data exports."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from forum.content.errors import ContentError
from forum.privacy import ledger
from forum.text import one_line
from forum.timeutil import utcnow
from forum.users.models import User

NAME_MAX = 255


class TooSoon(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry in {retry_after} s")
        self.retry_after = retry_after


def _name(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ContentError(f"{field} must be text")
    value = one_line(value)
    if len(value) > NAME_MAX:
        raise ContentError(f"{field} is too long (maximum is {NAME_MAX} characters)")
    return value


def _flag(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "on", "off"):
        return value.lower() in ("true", "1", "on")
    raise ContentError(f"{field} must be true or false")


def update_profile(user: User, changes: dict[str, object]) -> list[str]:
    """Apply the member's corrections; returns the fields that changed.

    A corrected name is the member's from then on: sign-in no longer overwrites it.
    A field whose earlier value is gone (cleared, or replaced by a correction) is recorded
    in the erasure ledger, so a restore cannot bring the earlier value back.
    """
    unknown = set(changes) - {"first_name", "last_name", "newsletter"}
    if unknown:
        raise ContentError(f"cannot change {', '.join(sorted(unknown))} here")
    changed: list[str] = []
    cleared: list[str] = []
    for field in ("first_name", "last_name"):
        if field in changes:
            value = _name(changes[field], field)
            old = getattr(user, field)
            if value != old:
                if old:  # the earlier value is gone, cleared or replaced
                    cleared.append(field)
                setattr(user, field, value)
                changed.append(field)
    if changed:
        user.names_locked = True
    if "newsletter" in changes:
        wanted = _flag(changes["newsletter"], "newsletter")
        if wanted != user.newsletter:
            user.newsletter = wanted
            user.newsletter_consent_at = utcnow() if wanted else None
            changed.append("newsletter")
            if not wanted:
                cleared.append("newsletter_consent_at")
    if cleared:
        ledger.append("fields_cleared", user.id, fields=cleared)
    return changed


def sign_out_everywhere(user: User) -> None:
    """Every session and "remember me" cookie carries the token; a new one ends them all."""
    user.session_token = secrets.token_urlsafe(24)


def check_export_pace(user: User, interval_minutes: int, now: datetime | None = None) -> None:
    now = now or utcnow()
    if user.last_export_at is not None and interval_minutes > 0:
        ready = user.last_export_at + timedelta(minutes=interval_minutes)
        if ready > now:
            raise TooSoon(max(int((ready - now).total_seconds()) + 1, 1))
    user.last_export_at = now
