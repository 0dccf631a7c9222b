"""`GET /openapi.json`: Parlor's whole HTTP API as OpenAPI 3.1.

The document is built from the app's own route table on first request (and kept per app),
so a route added anywhere is described without editing this module: its path, methods,
path parameters, summary (the view's docstring) and who may call it (the `*_required`
decorators) come from the route itself; bodies and answers come from `openapi_paths`
(Discourse's schemas where Parlor serves a Discourse route, Parlor's own otherwise).
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable
from importlib import metadata
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.routing import Rule
from werkzeug.routing.converters import (
    AnyConverter,
    BaseConverter,
    FloatConverter,
    IntegerConverter,
    UUIDConverter,
)

from forum.api import openapi_paths as data
from forum.api.blueprint import bp
from forum.api.responses import json_response

OPENAPI_VERSION = "3.1.0"
CACHE_KEY = "parlor.openapi"
BLUEPRINTS = ("api", "auth", "web", "avatars")  # Parlor's; a host app's routes are its own
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ERROR = {"$ref": "#/components/responses/Error"}

# A view limits a free path segment with a module-level tuple of allowed values, such as
# moderation's FORMATS for `<fmt>`; the document lists them as the parameter's enum.
CHOICES = {"fmt": "FORMATS"}

# Tag by the module that defines the view; then by blueprint.
AREAS = (
    ("forum.moderation.", "moderation"),
    ("forum.privacy.", "privacy"),
    ("forum.api.session_", "session"),
    ("forum.api.user_", "users"),
    ("forum.users.", "users"),
    ("auth.", "auth"),
    ("forum.web.", "pages"),
)
BLUEPRINT_AREAS = {"api": "content", "auth": "auth", "web": "pages", "avatars": "users"}
TAGS = [
    {"name": "content", "description": "Categories, topics, posts, likes, search (Discourse's)"},
    {"name": "session", "description": "Who is signed in, the CSRF token, signing out"},
    {"name": "users", "description": "Members' public cards and avatars"},
    {"name": "moderation", "description": "Staff: IP audit (logged), screened IPs, audit log"},
    {"name": "privacy", "description": "Profile, export, erasure, policy, newsletter"},
    {"name": "auth", "description": "Signing in with GitHub (browser redirects)"},
    {"name": "pages", "description": "HTML pages for browsers"},
    {"name": "meta", "description": "This description and the health check"},
]

ROLE_NOTES = {
    "member": "Signed-in members only.",
    "staff": "Moderators and admins only.",
    "admin": "Admins only.",
}

DESCRIPTION = """\
Parlor's HTTP API: Discourse's routes, names and types, so Discourse clients work
unchanged, and Parlor's own (moderation, privacy, sign-in).

- JSON routes also answer without `.json` when the request sends `Accept: application/json`.
- Bodies may be JSON, form-encoded or multipart; form fields use Rails-style nested keys
  (`post[raw]`).
- JSON answers are `application/json; charset=utf-8`; errors are
  `{"errors": [...], "error_type": "..."}` (schema `Error`) with the matching status code.
- Authenticate with the session cookie (writes then need the `X-CSRF-Token` header or an
  `authenticity_token` form field) or with the `Api-Key` and `Api-Username` headers.

Schemas named `<operationId>Request` and `<operationId>Response` are Discourse's
(Copyright (c) 2016 Civilized Discourse Construction Kit, Inc.; MIT License, in
`x-discourse-license`), with `required` lists left out of responses: Parlor sends a core
set of Discourse's fields, and some of its own.
"""


def document(app: Flask) -> dict[str, Any]:
    """The app's description, built once: the route table is fixed once requests are served."""
    doc = app.extensions.get(CACHE_KEY)
    if doc is None:
        doc = app.extensions[CACHE_KEY] = build_document(app)
    return doc


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """This description of Parlor's HTTP API (OpenAPI 3.1)."""
    return json_response({**document(current_app), "servers": [{"url": _server_url()}]})


def _server_url() -> str:
    # Per request: the WSGI mount point (script root) is only known here.
    public = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return public + request.script_root + url_prefix(current_app) or "/"


def url_prefix(app: Flask) -> str:
    """Where `init_app` mounted the forum ("" at the root)."""
    state = app.extensions.get("parlor")
    return getattr(state, "url_prefix", "") or ""


def is_ours(rule: Rule) -> bool:
    blueprint, _, name = rule.endpoint.partition(".")
    return blueprint in BLUEPRINTS and name not in ("", "static") and not rule.build_only


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - SKIPPED_METHODS)


