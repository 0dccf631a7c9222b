"""What the route table cannot tell about Parlor's HTTP API: bodies, answers, query
parameters, and which of Discourse's operations a route shares. Read by forum.api.openapi,
which takes paths, methods, path parameters, summaries and access rules from the app itself.

Discourse's schemas come from `openapi_discourse.json` beside this file, a copy of the parts
of Discourse's API description that Parlor serves, so nothing outside the package is read
at run time. Refresh it with

    python -m forum.api.openapi_paths ../shared/discourse-api/openapi.json
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

DISCOURSE_FILE = Path(__file__).with_name("openapi_discourse.json")

JSON = "application/json"
# Discourse clients send any of these; form fields use Rails-style nested keys (post[raw]).
BODY_TYPES = (JSON, "application/x-www-form-urlencoded", "multipart/form-data")

# Discourse's operations that Parlor serves (DESIGN, "Stable interface"), as Discourse
# spells them. A Parlor API route with the same path shape gets their schemas.
DISCOURSE_ROUTES = (
    "get /latest.json",
    "get /categories.json",
    "post /categories.json",
    "put /categories/{id}.json",
    "get /c/{slug}/{id}.json",
    "get /t/{id}.json",
    "get /t/{id}/posts.json",
    "put /t/{id}/status.json",
    "get /posts.json",
    "post /posts.json",
    "get /posts/{id}.json",
    "put /posts/{id}.json",
    "delete /posts/{id}.json",
    "post /post_actions.json",
    "get /search.json",
    "get /u/{username}.json",
    "put /u/{username}.json",
    "put /admin/users/{id}/suspend.json",
)

# Parlor's routes that Discourse's description lacks but whose twin it has (same answer).
TWINS = {
    "/c/{}.json": "/c/{}/{}.json",
    "/t/{}/{}.json": "/t/{}.json",
    "/users/{}.json": "/u/{}.json",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    """A request body accepted as JSON, form-encoded or multipart."""
    return {"required": required, "content": {t: {"schema": schema} for t in BODY_TYPES}}


def ok(
    schema: dict[str, Any] | None = None, description: str = "OK", media: str = JSON
) -> dict[str, Any]:
    content = {media: {"schema": schema if schema is not None else {"type": "string"}}}
    return {"200": {"description": description, "content": content}}


def report(schema: str, description: str) -> dict[str, Any]:
    """A staff report: JSON at `.json`, the same rows as CSV at `.csv`."""
    return {
        "200": {
            "description": f"{description} (`fmt` json), or its rows as CSV (`fmt` csv)",
            "content": {JSON: {"schema": ref(schema)}, "text/csv": {"schema": {"type": "string"}}},
        }
    }


def query(
    name: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
TIME = {"type": ["string", "null"], "format": "date-time"}
PAGE = query("page", {"type": "integer", "minimum": 0}, "Page number, from 0.")
PER_PAGE = query(
    "per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "Topics a page (30)."
)
HTML_PAGE = ok({"type": "string"}, "An HTML page", "text/html")
REDIRECT = {
    "302": {
        "description": "Redirect",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
}
SUCCESS = ok(ref("Success"))
# The forum's pages (forum/web/reading.py, writing.py): pages count from 1; forms POST
# form-encoded with `authenticity_token` and answer 303 to the post (post/redirect/get), or
# the form again with the reason beside the field.
PAGE_FROM_1 = query("page", {"type": "integer", "minimum": 1}, "Page number, from 1.")
HTML = {"text/html": {"schema": STRING}}


def page_form(**fields: Any) -> dict[str, Any]:
    """A page form's body: its fields, plus the session's CSRF token."""
    schema = _obj(["authenticity_token"], authenticity_token=STRING, **fields)
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}


def page_write(done: str, refused: str = "A refusal, as a page") -> dict[str, Any]:
    return {
        "303": {"description": done, "headers": {"Location": {"schema": STRING}}},
        "403": {"description": "Not signed in, no valid token, or not allowed", "content": HTML},
        "404": {"description": "No such post or topic", "content": HTML},
        "422": {"description": refused, "content": HTML},
    }


def page_answers(done: str | None = None, **refusals: str) -> dict[str, Any]:
    """A member or staff page's answers: the page (or, given `done`, a 303 there), and
    its refusals by status (`s403="..."`), each a page."""
    answers = (
        {"303": {"description": done, "headers": {"Location": {"schema": STRING}}}}
        if done
        else dict(HTML_PAGE)
    )
    for status, why in refusals.items():
        answers[status.lstrip("s")] = {"description": why, "content": HTML}
    return answers


USER_REF = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "username": STRING},
}


def _obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


IP_USE = _obj(
    ["ip", "count"],
    ip=STRING,
    count={"type": "integer"},
    first_seen=TIME,
    last_seen=TIME,
)

# Parlor's own shapes. Discourse's are added from openapi_discourse.json.
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj(
        ["errors", "error_type"],
        errors={"type": "array", "items": STRING},
        error_type={
            "type": "string",
            "examples": ["not_found", "invalid_access", "not_logged_in", "invalid_parameters"],
        },
        extras=_obj(wait_seconds={"type": "integer"}),
    ),
    "Success": _obj(["success"], success={"type": "string", "const": "OK"}),
    "CurrentSession": _obj(
        ["current_user"],
        current_user=_obj(
            ["id", "username", "avatar_template"],
            id={"type": "integer"},
            username=STRING,
            name=NULLABLE_STRING,
            avatar_template=STRING,
            admin={"type": "boolean"},
            moderator={"type": "boolean"},
            staff={"type": "boolean"},
            trust_level={"type": "integer"},
            can_create_topic={"type": "boolean"},
        ),
    ),
    "Csrf": _obj(["csrf"], csrf=STRING),
    "ProfileChanges": {
        "description": "The fields to correct, flat or under `user` (P9).",
        **_obj(
            first_name=NULLABLE_STRING,
            last_name=NULLABLE_STRING,
            newsletter={"type": "boolean", "description": "Opt in to or out of the newsletter"},
            user=_obj(
                first_name=NULLABLE_STRING,
                last_name=NULLABLE_STRING,
                newsletter={"type": "boolean"},
            ),
        ),
    },
    "OwnProfile": {
        "description": "A member's card as in `getUserResponse`, and, to the member "
        "themselves, every field Parlor holds about them.",
        **_obj(
            ["id", "username", "avatar_template"],
            id={"type": "integer"},
            username=STRING,
            name=NULLABLE_STRING,
            avatar_template=STRING,
            email=STRING,
            first_name=NULLABLE_STRING,
            last_name=NULLABLE_STRING,
            github_id={"type": ["integer", "null"]},
            role={"type": "string", "enum": ["member", "moderator", "admin"]},
            newsletter={"type": "boolean"},
            newsletter_consent_at=TIME,
            names_from_github={"type": "boolean"},
            suspended_till=TIME,
            suspend_reason=NULLABLE_STRING,
            export_url=STRING,
        ),
    },
    "ProfileUpdated": _obj(["success", "user"], success=STRING, user=ref("OwnProfile")),
    "EraseAccount": _obj(
        ["confirm"], confirm={"type": "string", "description": "The member's username, again"}
    ),
    "PostIpReport": _obj(
        ["post_id", "ip", "edits"],
        post_id={"type": "integer"},
        ip=NULLABLE_STRING,
        edits={
            "type": "array",
            "items": _obj(
                version={"type": "integer"},
                ip=NULLABLE_STRING,
                edited_at=TIME,
                username=NULLABLE_STRING,
            ),
        },
    ),
    "UserIpsReport": _obj(
        ["user", "ips", "sign_in_ips"],
        user=USER_REF,
        ips={
            "type": "array",
            "items": {
                **IP_USE,
                "properties": {
                    **IP_USE["properties"],
                    "other_accounts": {"type": "integer", "description": "Accounts sharing it"},
                },
            },
        },
        sign_in_ips={"type": "array", "items": IP_USE},
    ),
    "IpLookupReport": _obj(
        ["query", "accounts", "posts", "page", "more"],
        query={"type": "string", "description": "The network searched, as CIDR"},
        accounts={
            "type": "array",
            "items": _obj(
                username=STRING, count={"type": "integer"}, first_seen=TIME, last_seen=TIME
            ),
        },
        posts={
            "type": "array",
            "items": _obj(
                id={"type": "integer"},
                topic_id={"type": "integer"},
                topic_title=STRING,
                post_number={"type": "integer"},
                username=NULLABLE_STRING,
                created_at=TIME,
                ip=NULLABLE_STRING,
                url=STRING,
            ),
        },
        page={"type": "integer"},
        more={"type": "boolean"},
    ),
    "SharedIpsReport": _obj(
        ["user", "accounts"],
        user=USER_REF,
        accounts={
            "type": "array",
            "items": _obj(
                username=STRING,
                ips={
                    "type": "array",
                    "items": _obj(ip=STRING, count={"type": "integer"}),
                },
                total={"type": "integer"},
            ),
        },
    ),
    "AuditLogPage": _obj(
        ["entries", "page", "more"],
        entries={
            "type": "array",
            "items": _obj(
                id={"type": "integer"},
                created_at=TIME,
                actor=NULLABLE_STRING,
                actor_ip=NULLABLE_STRING,
                action=STRING,
                subject_user=NULLABLE_STRING,
                subject_type=NULLABLE_STRING,
                subject_id={"type": ["integer", "null"]},
                details={},
            ),
        },
        page={"type": "integer"},
        more={"type": "boolean"},
    ),
    "ScreenedIp": _obj(
        ["id", "ip_address", "action_name"],
        id={"type": "integer"},
        ip_address={"type": "string", "description": "An address or a CIDR range"},
        action_name=STRING,
        reason=NULLABLE_STRING,
        match_count={"type": "integer"},
        last_match_at=TIME,
        created_at=TIME,
    ),
    "ScreenedIpList": _obj(
        ["screened_ips"], screened_ips={"type": "array", "items": ref("ScreenedIp")}
    ),
    "ScreenedIpCreated": _obj(["screened_ip"], screened_ip=ref("ScreenedIp")),
    "ScreenIp": _obj(["ip_address"], ip_address=STRING, reason=STRING),
    "UnscreenIp": _obj(id={"type": "integer", "description": "When not in the path"}),
    "HiddenState": _obj(["success", "hidden"], success=STRING, hidden={"type": "boolean"}),
    "Unsuspended": _obj(
        ["suspension"],
        suspension=_obj(suspended_till={"type": "null"}, suspend_reason={"type": "null"}),
    ),
    "PrivacyPolicy": _obj(
        ["title", "last_updated", "markdown", "html"],
        title=STRING,
        last_updated={"type": "string", "format": "date"},
        markdown=STRING,
        html=STRING,
    ),
}

# Per Discourse operation (so a route added later gets them whatever its endpoint name):
# the query parameters Parlor reads, and Parlor's replacements for Discourse's parts.
# A None value removes what Discourse's description says.
BY_DISCOURSE: dict[str, dict[str, Any]] = {
    "get /latest.json": {"parameters": [PAGE, PER_PAGE]},
    "get /c/{slug}/{id}.json": {"parameters": [PAGE, PER_PAGE]},
    "get /t/{id}/posts.json": {
        "parameters": [
            {
                **query(
                    "post_ids[]",
                    {"type": "array", "items": {"type": "integer"}, "maxItems": 100},
                    "Ids from the topic's `post_stream.stream`, at most 100; without them, "
                    "the first 20 posts.",
                ),
                "style": "form",
                "explode": True,
            }
        ],
        "requestBody": None,  # Discourse documents a body on this GET; Parlor reads the query
    },
    "get /posts.json": {
        "parameters": [
            query("before", {"type": "integer"}, "Only posts with an id below this one.")
        ]
    },
    "get /search.json": {
        "parameters": [query("q", STRING, "The search terms.", required=True), PAGE]
    },
    "delete /posts/{id}.json": {"requestBody": None, "responses": SUCCESS},
    "put /u/{username}.json": {
        "requestBody": body(ref("ProfileChanges")),
        "responses": ok(ref("ProfileUpdated")),
    },
    "put /t/{id}/status.json": {"description": "Parlor supports the `closed` status only."},
}

# Who the member and staff pages refuse (each refusal is a page).
_NOT_YOURS = "Not signed in (a page offering to sign in), or someone else's page"
_STAFF = "Not signed in (a page offering to sign in), or not staff"
_ADMIN = "Not signed in (a page offering to sign in), or not an admin"
_STALE_FORM = "; or the form's authenticity_token is missing or stale"

# Per endpoint, or "endpoint METHOD" where the methods differ; applied last.
BY_ENDPOINT: dict[str, dict[str, Any]] = {
    "api.current_session": {
        "summary": "Who is signed in (404 `not_logged_in` when nobody is)",
        "responses": ok(ref("CurrentSession")),
    },
    "api.csrf": {
        "summary": "The session's CSRF token, for cookie-authenticated writes",
        "responses": ok(ref("Csrf")),
    },
    "api.sign_out": {"summary": "Sign out", "responses": SUCCESS},
    "api.unlike_post": {
        "summary": "Take back a like",
        "parameters": [
            query("post_action_type_id", {"type": "integer", "enum": [2]}, "2: like", True)
        ],
        "responses": ok(ref("getPostResponse"), "The post, as `getPost` answers"),
    },
    "api.erase_user": {"requestBody": body(ref("EraseAccount")), "responses": SUCCESS},
    "api.sign_out_everywhere_route": {
        "summary": "End every session of the member, on every device (P9)",
        "responses": SUCCESS,
    },
    "api.export_zip": {
        "summary": "Download everything Parlor holds about the member, as a ZIP (P10)",
        "responses": {
            "200": {
                "description": "Every personal datum Parlor holds about the member (P10)",
                "content": {
                    "application/zip": {
                        "schema": {"type": "string", "contentMediaType": "application/zip"}
                    }
                },
            },
            "429": {
                "description": "Exported moments ago; try again later",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": {JSON: {"schema": ref("Error")}},
            },
        },
    },
    "api.privacy_json": {
        "summary": "The privacy policy, with its last-updated date (P15)",
        "responses": ok(ref("PrivacyPolicy")),
    },
    "api.post_ip": {
        "summary": "The IP a post and its edits came from (staff; logged)",
        "responses": report("PostIpReport", "The post's IP and its edits' IPs"),
    },
    "api.user_ips": {
        "summary": "A member's IPs, from posts and sign-ins (staff; logged)",
        "responses": report("UserIpsReport", "The member's IPs"),
    },
    "api.ip_lookup": {
        "summary": "The accounts and posts behind an IP or CIDR range (staff; logged)",
        "parameters": [
            query("q", STRING, "An IP address or a CIDR range.", required=True),
            PAGE,
        ],
        "responses": report("IpLookupReport", "The accounts and posts behind the network"),
    },
    "api.shared_ips": {
        "summary": "The accounts that share IPs with a member (staff; logged)",
        "responses": report("SharedIpsReport", "The accounts that share the member's IPs"),
    },
    "api.audit_log": {
        "summary": "The audit log: who looked at or did what, and when (admins)",
        "parameters": [
            PAGE,
            query("action", STRING, "Only entries of this action."),
            query("actor", STRING, "Only entries by this username."),
            query("subject", STRING, "Only entries about this username."),
            query("since", {"type": "string", "format": "date-time"}, "From this time on."),
            query("until", {"type": "string", "format": "date-time"}, "Before this time."),
        ],
        "responses": report("AuditLogPage", "A page of the audit log, newest first"),
    },
    "api.list_screened": {
        "summary": "Screened IP addresses and ranges (admins)",
        "responses": report("ScreenedIpList", "Screened addresses"),
    },
    "api.add_screened": {
        "summary": "Screen an IP address or range (admins)",
        "requestBody": body(ref("ScreenIp")),
        "responses": ok(ref("ScreenedIpCreated")),
    },
    "api.remove_screened": {
        "summary": "Stop screening an address or range (admins)",
        "requestBody": body(ref("UnscreenIp"), required=False),
        "responses": SUCCESS,
    },
    "api.hide_post_route": {"summary": "Hide a post (staff)", "responses": ok(ref("HiddenState"))},
    "api.unhide_post": {
        "summary": "Show a hidden post again (staff)",
        "responses": ok(ref("HiddenState")),
    },
    "api.unsuspend_user": {
        "summary": "Lift a member's suspension (staff)",
        "responses": ok(ref("Unsuspended")),
    },
    "api.openapi_document": {
        "tags": ["meta"],
        "responses": ok({"type": "object"}, "This description (OpenAPI 3.1)"),
    },
    "web.home": {
        "summary": "The latest topics, as a page",
        "parameters": [PAGE_FROM_1],
        "responses": HTML_PAGE,
    },
    "web.latest": {"parameters": [PAGE_FROM_1]},
    "web.category": {"parameters": [PAGE_FROM_1]},
    "web.topic": {
        "summary": "A topic, as a page",
        "parameters": [query("page", {"type": "integer", "minimum": 1}, "From 1.")],
    },
    "web.topic_by_id": {"parameters": [PAGE_FROM_1], "responses": REDIRECT},
    "web.topic_post": {"responses": REDIRECT},
    "web.search": {
        "parameters": [query("q", STRING, "Words to find (2 to 200 characters)."), PAGE_FROM_1],
        "responses": {
            **HTML_PAGE,
            "422": {"description": "Search words too short or too long", "content": HTML},
        },
    },
    "web.new_topic GET": {"parameters": [query("category", STRING, "The category to preselect.")]},
    "web.new_topic POST": {
        "requestBody": page_form(title=STRING, category=STRING, raw=STRING),
        "responses": page_write("To the new topic", "The form again, with what to fix"),
    },
    "web.reply": {
        "requestBody": page_form(raw=STRING),
        "responses": page_write("To the reply", "The topic again, with the reply to fix"),
    },
    "web.edit_post POST": {
        "requestBody": page_form(raw=STRING, edit_reason=STRING),
        "responses": page_write("To the post", "The form again, with what to fix"),
    },
    "web.delete_post": {
        "requestBody": page_form(),
        "responses": page_write("To the topic, or to its category when the topic went"),
    },
    "web.like_post": {"requestBody": page_form(), "responses": page_write("To the post")},
    "web.unlike_post": {"requestBody": page_form(), "responses": page_write("To the post")},
    "web.hide_post": {"requestBody": page_form(), "responses": page_write("To the post")},
    "web.unhide_post": {"requestBody": page_form(), "responses": page_write("To the post")},
    "web.close_topic": {"requestBody": page_form(), "responses": page_write("To the topic")},
    "web.reopen_topic": {"requestBody": page_form(), "responses": page_write("To the topic")},
    # The member's own pages (forum/web/account.py).
    "web.preferences": {"responses": page_answers(s403=_NOT_YOURS)},
    "web.update_preferences": {
        "requestBody": page_form(
            first_name=STRING,
            last_name=STRING,
            newsletter={"type": "string", "description": "Sent (any value) when ticked."},
        ),
        "responses": page_answers(
            "To the preferences",
            s403=_NOT_YOURS + _STALE_FORM,
            s422="The form again, with what to fix",
        ),
    },
    "web.sign_out": {
        "requestBody": page_form(),
        "responses": page_answers("To the latest topics", s403="Not signed in" + _STALE_FORM),
    },
    "web.sign_out_everywhere_page": {
        "requestBody": page_form(),
        "responses": page_answers(
            "To the latest topics, signed out", s403=_NOT_YOURS + _STALE_FORM
        ),
    },
    "web.delete_account": {"responses": page_answers(s403=_NOT_YOURS)},
    "web.erase_account": {
        "requestBody": page_form(confirm={"type": "string", "description": "Your username."}),
        "responses": page_answers(
            "To the page that says it is done",
            s403=_NOT_YOURS + _STALE_FORM,
            s422="The confirmation again: not the username, or the forum's last admin",
        ),
    },
    # The staff desk (forum/web/staff.py).
    "web.staff_desk": {"responses": page_answers(s403=_STAFF)},
    "web.find_account": {
        "parameters": [query("username", STRING, "The account to report on.", required=True)],
        "responses": page_answers(
            "To the account's IP report",
            s403=_STAFF,
            s404="The desk again: no such account",
            s422="The desk again: no username",
        ),
    },
    "web.ip_lookup": {
        "parameters": [query("q", STRING, "An IP address or a CIDR range; none: the form."), PAGE],
        "responses": page_answers(s403=_STAFF, s422="The form again: not an address or range"),
    },
    "web.post_ip": {"responses": page_answers(s403=_STAFF, s404="No such post")},
    "web.staff_user": {"responses": page_answers(s403=_STAFF, s404="No such account")},
    "web.suspend_account": {
        "requestBody": page_form(
            reason={"type": "string", "description": "Shown to the member."},
            days={"type": "string", "description": "Whole days, 1 to 36500."},
        ),
        "responses": page_answers(
            "To the account's IP report",
            s403=_STAFF + ", or not allowed to suspend this account" + _STALE_FORM,
            s404="No such account",
            s422="The form again, with what to fix",
        ),
    },
    "web.unsuspend_account": {
        "requestBody": page_form(),
        "responses": page_answers(
            "To the account's IP report",
            s403=_STAFF + ", or not allowed to act on this account" + _STALE_FORM,
            s404="No such account",
        ),
    },
    "web.audit_log": {
        "parameters": [
            PAGE,
            query("action", STRING, "Only entries of this action."),
            query("actor", STRING, "Only entries by this username."),
            query("subject", STRING, "Only entries about this username."),
            query("since", STRING, "From this date or time (ISO 8601) on."),
            query("until", STRING, "Before this date or time (ISO 8601)."),
        ],
        "responses": page_answers(s403=_ADMIN, s422="The filters again, with what to fix"),
    },
    "web.screened_ips": {"responses": page_answers(s403=_ADMIN)},
    "web.add_screened_ip": {
        "requestBody": page_form(ip_address=STRING, reason=STRING),
        "responses": page_answers(
            "To the screened IPs",
            s403=_ADMIN + _STALE_FORM,
            s422="The list again, with what to fix",
        ),
    },
    "web.remove_screened_ip": {
        "requestBody": page_form(),
        "responses": page_answers(
            "To the screened IPs", s403=_ADMIN + _STALE_FORM, s404="No such entry"
        ),
    },
    "web.privacy_page": {
        "summary": "The privacy policy, as a page (P15)",
        "responses": ok({"type": "string"}, "The privacy policy", "text/html"),
    },
    "web.unsubscribe": {
        "parameters": [query("token", STRING, "The token from the e-mail's link.")],
        "responses": {
            **ok({"type": "string"}, "Asks to confirm (GET) or confirms (POST)", "text/html"),
            "400": {
                "description": "Unknown or expired token",
                "content": {"text/html": {"schema": STRING}},
            },
        },
    },
    "web.unsubscribe POST": {
        "description": "One-click unsubscribe (RFC 8058): no sign-in needed.",
        "requestBody": {
            "required": False,
            "content": {"application/x-www-form-urlencoded": {"schema": _obj(token=STRING)}},
        },
    },
    "web.status": {
        "summary": "Health check: the app and its database answer",
        "tags": ["meta"],
        "responses": ok({"type": "string", "const": "ok"}, "Up", "text/plain"),
    },
    "avatars.picture": {
        "summary": "A member's picture, as downloaded from GitHub",
        "responses": ok(
            {"type": "string", "contentMediaType": "image/png"}, "The picture", "image/png"
        ),
    },
    "avatars.letter": {
        "summary": "A letter avatar, for members without a picture",
        "responses": ok({"type": "string"}, "A letter avatar", "image/svg+xml"),
    },
    "auth.login": {
        "summary": "Start signing in with GitHub",
        "parameters": [
            query("next", STRING, "A path on this site to return to."),
            query("login", STRING, "GitHub's login hint."),
            query("remember", STRING, "1, true, on or yes: stay signed in."),
        ],
        "responses": {
            **REDIRECT,
            "403": {"description": "Blocked address", "content": {"text/html": {"schema": STRING}}},
            "503": {"description": "Not configured", "content": {"text/html": {"schema": STRING}}},
        },
    },
    "auth.callback": {
        "summary": "GitHub's redirect back after sign-in",
        "parameters": [
            query("code", STRING, "GitHub's authorization code."),
            query("state", STRING, "The state sent to GitHub."),
            query("error", STRING, "GitHub's refusal, if any."),
        ],
        "responses": {
            **REDIRECT,
            "4XX": {
                "description": "Sign-in failed; the page says why and what to do",
                "content": {"text/html": {"schema": STRING}},
            },
        },
    },
}

# What a route with nothing above answers, by blueprint.
FALLBACK_RESPONSES: dict[str, dict[str, Any]] = {
    "api": ok({"type": "object"}),
    "web": HTML_PAGE,
    "auth": REDIRECT,
    "avatars": {"200": {"description": "An image"}},
}


@cache
def discourse() -> dict[str, Any]:
    """The committed copy of Discourse's operations and schemas."""
    return json.loads(DISCOURSE_FILE.read_text(encoding="utf-8"))


