"""A staff member's look at IP data, together with its audit entry (P8).

Each function runs the report and records the look in the caller's transaction (begin it
with `write_transaction()` on a GET), so a page shows nothing its entry does not name.
The entries are the ones the JSON routes in forum/moderation/routes.py write, so the
audit log reads the same whichever way staff looked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from forum.content import posting
from forum.content.models import Post
from forum.db import IPAddress
from forum.moderation import audit, ip_reports
from forum.net import Network
from forum.users.models import User


def reveal_post_ip(actor: User, post_id: int) -> tuple[Post, dict[str, Any]]:
    """The post (NotFound if the actor cannot see it) and its IP and its edits' IPs."""
    post = posting.get_post(post_id, actor)
    found = ip_reports.post_ips(post)
    audit.record(
        actor,
        "reveal_post_ip",
        subject_user_id=post.user_id,
        subject_type="post",
        subject_id=post.id,
    )
    return post, found


def account_ips(
    actor: User, user: User
) -> tuple[list[tuple[ip_reports.IPUse, int]], list[ip_reports.IPUse]]:
    """The account's posting addresses (with how many other accounts used each) and its
    sign-in addresses."""
    uses, sign_ins = ip_reports.user_ips(user)
    audit.record_about(actor, "user_ips", user)
    return uses, sign_ins


def account_shared_ips(actor: User, user: User) -> list[tuple[str, list[tuple[IPAddress, int]]]]:
    """The other accounts that posted from any of this account's addresses."""
    shared = ip_reports.shared_ips(user)
    audit.record_about(actor, "shared_ips", user)
    return shared


def lookup(
    actor: User, network: Network, page: int
) -> tuple[list[tuple[str, int, datetime, datetime]], list[Any], bool]:
    """(accounts, one page of posts, whether more posts) behind an address or range."""
    accounts = ip_reports.lookup_accounts(network)
    posts, more = ip_reports.lookup_posts(network, page)
    audit.record(actor, "ip_lookup", query=str(network), page=page)
    return accounts, posts, more
