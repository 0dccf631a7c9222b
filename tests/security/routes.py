"""Every route of the forum, classified: who may call it, and a request that succeeds for them.

The walks in this package read `app.url_map` and look each (method, endpoint) up in ROUTES;
URL arguments come from ARGUMENTS by name. A new route without an entry here (or with an
argument nobody knows a sample for) fails `test_route_table.py`, so it cannot slip past the
suite unclassified.

Access classes:
  PUBLIC   anyone, signed in or not (read routes, static files)
  SESSION  about the caller's own session (sign-in, sign-out, the CSRF token)
  TOKEN    authorised by a secret token in the request, no session (unsubscribe link)
  MEMBER   any signed-in member
  OWNER    one member's own things (profile, export, erasure, their posts): `alice`'s here;
           another member (`bob`) must be refused
  STAFF    moderators and admins
  ADMIN    admins only
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from .world import RAW, World

PUBLIC, SESSION, TOKEN = "public", "session", "token"
MEMBER, OWNER, STAFF, ADMIN = "member", "owner", "staff", "admin"
ROLE_OF = {MEMBER: "member", OWNER: "member", STAFF: "staff", ADMIN: "admin"}
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Sample = Callable[[World], dict[str, Any]]


def _none(_w: World) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Route:
    access: str
    # Who succeeds with the sample request (None: a visitor).
    actor: str | None = None
    args: Callable[[World], dict[str, Any]] = _none  # overrides of ARGUMENTS
    query: Sample = _none
    form: Sample = _none  # the body of an unsafe request, form-encoded as a browser sends
    notes: str = field(default="", compare=False)


# A sample for each URL argument, by name (the rule decides between topic and category slug).
ARGUMENTS: dict[str, Callable[[World, Rule], Any]] = {
    "post_id": lambda w, _r: w.posts["p2"],
    "topic_id": lambda w, _r: w.topic_id,
    "slug": lambda w, r: w.category_slug if r.rule.startswith("/c/") else w.topic_slug,
    "category_id": lambda w, _r: w.category_id,
    "post_number": lambda _w, _r: 2,
    "username": lambda _w, _r: "alice",
    "user_id": lambda w, _r: w.ids["bob"],
    "entry_id": lambda w, _r: w.screened_id,
    "size": lambda _w, _r: 48,
    "version": lambda w, _r: w.avatar_version,
    "filename": lambda _w, _r: "parlor.css",
    "fmt": lambda _w, _r: "json",
}
# Arguments walked in every value listed (the staff reports answer in both formats).
VARIANTS: dict[str, tuple[str, ...]] = {"fmt": ("json", "csv")}


def _post(key: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"post_id": w.posts[key]}


def _reply(w: World) -> dict[str, Any]:
    return {"topic_id": w.topic_id, "raw": RAW + " (a reply)"}


def _names(_w: World) -> dict[str, Any]:
    return {"first_name": "Alicia", "last_name": "Changed"}


def _search(_w: World) -> dict[str, Any]:
    return {"q": "security"}


_LIKE = {"post_action_type_id": 2}
_SUSPEND = {"suspend_until": "2031-01-02T03:04:00Z", "reason": "spam"}

ROUTES: dict[str, Route] = {
    # -- reading ------------------------------------------------------------------------
    "GET web.home": Route(PUBLIC),
    "GET web.latest": Route(PUBLIC),
    "GET web.categories": Route(PUBLIC),
    "GET web.category": Route(PUBLIC),
    "GET web.topic": Route(PUBLIC),
    "GET web.topic_by_id": Route(PUBLIC),
    "GET web.topic_post": Route(PUBLIC),
    "GET web.user_profile": Route(PUBLIC),
    "GET web.search": Route(PUBLIC, query=_search),
    "GET web.privacy_page": Route(PUBLIC),
    "GET web.status": Route(PUBLIC),
    "GET web.static": Route(PUBLIC),
    "GET web.account_deleted": Route(PUBLIC),
    "GET api.latest": Route(PUBLIC),
    "GET api.categories": Route(PUBLIC),
    "GET api.category_topics": Route(PUBLIC),
    "GET api.topic": Route(PUBLIC),
    "GET api.topic_posts": Route(PUBLIC, query=lambda w: {"post_ids[]": w.posts["p2"]}),
    "GET api.latest_posts": Route(PUBLIC),
    "GET api.show_post": Route(PUBLIC),
    "GET api.search_route": Route(PUBLIC, query=_search),
    "GET api.show_user": Route(PUBLIC),
    "GET api.privacy_json": Route(PUBLIC),
    "GET api.openapi_document": Route(PUBLIC),
    "GET avatars.picture": Route(PUBLIC),
    "GET avatars.letter": Route(PUBLIC),
    # -- the caller's own session ---------------------------------------------------------
    "GET api.csrf": Route(SESSION),
    "GET api.current_session": Route(SESSION, actor="alice"),
    "DELETE api.sign_out": Route(SESSION, actor="alice"),
    "GET auth.login": Route(SESSION),
    "GET auth.callback": Route(SESSION, notes="tested in test_oauth.py: needs GitHub"),
    # -- a secret token instead of a session ----------------------------------------------
    "GET web.unsubscribe": Route(TOKEN, query=lambda w: {"token": w.unsubscribe_token}),
    "POST web.unsubscribe": Route(TOKEN, form=lambda w: {"token": w.unsubscribe_token}),
    # -- any member ---------------------------------------------------------------------
    "POST api.create_post": Route(MEMBER, "alice", form=_reply),
    "POST api.like_post": Route(MEMBER, "bob", form=lambda w: {"id": w.posts["p2"], **_LIKE}),
    "DELETE api.unlike_post": Route(MEMBER, "bob", args=_post("p1"), query=lambda w: _LIKE),
    "GET web.new_topic": Route(MEMBER, "alice"),
    "POST web.new_topic": Route(
        MEMBER,
        "alice",
        form=lambda w: {
            "title": "Another topic, long enough",
            "raw": RAW,
            "category": w.category_id,
        },
    ),
    "POST web.reply": Route(MEMBER, "alice", form=lambda w: {"raw": RAW + " (a reply)"}),
    "POST web.like_post": Route(MEMBER, "bob"),
    "POST web.unlike_post": Route(MEMBER, "bob", args=_post("p1")),
    "POST web.sign_out": Route(MEMBER, "alice"),
    # -- a member's own things (alice's; bob must be refused) -----------------------------
    "GET api.export_zip": Route(OWNER, "alice"),
    "PUT api.update_user": Route(OWNER, "alice", form=_names),
    "DELETE api.erase_user": Route(OWNER, "alice", form=lambda w: {"confirm": "alice"}),
    "POST api.sign_out_everywhere_route": Route(OWNER, "alice"),
    "PUT api.update_post": Route(OWNER, "alice", form=lambda w: {"post[raw]": RAW + " Edited."}),
    "DELETE api.destroy_post": Route(OWNER, "alice"),
    "GET web.edit_post": Route(OWNER, "alice"),
    "POST web.edit_post": Route(OWNER, "alice", form=lambda w: {"raw": RAW + " Edited."}),
    "POST web.delete_post": Route(OWNER, "alice"),
    "GET web.preferences": Route(OWNER, "alice"),
    "POST web.update_preferences": Route(OWNER, "alice", form=_names),
    "POST web.sign_out_everywhere_page": Route(OWNER, "alice"),
    "GET web.delete_account": Route(OWNER, "alice"),
    "POST web.erase_account": Route(OWNER, "alice", form=lambda w: {"confirm": "alice"}),
    # -- moderators and admins ------------------------------------------------------------
    "GET api.post_ip": Route(STAFF, "mia"),
    "GET api.user_ips": Route(STAFF, "mia"),
    "GET api.shared_ips": Route(STAFF, "mia"),
    "GET api.ip_lookup": Route(STAFF, "mia", query=lambda w: {"q": "203.0.113.0/24"}),
    "PUT api.hide_post_route": Route(STAFF, "mia"),
    "PUT api.unhide_post": Route(STAFF, "mia", args=_post("p4")),
    "PUT api.topic_status": Route(
        STAFF, "mia", form=lambda w: {"status": "closed", "enabled": "true"}
    ),
    "PUT api.suspend_user": Route(STAFF, "mia", form=lambda w: _SUSPEND),
    "PUT api.unsuspend_user": Route(STAFF, "mia"),
    "POST web.hide_post": Route(STAFF, "mia"),
    "POST web.unhide_post": Route(STAFF, "mia", args=_post("p4")),
    "POST web.close_topic": Route(STAFF, "mia"),
    "POST web.reopen_topic": Route(STAFF, "mia"),
    "GET web.staff_desk": Route(STAFF, "mia"),
    "GET web.find_account": Route(STAFF, "mia", query=lambda w: {"username": "alice"}),
    "GET web.ip_lookup": Route(STAFF, "mia", query=lambda w: {"q": "203.0.113.0/24"}),
    "GET web.post_ip": Route(STAFF, "mia"),
    "GET web.staff_user": Route(STAFF, "mia"),
    "POST web.suspend_account": Route(STAFF, "mia", form=lambda w: {"reason": "spam", "days": "3"}),
    "POST web.unsuspend_account": Route(STAFF, "mia"),
    # -- admins only ----------------------------------------------------------------------
    "GET api.audit_log": Route(ADMIN, "ada"),
    "GET api.list_screened": Route(ADMIN, "ada"),
    "POST api.add_screened": Route(
        ADMIN, "ada", form=lambda w: {"ip_address": "198.51.100.128/25", "reason": "spam"}
    ),
    "DELETE api.remove_screened": Route(ADMIN, "ada", query=lambda w: {"id": w.screened_id}),
    "POST api.create_category_route": Route(ADMIN, "ada", form=lambda w: {"name": "Meta"}),
    "PUT api.update_category_route": Route(ADMIN, "ada", form=lambda w: {"name": "Renamed"}),
    "GET web.audit_log": Route(ADMIN, "ada"),
    "GET web.screened_ips": Route(ADMIN, "ada"),
    "POST web.add_screened_ip": Route(
        ADMIN, "ada", form=lambda w: {"ip_address": "198.51.100.128/25", "reason": "spam"}
    ),
    "POST web.remove_screened_ip": Route(ADMIN, "ada"),
}


# GET routes that write, and what they record: the staff lookups and an admin's export of
# someone else's data are audited, a member's own export starts its pace. Nothing else.
GET_WRITES = {
    "api.post_ip": {"audit_log"},
    "api.user_ips": {"audit_log"},
    "api.ip_lookup": {"audit_log"},
    "api.shared_ips": {"audit_log"},
    "api.audit_log": set(),
    "api.export_zip": {"users", "audit_log"},
    "web.post_ip": {"audit_log"},
    "web.staff_user": {"audit_log"},
    "web.ip_lookup": {"audit_log"},
    "web.find_account": {"audit_log"},
}


# -- walking the URL map --------------------------------------------------------------------


@cache
def route_app() -> Flask:
    """An app built only to read its URL map at collection time (no database is opened)."""
    from forum import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SECRET_KEY": "route-table",
            "GITHUB_CLIENT_ID": "x",
            "GITHUB_CLIENT_SECRET": "y",
            "RATELIMIT_ENABLED": False,
        }
    )


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def rules(app: Flask | None = None) -> list[Rule]:
    return sorted((app or route_app()).url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def key(method: str, endpoint: str) -> str:
    return f"{method} {endpoint}"


def pairs(app: Flask | None = None) -> list[tuple[Rule, str]]:
    """(rule, method) for every route, the order stable for test ids."""
    return [(rule, method) for rule in rules(app) for method in methods(rule)]


# Routes that end the member's session or account: walks that send everything in one world
# send these last, so the members are still there for the rest.
ENDING = frozenset(
    {
        "api.sign_out", "web.sign_out", "api.sign_out_everywhere_route",
        "web.sign_out_everywhere_page", "api.erase_user", "web.erase_account",
    }
)  # fmt: skip


def classified_pairs(app: Flask | None = None) -> list[tuple[Rule, str]]:
    """Every classified (rule, method), the session-ending ones last."""
    todo = [(r, m) for r, m in pairs(app) if key(m, r.endpoint) in ROUTES]
    return sorted(todo, key=lambda pair: pair[0].endpoint in ENDING)


def route_of(rule: Rule, method: str) -> Route:
    return ROUTES[key(method, rule.endpoint)]


def pair_id(pair: tuple[Rule, str]) -> str:
    rule, method = pair
    return f"{method} {rule.rule}"


def role_of(app: Flask, endpoint: str) -> str | None:
    return getattr(app.view_functions[endpoint], "parlor_role", None)


_PLACEHOLDER = re.compile(r"<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_]+)>")


@dataclass(frozen=True)
class Call:
    """One request: a route, a method and the sample URL, query and form for it."""

    rule: Rule
    method: str
    route: Route
    url: str
    query: dict[str, Any]
    form: dict[str, Any]

    @property
    def endpoint(self) -> str:
        return self.rule.endpoint

    @property
    def blueprint(self) -> str:
        return self.rule.endpoint.rpartition(".")[0]

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


def calls_for(rule: Rule, method: str, world: World) -> list[Call]:
    """The sample request(s) for one route; one per format for the reports."""
    route = route_of(rule, method)
    overrides = route.args(world)
    values = {
        name: overrides[name] if name in overrides else ARGUMENTS[name](world, rule)
        for name in rule.arguments
    }
    variants: list[dict[str, Any]] = [values]
    for name, options in VARIANTS.items():
        if name in rule.arguments:
            variants = [{**v, name: option} for v in variants for option in options]
    query = route.query(world)
    if rule.endpoint == "api.remove_screened" and "entry_id" in rule.arguments:
        query = {}  # the id is in the path
    form = route.form(world) if method in UNSAFE else {}
    return [Call(rule, method, route, _fill(rule, v), query, form) for v in variants]


def _fill(rule: Rule, values: dict[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), rule.rule)


def every_call(world: World, app: Flask | None = None) -> Iterator[Call]:
    for rule, method in pairs(app):
        yield from calls_for(rule, method, world)
