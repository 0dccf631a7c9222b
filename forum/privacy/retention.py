"""Retention (P6, P8): post and edit IPs older than POST_IP_RETENTION_DAYS are erased,
sign-in events older than SIGNIN_RETENTION_DAYS deleted. Run by `forum purge`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update

from forum.content.models import Post, PostEdit
from forum.db import checkpoint, db
from forum.moderation.ip_uses import rebuild
from forum.users.models import SignInEvent


@dataclass(frozen=True)
class Purged:
    post_ips: int
    edit_ips: int
    sign_ins: int


def purge(now: datetime, post_ip_days: int, sign_in_days: int) -> Purged:
    """Erase what is past its retention as of `now`; 0 days means "keep" for either."""
    post_ips = edit_ips = sign_ins = 0
    if post_ip_days > 0:
        cutoff = now - timedelta(days=post_ip_days)
        post_ips = db.session.execute(
            update(Post).where(Post.created_at < cutoff, Post.ip.is_not(None)).values(ip=None)
        ).rowcount
        edit_ips = db.session.execute(
            update(PostEdit)
            .where(PostEdit.created_at < cutoff, PostEdit.ip.is_not(None))
            .values(ip=None)
        ).rowcount
    if sign_in_days > 0:
        cutoff = now - timedelta(days=sign_in_days)
        sign_ins = db.session.execute(
            delete(SignInEvent).where(SignInEvent.created_at < cutoff)
        ).rowcount
    if post_ips or edit_ips:
        rebuild()  # the per-address counts follow the posts whose IPs remain
    db.session.commit()
    checkpoint()
    return Purged(post_ips, edit_ips, sign_ins)
