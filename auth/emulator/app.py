"""A local stand-in for github.com's OAuth and REST endpoints, for development and tests.

It runs as its own process (an emulator inside Parlor's process would deadlock a single
sync worker) and never sets a cookie: cookies ignore ports, so one set on 127.0.0.1:5001
would overwrite Parlor's session on 127.0.0.1:5000.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask, Response, abort, current_app, redirect, render_template_string, request

from .accounts import ACCOUNTS, Account, emails_json, find_account, user_json
from .avatar import avatar_png

DEFAULTS: dict[str, Any] = {
    "AUTO_APPROVE": True,
    "CLIENT_ID": "parlor-dev",
    "CLIENT_SECRET": "parlor-dev-secret",
    "CODE_TTL": 600,  # seconds, as on GitHub
}

_AUTHORIZE_FIELDS = (
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)
_EXCHANGE_ERRORS_DOCS = (
    "https://docs.github.com/apps/managing-oauth-apps/"
    "troubleshooting-oauth-app-access-token-request-errors/"
)
_TOKEN_ERRORS = {
    "incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
    "redirect_uri_mismatch": (
        "The redirect_uri MUST match the registered callback URL for this application."
    ),
    "bad_verification_code": "The code passed is incorrect or expired.",
}
_DENIED_URI = (
    "https://docs.github.com/apps/managing-oauth-apps/"
    "troubleshooting-authorization-request-errors/#access-denied"
)
_EMAILS_DOCS = (
    "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user"
)
# RFC 7636: an S256 challenge is the unpadded base64url of a SHA-256 digest; a verifier is
# 43-128 unreserved characters.
_CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_VERIFIER_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_RATE_WINDOW = 3600


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    login: str
    scope: str
    code_challenge: str
    expires_at: float


@dataclass(frozen=True)
class _Token:
    client_id: str
    login: str
    scope: str


class _Store:
    """Codes, tokens and rate-limit counters, shared by the server's threads."""

    def __init__(self, code_ttl: float) -> None:
        self._lock = threading.Lock()
        self._ttl = code_ttl
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, _Token] = {}
        self._usage: dict[str, tuple[int, int]] = {}  # key -> (reset epoch, used)

    def issue_code(
        self, client_id: str, redirect_uri: str, login: str, scope: str, code_challenge: str
    ) -> str:
        code = secrets.token_urlsafe(20)
        now = time.monotonic()
        grant = _Grant(client_id, redirect_uri, login, scope, code_challenge, now + self._ttl)
        with self._lock:
            # Drop expired codes here so an abandoned flow cannot make the dict grow forever.
            self._codes = {c: g for c, g in self._codes.items() if g.expires_at > now}
            self._codes[code] = grant
        return code

    def take_code(self, code: str) -> _Grant | None:
        """Consume a code: whatever happens next, it cannot be used again."""
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires_at <= time.monotonic():
            return None
        return grant

    def issue_token(self, grant: _Grant) -> str:
        token = "gho_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36))
        with self._lock:
            self._tokens[token] = _Token(grant.client_id, grant.login, grant.scope)
        return token

    def token(self, token: str) -> _Token | None:
        with self._lock:
            return self._tokens.get(token)

    def count(self, key: str) -> tuple[int, int]:
        """Count one request against `key`'s hourly window; return (used, reset epoch)."""
        now = int(time.time())
        with self._lock:
            reset, used = self._usage.get(key, (0, 0))
            if now >= reset:
                reset, used = now + _RATE_WINDOW, 0
            self._usage[key] = (reset, used + 1)
        return used + 1, reset


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }} · GitHub emulator</title><link rel="icon" href="data:,">
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}
ul{list-style:none;padding:0}li{display:flex;gap:.75rem;align-items:center;margin:.6rem 0}
img{border-radius:50%}form{margin:0}
</style></head><body>
<h1>{{ title }}</h1>
{% if message %}<p>{{ message }}</p>{% else %}
{% macro hidden(extra) %}{% for k, v in params.items() %}
<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}{% for k, v in extra.items() %}
<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}{% endmacro %}
<p><strong>{{ params.client_id }}</strong> wants to sign you in
{%- if params.scope %} with the scopes <code>{{ params.scope }}</code>{% endif %}.</p>
{% if hint %}<p>There is no account <code>{{ hint }}</code> here; pick one.</p>{% endif %}
<ul>{% for a in accounts %}<li>
<img src="{{ url_for('avatar', login=a.login) }}" width="40" height="40" alt="">
<form method="post" action="{{ url_for('authorize') }}">
{{- hidden({"login": a.login, "decision": "approve"}) }}
<button type="submit">Authorize as {{ a.login }}</button></form>
<span>{{ a.name or "" }}</span></li>{% endfor %}</ul>
<form method="post" action="{{ url_for('authorize') }}">{{ hidden({"decision": "deny"}) }}
<button type="submit">Deny</button></form>
{% endif %}</body></html>"""


def _store() -> _Store:
    return current_app.extensions["github_emulator"]


def _base() -> str:
    return request.host_url.rstrip("/")


def _page(title: str, status: int = 200, **context: Any) -> Response:
    # render_template_string autoescapes, so state, client_id etc. are safe to echo.
    html = render_template_string(_PAGE, title=title, **context)
    return Response(html, status, content_type="text/html; charset=utf-8")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # GitHub sends raw UTF-8 (no \\u escapes) with an explicit charset.
    body = json.dumps(data, ensure_ascii=False)
    return Response(body, status, headers, content_type="application/json; charset=utf-8")


def _redirect_with(uri: str, params: dict[str, str]) -> Response:
    """Redirect to `uri` with `params` appended to whatever query it already has."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return redirect(urlunsplit(parts._replace(query=urlencode(query))), 302)


