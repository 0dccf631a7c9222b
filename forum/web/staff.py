"""The moderator's desk as pages (P8): the IP and CIDR lookup, a post's IP, an account's
IP report with the accounts sharing its addresses, suspending, and for admins the audit
log and the screened addresses.

Every look at IP data is recorded exactly as by the JSON routes (forum.moderation.lookups
writes the same entries); acting goes through the same services (suspend, screening).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from forum.api.params import int_param
from forum.content.errors import ContentError, Forbidden
from forum.content.models import Topic
from forum.db import IPAddress, db, write_transaction
from forum.moderation import ip_reports, lookups, screening
from forum.moderation.audit import ACTIONS
from forum.moderation.audit_log import PAGE_SIZE as AUDIT_PAGE_SIZE
from forum.moderation.audit_log import audit_page
from forum.moderation.models import ScreenedIP
from forum.moderation.suspend import REASON_MAX, check_can_moderate, suspend, unsuspend
from forum.net import Network
from forum.ratelimits import limited
from forum.timeutil import utcnow
from forum.users.models import User
from forum.users.roles import find_user, member_named
from forum.web.access import me, page_requires, service_errors
from forum.web.blueprint import bp, error_page

# Suspensions are given in whole days, up to a hundred years ("for good").
MAX_SUSPENSION_DAYS = 36_500
AUDIT_FILTERS = ("action", "actor", "subject", "since", "until")


def neighbourhood(ip: IPAddress | str) -> str:
    """The block an address sits in, for "who else posted near here": its /24 or /64."""
    address = ipaddress.ip_address(str(ip))
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def lookable(cidr: str) -> bool:
    """Whether the lookup accepts this range (not wider than its limits)."""
    network = ipaddress.ip_network(cidr, strict=False)
    limit = ip_reports.MIN_PREFIX_V4 if network.version == 4 else ip_reports.MIN_PREFIX_V6
    return network.prefixlen >= limit


def _render(template: str, **context: Any) -> str:
    return render_template(
        f"parlor/staff/{template}", neighbourhood=neighbourhood, lookable=lookable, **context
    )


def _page_number(errors: dict[str, str], page_size: int) -> int:
    """`?page=` from 0; its offset must fit the INTEGER the queries bind it as."""
    try:
        page = int_param(dict(request.args), "page", required=False) or 0
    except ContentError as exc:
        errors["page"] = "; ".join(exc.messages)
        return 0
    last = (2**31 - 1) // page_size
    if not 0 <= page <= last:
        errors["page"] = f"page must be a number from 0 to {last}"
        return 0
    return page


# -- the desk and the lookup -------------------------------------------------------------


@bp.get("/admin")
@page_requires("staff")
def staff_desk() -> str:
    """The moderator's desk: look up an address or range, or an account"""
    return _render("desk.html", errors={}, username="")


@bp.get("/admin/users")
@page_requires("staff")
def find_account() -> Any:
    """Go to an account's IP report, by username (`username`)"""
    username = request.args.get("username", "").strip()
    if not username:
        return _render("desk.html", errors={"username": "Give a username."}, username=""), 422
    user = find_user(username)
    if user is None:
        error = f"No member named {username!r}."
        return _render("desk.html", errors={"username": error}, username=username), 404
    return redirect(url_for("web.staff_user", username=user.username), 303)


@bp.get("/admin/ip-lookup")
@limited("staff_lookup")
@page_requires("staff")
def ip_lookup() -> Any:
    """The accounts and posts behind an IP address or CIDR range (logged)"""
    query = request.args.get("q", "")
    errors: dict[str, str] = {}
    page = _page_number(errors, ip_reports.PAGE_SIZE)
    context: dict[str, Any] = {"q": query, "page": page, "errors": errors, "network": None}
    if not query.strip() and not errors:
        return _render("ip_lookup.html", **context)  # the empty form: nothing looked up
    network: Network | None = None
    try:
        network = screening.parse_network(query, ip_reports.MIN_PREFIX_V4, ip_reports.MIN_PREFIX_V6)
    except ContentError as exc:
        errors["q"] = "; ".join(exc.messages)
    if errors or network is None:
        return _render("ip_lookup.html", **context), 422
    with write_transaction():
        accounts, posts, more = lookups.lookup(me(), network, page)
    context.update(network=str(network), accounts=accounts, posts=posts, more=more)
    return _render("ip_lookup.html", **context)


@bp.get("/admin/posts/<int:post_id>/ip")
@limited("staff_lookup")
@page_requires("staff")
@service_errors
def post_ip(post_id: int) -> str:
    """The IP a post and its edits came from (logged)"""
    with write_transaction():
        post, found = lookups.reveal_post_ip(me(), post_id)
    topic = db.session.get(Topic, post.topic_id)
    author = db.session.get(User, post.user_id)
    return _render(
        "post_ip.html",
        post=post,
        topic=topic,
        author=author,
        ip=found["ip"],
        edits=found["edits"],
    )


# -- an account ----------------------------------------------------------------------------


def _may_suspend(user: User) -> str | None:
    """Why the signed-in staff member may not suspend `user`, or None."""
    try:
        check_can_moderate(me(), user)
    except Forbidden as exc:
        return "; ".join(exc.messages)
    return None