def shape(path: str) -> str:
    """`/t/{topic_id}/posts.json` -> `/t/{}/posts.json`: paths compared without names."""
    return re.sub(r"\{[^}]*\}", "{}", path)


# -- refreshing openapi_discourse.json from Discourse's description ------------------------


# Field name -> types added wherever Discourse's schema has that field, and why. Discourse
# generates its schemas from example answers, so a field null in the example is typed
# string|null even where Discourse (and Parlor) send a number. tests/test_discourse_schemas.py
# validates Parlor's answers with the same list.
ERRATA: dict[str, tuple[list[str], str]] = {
    "reply_to_post_number": (
        ["integer"],
        "typed string|null, but it is an integer column that Discourse sends as a number",
    ),
    "liked": (
        ["boolean", "null"],
        "topic-list items: boolean in /latest.json, string|null in /c/{slug}/{id}.json; "
        "Discourse sends the viewer's flag, or null without one",
    ),
    "bookmarked": (
        ["boolean", "null"],
        "topic-list items: boolean in /latest.json, string|null in /c/{slug}/{id}.json",
    ),
    "permission": (
        ["null"],
        "categories: integer in GET /categories.json but integer|null in POST; Discourse "
        "sets it only for a signed-in viewer (CategoryList), so visitors get null",
    ),
    "more_posts": (
        ["boolean"],
        "search: typed string|null from an example with null; Discourse's Search sets it "
        "to true when there are more posts than a page",
    ),
    "more_full_page_results": (["boolean"], "search: as more_posts"),
    "image_url": (
        ["null"],
        "topic-list items: string in /latest.json but string|null in /c/{slug}/{id}.json "
        "and /t/{id}.json; a topic without an image has null",
    ),
}