def _with_state(params: dict[str, str], state: str) -> dict[str, str]:
    return {**params, "state": state} if state else params


def _normalise_scope(scope: str) -> str:
    # Requests separate scopes with spaces (or commas); GitHub reports them comma-separated.
    return ",".join(dict.fromkeys(s for s in re.split(r"[\s,]+", scope) if s))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _authorize_params() -> dict[str, str] | Response:
    """The validated authorize parameters, or the response that rejects them."""
    params = {k: request.values.get(k, "") for k in _AUTHORIZE_FIELDS}
    if not _same(params["client_id"], current_app.config["CLIENT_ID"]):
        return _page("Unknown application", 400, message="No application has this client_id.")
    uri = urlsplit(params["redirect_uri"])
    if uri.scheme not in ("http", "https") or not uri.netloc:
        return _page(
            "Bad redirect_uri", 400, message="redirect_uri must be an absolute http(s) URL."
        )
    challenge = params["code_challenge"]
    # Only S256 is accepted; a method is ignored when there is no challenge at all.
    s256 = params["code_challenge_method"] == "S256" and _CHALLENGE_RE.fullmatch(challenge)
    if challenge and not s256:
        error = {"error": "invalid_request", "error_description": "PKCE requires S256."}
        return _redirect_with(params["redirect_uri"], _with_state(error, params["state"]))
    return params


def _approve(params: dict[str, str], account: Account) -> Response:
    code = _store().issue_code(
        params["client_id"],
        params["redirect_uri"],
        account.login,
        _normalise_scope(params["scope"]),
        params["code_challenge"],
    )
    return _redirect_with(params["redirect_uri"], _with_state({"code": code}, params["state"]))


def _picker(params: dict[str, str], hint: str = "", status: int = 200) -> Response:
    return _page(
        "Sign in to GitHub",
        status,
        params=params,
        hint=hint,
        accounts=list(ACCOUNTS.values()),
    )


def _token_reply(data: dict[str, str]) -> Response:
    # GitHub answers form-encoded unless asked for JSON, and errors with HTTP 200.
    headers = {"Cache-Control": "no-store"}
    if any(mime == "application/json" for mime, _ in request.accept_mimetypes):
        return _json(data, headers=headers)
    return Response(
        urlencode(data),
        headers=headers,
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )


def _token_error(error: str) -> Response:
    return _token_reply(
        {
            "error": error,
            "error_description": _TOKEN_ERRORS[error],
            "error_uri": _EXCHANGE_ERRORS_DOCS + "#" + error.replace("_", "-"),
        }
    )


def _pkce_ok(verifier: str, challenge: str) -> bool:
    if not _VERIFIER_RE.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return _same(base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), challenge)