_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def openapi_path(rule: Rule, prefix: str = "") -> str:
    """`/forum/t/<int:topic_id>.json` under `/forum` -> `/t/{topic_id}.json`."""
    path = rule.rule
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :] or "/"
    return _VARIABLE.sub(r"{\1}", path)


def build_document(app: Flask) -> dict[str, Any]:
    """The description of every route of Parlor's blueprints on `app`."""
    prefix = url_prefix(app)
    discourse = data.discourse()
    by_shape = {
        (key.split(" ", 1)[0].upper(), data.shape(key.split(" ", 1)[1])): key
        for key in discourse["operations"]
    }
    routes = [
        (openapi_path(rule, prefix), method, rule)
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
        if is_ours(rule)
        for method in methods(rule)
    ]
    # operationId: the endpoint, plus the method and the path where it serves several.
    methods_of: dict[str, set[str]] = {rule.endpoint: set() for _, _, rule in routes}
    for _, method, rule in routes:
        methods_of[rule.endpoint].add(method)
    per_method = Counter((rule.endpoint, method) for _, method, rule in routes)

    paths: dict[str, dict[str, Any]] = {}
    for path, method, rule in routes:
        item = paths.setdefault(path, {})
        if method.lower() in item:  # two rules, one path: Werkzeug answers with the first
            continue
        op_id = rule.endpoint
        if len(methods_of[rule.endpoint]) > 1:
            op_id += f".{method.lower()}"
        if per_method[(rule.endpoint, method)] > 1:
            op_id += "." + re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
        twin = _discourse_key(rule, method, path, by_shape)
        item[method.lower()] = _operation(
            rule, method, app.view_functions[rule.endpoint], op_id, twin, discourse
        )

    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Parlor",
            "version": _version(),
            "description": DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": prefix or "/"}],  # the route adds PUBLIC_URL and the script root
        "tags": TAGS,
        "paths": paths,
        "components": {
            "schemas": {},
            "responses": {
                "Error": {
                    "description": "An error in Discourse's shape",
                    "content": {data.JSON: {"schema": data.ref("Error")}},
                }
            },
            "securitySchemes": _security_schemes(app),
        },
        "x-discourse-license": discourse["license"],
    }
    doc["components"]["schemas"] = _used_schemas(doc, {**discourse["schemas"], **data.SCHEMAS})
    return doc


def _discourse_key(
    rule: Rule, method: str, path: str, by_shape: dict[tuple[str, str], str]
) -> str | None:
    """The Discourse operation this API route serves, if any: by path shape, through a
    twin, or as the same route without `.json`."""
    if not rule.endpoint.startswith("api."):
        return None
    shape = data.shape(path)
    for candidate in (shape, f"{shape}.json"):
        key = (method, data.TWINS.get(candidate, candidate))
        if key in by_shape:
            return by_shape[key]
    return None


def _operation(
    rule: Rule,
    method: str,
    view: Callable[..., Any],
    op_id: str,
    twin: str | None,
    discourse: dict[str, Any],
) -> dict[str, Any]:
    blueprint = rule.endpoint.split(".", 1)[0]
    func = inspect.unwrap(view)
    summary, notes = _docstring(func)
    theirs = discourse["operations"][twin] if twin else None
    # Discourse's parts first, then Parlor's: per Discourse route, per endpoint, per method.
    parts: dict[str, Any] = {"tags": [_area(blueprint, func)]}
    if theirs:
        if "request" in theirs and method in BODY_METHODS:
            parts["requestBody"] = data.body(data.ref(theirs["request"]))
        parts["responses"] = (
            data.ok(data.ref(theirs["response"]), f"As Discourse's `{theirs['operationId']}`")
            if "response" in theirs
            else {"200": {"description": "OK"}}
        )
    overrides = (
        data.BY_DISCOURSE.get(twin or ""),
        data.BY_ENDPOINT.get(rule.endpoint),
        data.BY_ENDPOINT.get(f"{rule.endpoint} {method}"),
    )
    for override in overrides:
        for key, value in (override or {}).items():
            if key == "description":
                notes.append(value)
            else:
                parts[key] = value
    role = _role(view)
    if role:
        notes.append(ROLE_NOTES[role])

    # The view's own word first; then ours, Discourse's, and at least the endpoint.
    fallback = parts.get("summary") or (theirs and theirs["summary"])
    op: dict[str, Any] = {"tags": parts["tags"], "summary": summary or fallback or rule.endpoint}
    if notes:
        op["description"] = "\n\n".join(notes)
    op["operationId"] = op_id
    if theirs:
        op["x-discourse-operationId"] = theirs["operationId"]
    parameters = _path_parameters(rule, func) + list(parts.get("parameters") or [])
    if parameters:
        op["parameters"] = parameters
    if parts.get("requestBody"):
        op["requestBody"] = parts["requestBody"]
    responses = dict(parts.get("responses") or data.FALLBACK_RESPONSES[blueprint])
    if blueprint == "api":
        if role:
            responses.setdefault("403", ERROR)
        responses.setdefault("default", ERROR)
        op["security"] = _security(method, role)
    op["responses"] = responses
    return op