def _widen(name: str, schema: Any) -> Any:
    if name not in ERRATA or not isinstance(schema, dict) or "type" not in schema:
        return schema
    types = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
    extra = ERRATA[name][0]
    return {**schema, "type": types + [t for t in extra if t not in types]}


def _relax(schema: Any) -> Any:
    """A response schema with Discourse's `required` lists and closed objects removed
    (Parlor sends a core set of Discourse's fields, and some of its own), and ERRATA."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "required" and isinstance(value, list):
            continue
        if key in ("additionalProperties", "unevaluatedProperties") and value is False:
            continue
        if key == "properties":
            out[key] = {name: _widen(name, _relax(sub)) for name, sub in value.items()}
        elif key in ("patternProperties", "$defs"):
            out[key] = {name: _relax(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "if", "then", "else", "contains"):
            out[key] = _relax(value)
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            out[key] = [_relax(sub) for sub in value]
        else:
            out[key] = value
    return out


def extract_discourse(source: dict[str, Any], license_text: str) -> dict[str, Any]:
    """The operations in DISCOURSE_ROUTES, with their schemas named after Discourse's
    operationIds (`getPost` -> `getPostResponse`, `createTopicPostPM` -> `...Request`)."""
    operations: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for key in DISCOURSE_ROUTES:
        method, path = key.split(" ", 1)
        op = source["paths"][path][method]
        op_id = op["operationId"]
        entry: dict[str, Any] = {"operationId": op_id, "summary": op.get("summary", "")}
        content = (op.get("requestBody") or {}).get("content") or {}
        if content:
            schemas[f"{op_id}Request"] = next(iter(content.values()))["schema"]
            entry["request"] = f"{op_id}Request"
        answer = op["responses"].get("200", {})
        schema = (answer.get("content") or {}).get(JSON, {}).get("schema")
        if schema:
            schemas[f"{op_id}Response"] = _relax(schema)
            entry["response"] = f"{op_id}Response"
        operations[key] = entry
    return {
        "about": "Parts of Discourse's API description (openapi.json) that Parlor serves; "
        "response schemas without Discourse's `required` lists and closed objects, and "
        "with the types in ERRATA widened. "
        "Generated by `python -m forum.api.openapi_paths`; do not edit by hand.",
        "license": license_text,
        "operations": operations,
        "schemas": schemas,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m forum.api.openapi_paths PATH/TO/discourse-api/openapi.json")
        return 2
    source = Path(argv[0])
    license_text = source.with_name("LICENSE.txt").read_text(encoding="utf-8")
    copy = extract_discourse(json.loads(source.read_text(encoding="utf-8")), license_text)
    DISCOURSE_FILE.write_text(json.dumps(copy, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {DISCOURSE_FILE} ({len(copy['schemas'])} schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
