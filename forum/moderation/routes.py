"""The moderator's desk over HTTP (P8): IP views (JSON and CSV), acting on posts, topics
and accounts, screened IPs and the audit log. Every look at an IP is itself logged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import abort, request
from sqlalchemy import select

from auth.sessions import admin_required, current_member, staff_required
from forum.api.blueprint import bp
from forum.api.params import int_param, params
from forum.api.responses import csv_response, json_response
from forum.content import posting
from forum.content.errors import ContentError, NotFound
from forum.content.models import Topic
from forum.db import db, write_transaction
from forum.moderation import ip_reports, lookups, screening
from forum.moderation.audit_log import audit_page
from forum.moderation.close import set_closed
from forum.moderation.hide import hide_post, unhide_post
from forum.moderation.models import ScreenedIP
from forum.moderation.suspend import suspend, unsuspend
from forum.ratelimits import limited
from forum.timeutil import iso, parse_iso
from forum.users.models import User
from forum.users.roles import member_named

FORMATS = ("json", "csv")


def _me() -> User:
    user = current_member()
    assert user is not None  # the decorators have checked
    return user


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        abort(404)
    return fmt


def _ip(value: Any) -> str | None:
    return str(value) if value is not None else None


def _report(
    fmt: str,
    data: dict[str, Any],
    csv_name: str,
    header: list[str],
    rows: Callable[[], list[list[Any]]],
) -> Any:
    if _fmt(fmt) == "csv":
        return csv_response(csv_name, header, rows())
    return json_response(data)


@bp.get("/admin/posts/<int:post_id>/ip.<fmt>")
@limited("staff_lookup")
@staff_required
def post_ip(post_id: int, fmt: str) -> Any:
    _fmt(fmt)
    with write_transaction():
        post, found = lookups.reveal_post_ip(_me(), post_id)
    edits = [
        {"version": v, "ip": _ip(ip), "edited_at": iso(at), "username": who}
        for v, ip, at, who in found["edits"]
    ]
    data = {"post_id": post.id, "ip": _ip(found["ip"]), "edits": edits}
    return _report(
        fmt,
        data,
        f"post-{post.id}-ip.csv",
        ["kind", "version", "ip", "time"],
        lambda: (
            [["post", 1, data["ip"], iso(post.created_at)]]
            + [["edit", e["version"], e["ip"], e["edited_at"]] for e in edits]
        ),
    )


@bp.get("/admin/users/<username>/ips.<fmt>")
@limited("staff_lookup")
@staff_required
def user_ips(username: str, fmt: str) -> Any:
    _fmt(fmt)
    with write_transaction():
        user = member_named(username)
        uses, sign_ins = lookups.account_ips(_me(), user)
    ips = [
        {
            "ip": str(u.ip),
            "count": u.count,
            "first_seen": iso(u.first_seen),
            "last_seen": iso(u.last_seen),
            "other_accounts": others,
        }
        for u, others in uses
    ]
    signins = [
        {
            "ip": str(u.ip),
            "count": u.count,
            "first_seen": iso(u.first_seen),
            "last_seen": iso(u.last_seen),
        }
        for u in sign_ins
    ]
    data = {"user": {"id": user.id, "username": user.username}, "ips": ips, "sign_in_ips": signins}
    return _report(
        fmt,
        data,
        f"{user.username}-ips.csv",
        ["kind", "ip", "count", "first_seen", "last_seen", "other_accounts"],
        lambda: (
            [
                ["post", i["ip"], i["count"], i["first_seen"], i["last_seen"], i["other_accounts"]]
                for i in ips
            ]
            + [
                ["sign_in", i["ip"], i["count"], i["first_seen"], i["last_seen"], ""]
                for i in signins
            ]
        ),
    )


@bp.get("/admin/ip-lookup.<fmt>")
@limited("staff_lookup")
@staff_required
def ip_lookup(fmt: str) -> Any:
    _fmt(fmt)
    network = screening.parse_network(
        request.args.get("q"), ip_reports.MIN_PREFIX_V4, ip_reports.MIN_PREFIX_V6
    )
    page = int_param(dict(request.args), "page", required=False) or 0
    if page < 0:
        raise ContentError("page must not be negative")
    with write_transaction():
        accounts, posts, more = lookups.lookup(_me(), network, page)
    data = {
        "query": str(network),
        "accounts": [
            {"username": name, "count": n, "first_seen": iso(first), "last_seen": iso(last)}
            for name, n, first, last in accounts
        ],
        "posts": [
            {
                "id": p.id,
                "topic_id": p.topic_id,
                "topic_title": p.title,
                "post_number": p.post_number,
                "username": p.username,
                "created_at": iso(p.created_at),
                "ip": _ip(p.ip),
                "url": f"/t/{p.slug}/{p.topic_id}/{p.post_number}",
            }
            for p in posts
        ],
        "page": page,
        "more": more,
    }
    return _report(
        fmt,
        data,
        "ip-lookup.csv",
        ["post_id", "topic_id", "topic_title", "post_number", "username", "created_at", "ip"],
        lambda: [
            [
                p["id"],
                p["topic_id"],
                p["topic_title"],
                p["post_number"],
                p["username"],
                p["created_at"],
                p["ip"],
            ]
            for p in data["posts"]
        ],
    )


@bp.get("/admin/users/<username>/shared-ips.<fmt>")
@limited("staff_lookup")
@staff_required
def shared_ips(username: str, fmt: str) -> Any:
    _fmt(fmt)
    with write_transaction():
        user = member_named(username)
        shared = lookups.account_shared_ips(_me(), user)
    accounts = [
        {
            "username": name,
            "ips": [{"ip": str(ip), "count": n} for ip, n in ips],
            "total": sum(n for _, n in ips),
        }
        for name, ips in shared
    ]
    data = {"user": {"id": user.id, "username": user.username}, "accounts": accounts}
    return _report(
        fmt,
        data,
        f"{user.username}-shared-ips.csv",
        ["username", "ip", "count"],
        lambda: [[a["username"], i["ip"], i["count"]] for a in accounts for i in a["ips"]],
    )


# -- acting on it ------------------------------------------------------------------------


@bp.put("/admin/posts/<int:post_id>/hide.json")
@bp.put("/admin/posts/<int:post_id>/unhide.json", endpoint="unhide_post")
@staff_required
def hide_post_route(post_id: int) -> Any:
    post = posting.get_post(post_id, _me())
    (unhide_post if request.path.endswith("/unhide.json") else hide_post)(_me(), post)
    db.session.commit()
    return json_response({"success": "OK", "hidden": post.hidden_at is not None})


@bp.put("/t/<int:topic_id>/status.json")
@staff_required
def topic_status(topic_id: int) -> Any:
    """Discourse's topic status: only `closed` is supported here."""
    data = params()
    if data.get("status") != "closed":
        raise ContentError("status: only 'closed' is supported")
    enabled = str(data.get("enabled", "")).lower()
    if enabled not in ("true", "false"):
        raise ContentError("enabled must be true or false")
    topic = db.session.get(Topic, topic_id)
    if topic is None or topic.deleted_at is not None:
        raise NotFound("The requested URL or resource could not be found.")
    set_closed(_me(), topic, enabled == "true")
    db.session.commit()
    return json_response({"success": "OK", "topic_status_update": None, "closed": topic.closed})