def _docstring(func: Callable[..., Any]) -> tuple[str, list[str]]:
    """The first paragraph as the summary (a sentence may wrap), the rest as notes."""
    doc = inspect.getdoc(func) or ""
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]
    return (paragraphs[0] if paragraphs else ""), paragraphs[1:]


def _area(blueprint: str, func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", "") or ""
    for start, area in AREAS:
        if module.startswith(start):
            return area
    return BLUEPRINT_AREAS.get(blueprint, blueprint)


def _role(view: Callable[..., Any]) -> str | None:
    """Who may call the view: the `parlor_role` that `auth.sessions.requires` leaves on it
    (`functools.wraps` carries it outwards through other decorators)."""
    found: set[str] = set()
    layer: Any = view
    while layer is not None:
        if role := getattr(layer, "parlor_role", None):
            found.add(role)
        layer = getattr(layer, "__wrapped__", None)
    return next((r for r in ("admin", "staff", "member") if r in found), None)


def _security(method: str, role: str | None) -> list[dict[str, list[str]]]:
    cookie: dict[str, list[str]] = {"session": []}
    if method in BODY_METHODS:
        cookie["csrfToken"] = []
    options = [cookie, {"apiKey": [], "apiUsername": []}]
    return options if role else [{}, *options]  # {}: also signed out


def _security_schemes(app: Flask) -> dict[str, Any]:
    def header(name: str, description: str) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": name, "description": description}

    return {
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": app.config.get("SESSION_COOKIE_NAME") or "session",
            "description": "The session cookie set by signing in with GitHub.",
        },
        "csrfToken": header(
            "X-CSRF-Token",
            "From `GET /session/csrf.json`; cookie-authenticated writes need it (or an "
            "`authenticity_token` form field).",
        ),
        "apiKey": header("Api-Key", "An API key (`forum api-key create`); no CSRF token needed."),
        "apiUsername": header(
            "Api-Username", "The member the key acts as (any member for an all-users key)."
        ),
    }


def _path_parameters(rule: Rule, func: Callable[..., Any]) -> list[dict[str, Any]]:
    converters: dict[str, BaseConverter] = getattr(rule, "_converters", {})
    names = _VARIABLE.findall(rule.rule)
    return [
        {"name": n, "in": "path", "required": True, "schema": _schema(converters.get(n), n, func)}
        for n in names
    ]


def _schema(converter: BaseConverter | None, name: str, func: Callable[..., Any]) -> dict[str, Any]:
    if isinstance(converter, AnyConverter):
        return {"type": "string", "enum": sorted(converter.items)}
    if isinstance(converter, IntegerConverter | FloatConverter):
        schema: dict[str, Any] = {
            "type": "integer" if isinstance(converter, IntegerConverter) else "number"
        }
        low = getattr(converter, "min", None)
        if low is None and not getattr(converter, "signed", False):
            low = 0
        if low is not None:
            schema["minimum"] = low
        if getattr(converter, "max", None) is not None:
            schema["maximum"] = converter.max  # type: ignore[attr-defined]
        return schema
    if isinstance(converter, UUIDConverter):
        return {"type": "string", "format": "uuid"}
    allowed = getattr(func, "__globals__", {}).get(CHOICES.get(name, ""))
    if isinstance(allowed, tuple | list | frozenset | set) and allowed:
        return {"type": "string", "enum": list(allowed)}
    return {"type": "string"}


_REF = re.compile(r"^#/components/schemas/(.+)$")


def _used_schemas(doc: dict[str, Any], available: dict[str, Any]) -> dict[str, Any]:
    """Only the schemas the paths refer to, directly or through other schemas."""
    used: dict[str, Any] = {}
    pending = [doc["paths"], doc["components"]["responses"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            match = _REF.match(str(node.get("$ref", "")))
            if match and match.group(1) not in used and match.group(1) in available:
                used[match.group(1)] = available[match.group(1)]
                pending.append(available[match.group(1)])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return dict(sorted(used.items()))


def _version() -> str:
    try:
        return metadata.version("parlor")
    except metadata.PackageNotFoundError:
        return "0"