def _api(builder: Callable[[Account], Any], *, needs_email_scope: bool = False) -> Response:
    """Authenticate an API call, apply GitHub's status codes and rate-limit headers."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    token = _store().token(value.strip()) if scheme.lower() in ("bearer", "token") else None
    # Counted, never enforced: tests make many calls, and nothing here needs throttling.
    if token:
        limit, key = 5000, "token:" + value.strip()
    else:
        limit, key = 60, f"ip:{request.remote_addr}"
    used, reset = _store().count(key)
    headers = {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(max(0, limit - used)),
        "x-ratelimit-reset": str(reset),
        "x-ratelimit-used": str(used),
        "x-ratelimit-resource": "core",
    }
    if token is None:
        body = {
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        }
        return _json(body, 401, headers)
    scopes = token.scope.split(",") if token.scope else []
    headers["x-oauth-scopes"] = ", ".join(scopes)
    # For OAuth tokens lacking the scope GitHub hides the resource rather than answer 403.
    if needs_email_scope and not {"user", "user:email"} & set(scopes):
        body = {"message": "Not Found", "documentation_url": _EMAILS_DOCS, "status": "404"}
        return _json(body, 404, headers)
    return _json(builder(ACCOUNTS[token.login]), 200, headers)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the emulator app. Config: AUTO_APPROVE, CLIENT_ID, CLIENT_SECRET, CODE_TTL."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    app.extensions["github_emulator"] = _Store(float(app.config["CODE_TTL"]))

    @app.after_request
    def no_cookies(response: Response) -> Response:
        # Defensive: a cookie from here would clobber Parlor's session on the same host.
        response.headers.remove("Set-Cookie")
        response.vary.discard("Cookie")
        return response

    @app.get("/login/oauth/authorize")
    def authorize() -> Response:
        params = _authorize_params()
        if isinstance(params, Response):
            return params
        hint = request.args.get("login", "")
        account = find_account(hint)
        forced = request.args.get("prompt") == "select_account"
        if account and app.config["AUTO_APPROVE"] and not forced:
            return _approve(params, account)
        return _picker(params, "" if account else hint)

    @app.post("/login/oauth/authorize")
    def decide() -> Response:
        params = _authorize_params()
        if isinstance(params, Response):
            return params
        decision = request.form.get("decision")
        if decision == "deny":
            denied = {
                "error": "access_denied",
                "error_description": "The user has denied your application access.",
                "error_uri": _DENIED_URI,
            }
            return _redirect_with(params["redirect_uri"], _with_state(denied, params["state"]))
        account = find_account(request.form.get("login"))
        if decision == "approve" and account:
            return _approve(params, account)
        return _picker(params, request.form.get("login", ""), 400)

    @app.post("/login/oauth/access_token")
    def access_token() -> Response:
        # GitHub reads these from the query string, a form or a JSON body.
        body = request.get_json(silent=True)
        data = {**request.args, **request.form, **(body if isinstance(body, dict) else {})}
        names = ("client_id", "client_secret", "code", "redirect_uri", "code_verifier")
        field = {k: str(data.get(k) or "") for k in names}
        if request.authorization and request.authorization.type == "basic":
            # GitHub also takes the client credentials as HTTP Basic auth.
            field["client_id"] = request.authorization.username or ""
            field["client_secret"] = request.authorization.password or ""
        cfg = app.config
        if not (
            _same(field["client_id"], cfg["CLIENT_ID"])
            and _same(field["client_secret"], cfg["CLIENT_SECRET"])
        ):
            return _token_error("incorrect_client_credentials")
        grant = _store().take_code(field["code"])
        if grant is None or grant.client_id != field["client_id"]:
            return _token_error("bad_verification_code")
        # Like GitHub, redirect_uri is optional here, but must match when it is sent.
        if field["redirect_uri"] and field["redirect_uri"] != grant.redirect_uri:
            return _token_error("redirect_uri_mismatch")
        if grant.code_challenge and not _pkce_ok(field["code_verifier"], grant.code_challenge):
            return _token_error("bad_verification_code")
        token = _store().issue_token(grant)
        return _token_reply({"access_token": token, "token_type": "bearer", "scope": grant.scope})

    @app.get("/user")
    def user() -> Response:
        base = _base()
        return _api(lambda account: user_json(account, base))

    @app.get("/user/emails")
    def user_emails() -> Response:
        return _api(emails_json, needs_email_scope=True)

    @app.get("/avatars/<login>.png")
    def avatar(login: str) -> Response:
        account = find_account(login)
        if account is None:
            abort(404)
        size = min(max(request.args.get("s", 120, type=int), 1), 460)
        headers = {"Cache-Control": "public, max-age=300"}
        return Response(avatar_png(account.login, size), headers=headers, mimetype="image/png")

    @app.get("/<login>")
    def profile(login: str) -> Response:
        # The html_url of /user points here, so a "view on GitHub" link does not 404.
        account = find_account(login)
        if account is None:
            abort(404)
        return _page(account.name or account.login, message=f"@{account.login}")

    return app