def _target(user_id: int) -> User:
    target = db.session.get(User, user_id)
    if target is None:
        raise NotFound("The requested URL or resource could not be found.")
    return target


@bp.put("/admin/users/<int:user_id>/suspend.json")
@staff_required
def suspend_user(user_id: int) -> Any:
    data = params()
    until = _parse_time(data.get("suspend_until"), "suspend_until")
    target = _target(user_id)
    suspend(_me(), target, until, data.get("reason"))
    db.session.commit()
    return json_response(
        {
            "suspension": {
                "suspended_till": iso(target.suspended_until),
                "suspend_reason": target.suspended_reason,
            }
        }
    )


@bp.put("/admin/users/<int:user_id>/unsuspend.json")
@staff_required
def unsuspend_user(user_id: int) -> Any:
    target = _target(user_id)
    unsuspend(_me(), target)
    db.session.commit()
    return json_response({"suspension": {"suspended_till": None, "suspend_reason": None}})


def _parse_time(value: object, name: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{name} is required (an ISO 8601 date or time)")
    try:
        return parse_iso(value)
    except ValueError:
        raise ContentError(f"{name} is not an ISO 8601 date or time") from None


# -- screened IPs (admins) ---------------------------------------------------------------


def _screened_json(entry: ScreenedIP) -> dict[str, Any]:
    return {
        "id": entry.id,
        "ip_address": entry.cidr,
        "action_name": entry.action,
        "reason": entry.reason,
        "match_count": entry.match_count,
        "last_match_at": iso(entry.last_match_at),
        "created_at": iso(entry.created_at),
    }


@bp.get("/admin/screened-ips.<fmt>")
@admin_required
def list_screened(fmt: str) -> Any:
    entries = list(db.session.scalars(select(ScreenedIP).order_by(ScreenedIP.created_at.desc())))
    data = {"screened_ips": [_screened_json(e) for e in entries]}
    return _report(
        fmt,
        data,
        "screened-ips.csv",
        ["id", "ip_address", "action_name", "reason", "match_count", "last_match_at"],
        lambda: [
            [e.id, e.cidr, e.action, e.reason, e.match_count, iso(e.last_match_at)] for e in entries
        ],
    )


@bp.post("/admin/screened-ips.json")
@admin_required
def add_screened() -> Any:
    data = params()
    entry = screening.screen(_me(), data.get("ip_address"), data.get("reason", ""))
    db.session.commit()
    return json_response({"screened_ip": _screened_json(entry)})


@bp.delete("/admin/screened-ips.json")
@bp.delete("/admin/screened-ips/<int:entry_id>.json")
@admin_required
def remove_screened(entry_id: int | None = None) -> Any:
    if entry_id is None:
        entry_id = int_param(params(), "id")
    entry = db.session.get(ScreenedIP, entry_id)
    if entry is None:
        raise NotFound("No such screened IP entry.")
    screening.unscreen(_me(), entry)
    db.session.commit()
    return json_response({"success": "OK"})


# -- the audit log (admins) --------------------------------------------------------------


@bp.get("/admin/audit-log.<fmt>")
@limited("staff_lookup")
@admin_required
def audit_log(fmt: str) -> Any:
    _fmt(fmt)
    page = max(int_param(dict(request.args), "page", required=False) or 0, 0)
    entries, more = audit_page(request.args, page)
    data = {"entries": entries, "page": page, "more": more}
    return _report(
        fmt,
        data,
        "audit-log.csv",
        [
            "id",
            "created_at",
            "actor",
            "actor_ip",
            "action",
            "subject_user",
            "subject_type",
            "subject_id",
            "details",
        ],
        lambda: [
            [
                e["id"],
                e["created_at"],
                e["actor"],
                e["actor_ip"],
                e["action"],
                e["subject_user"],
                e["subject_type"],
                e["subject_id"],
                e["details"],
            ]
            for e in entries
        ],
    )