@bp.get("/admin/users/<username>")
@limited("staff_lookup")
@page_requires("staff")
@service_errors
def staff_user(username: str) -> str:
    """An account's IP report: its addresses, its sign-ins and the accounts sharing its
    addresses (logged), and its suspension"""
    with write_transaction():
        user = member_named(username)
        uses, sign_ins = lookups.account_ips(me(), user)
        shared = lookups.account_shared_ips(me(), user)
    return _render(
        "user.html",
        user=user,
        uses=uses,
        sign_ins=sign_ins,
        shared=shared,
        suspended=user.suspended_at(utcnow()),
        refusal=_may_suspend(user),
        values={"reason": "", "days": ""},
        errors={},
        reason_max=REASON_MAX,
        max_days=MAX_SUSPENSION_DAYS,
    )


def _suspend_form(user: User, values: dict[str, str], errors: dict[str, str]) -> str:
    return _render(
        "suspend.html",
        user=user,
        values=values,
        errors=errors,
        reason_max=REASON_MAX,
        max_days=MAX_SUSPENSION_DAYS,
    )


def _days(text: str) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        raise ContentError(f"Give a whole number of days, from 1 to {MAX_SUSPENSION_DAYS}.")
    days = int(value)
    if not 1 <= days <= MAX_SUSPENSION_DAYS:
        raise ContentError(f"Give a whole number of days, from 1 to {MAX_SUSPENSION_DAYS}.")
    return days


@bp.post("/admin/users/<username>/suspend")
@page_requires("staff")
@service_errors
def suspend_account(username: str) -> Any:
    """Suspend an account for `days` days, with a `reason` the member is shown"""
    user = member_named(username)
    values = {"reason": request.form.get("reason", ""), "days": request.form.get("days", "")}
    errors: dict[str, str] = {}
    try:
        days = _days(values["days"])
    except ContentError as exc:
        errors["days"] = "; ".join(exc.messages)
        days = 0
    if not values["reason"].strip():
        errors["reason"] = "A reason is required; the member is shown it."
    if errors:
        return _suspend_form(user, values, errors), 422
    try:
        suspend(me(), user, utcnow() + timedelta(days=days), values["reason"])
    except ContentError as exc:
        db.session.rollback()
        field = "form" if isinstance(exc, Forbidden) else "reason"
        return _suspend_form(member_named(username), values, {field: "; ".join(exc.messages)}), (
            exc.status
        )
    db.session.commit()
    until = user.suspended_until.strftime("%Y-%m-%d %H:%M UTC") if user.suspended_until else ""
    flash(f"{user.username} is suspended until {until}.", "success")
    return redirect(url_for("web.staff_user", username=user.username), 303)


@bp.post("/admin/users/<username>/unsuspend")
@page_requires("staff")
@service_errors
def unsuspend_account(username: str) -> Any:
    """Lift an account's suspension"""
    user = member_named(username)
    unsuspend(me(), user)
    db.session.commit()
    flash(f"{user.username} is no longer suspended.", "success")
    return redirect(url_for("web.staff_user", username=user.username), 303)


# -- admins: the audit log and screened addresses -------------------------------------------


@bp.get("/admin/audit-log")
@limited("staff_lookup")
@page_requires("admin")
def audit_log() -> Any:
    """The audit log: who looked at or did what, and when"""
    filters = {name: request.args.get(name, "").strip() for name in AUDIT_FILTERS}
    errors: dict[str, str] = {}
    page = _page_number(errors, AUDIT_PAGE_SIZE)
    context: dict[str, Any] = {
        "filters": filters,
        "actions": sorted(ACTIONS),
        "page": page,
        "errors": errors,
        "entries": [],
        "more": False,
        "active": {k: v for k, v in filters.items() if v},
    }
    if not errors:
        try:
            context["entries"], context["more"] = audit_page(context["active"], page)
        except ContentError as exc:
            message = "; ".join(exc.messages)
            errors[next((f for f in AUDIT_FILTERS if message.startswith(f)), "form")] = message
    if errors:
        return _render("audit_log.html", **context), 422
    return _render("audit_log.html", **context)


def _screened_page(values: dict[str, str], errors: dict[str, str]) -> str:
    entries = list(db.session.scalars(select(ScreenedIP).order_by(ScreenedIP.created_at.desc())))
    return _render(
        "screened_ips.html",
        entries=entries,
        values=values,
        errors=errors,
        reason_max=screening.REASON_MAX,
    )


@bp.get("/admin/screened-ips")
@page_requires("admin")
def screened_ips() -> str:
    """Screened IP addresses and ranges: blocked from posting and signing in"""
    return _screened_page({"ip_address": "", "reason": ""}, {})


@bp.post("/admin/screened-ips/add")
@page_requires("admin")
def add_screened_ip() -> Any:
    """Screen an IP address or range (`ip_address`, `reason`)"""
    values = {
        "ip_address": request.form.get("ip_address", ""),
        "reason": request.form.get("reason", ""),
    }
    try:
        entry = screening.screen(me(), values["ip_address"], values["reason"])
    except ContentError as exc:
        db.session.rollback()
        message = "; ".join(exc.messages)
        field = "reason" if message.startswith("reason") else "ip_address"
        return _screened_page(values, {field: message}), 422
    db.session.commit()
    flash(f"{entry.cidr} is screened: no posting or signing in from it.", "success")
    return redirect(url_for("web.screened_ips"), 303)


@bp.post("/admin/screened-ips/<int:entry_id>/delete")
@page_requires("admin")
def remove_screened_ip(entry_id: int) -> Any:
    """Stop screening an address or range"""
    entry = db.session.get(ScreenedIP, entry_id)
    if entry is None:
        return error_page(404, "No such screened address: it may have been removed already.")
    cidr = entry.cidr
    screening.unscreen(me(), entry)
    db.session.commit()
    flash(f"{cidr} is no longer screened.", "success")
    return redirect(url_for("web.screened_ips"), 303)
