"""Sign-in with GitHub end to end through the Flask routes (P1-P3), GitHub faked by
`responses`: what is stored, what is never stored, sessions, failures, refresh, usernames
and avatars."""

from __future__ import annotations

import base64
import hashlib
import io
import ipaddress
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from conftest import GITHUB, GITHUB_API, make_user
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from forum.db import db
from forum.users.models import Avatar, SignInEvent, User

TOKEN_URL = f"{GITHUB}/login/oauth/access_token"
AUTHORIZE_URL = f"{GITHUB}/login/oauth/authorize"
AVATARS = "https://avatars.github.test"
GITHUB_ID = 583231
IP = "203.0.113.7"
UA = "Mozilla/5.0 (X11; Linux x86_64) ParlorTest/1.0"

RED, BLUE = (220, 20, 30), (10, 40, 200)


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


class FakeGitHub:
    """GitHub's OAuth and REST endpoints, with state a test can change between sign-ins.

    Like GitHub, codes are single use, the PKCE verifier must match the challenge the
    browser brought, and the API only answers tokens it issued."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        self.user: dict[str, Any] = {
            "login": "octocat",
            "id": GITHUB_ID,
            "name": "Mona Lisa Octocat",
            "avatar_url": f"{AVATARS}/u/{GITHUB_ID}?v=4",
            "html_url": "https://github.test/octocat",
            "type": "User",
            "bio": None,
            "company": None,
            "location": None,
            "blog": "",
            "twitter_username": None,
        }
        self.emails: list[dict[str, Any]] = [
            {"email": "octocat@example.com", "primary": True, "verified": True},
        ]
        self.avatar: tuple[int, str, bytes] | Exception = (200, "image/png", png(RED))
        self.token_reply: dict[str, Any] | None = None  # overrides the token answer
        self.grants: dict[str, str | None] = {}  # code -> code_challenge
        self.tokens: list[str] = []
        rsps.add_callback(responses.POST, TOKEN_URL, callback=self._token)
        rsps.add_callback(responses.GET, f"{GITHUB_API}/user", callback=self._user)
        rsps.add_callback(responses.GET, f"{GITHUB_API}/user/emails", callback=self._emails)
        rsps.add_callback(responses.GET, re.compile(re.escape(AVATARS) + r"/.*"), self._picture)

    def approve(self, authorize_query: dict[str, list[str]]) -> str:
        """The person clicked "Authorize": the code GitHub puts in the callback URL."""
        code = secrets.token_hex(10)
        self.grants[code] = (authorize_query.get("code_challenge") or [None])[0]
        return code

    def calls_to(self, url_prefix: str) -> int:
        return sum(1 for c in self.rsps.calls if c.request.url.startswith(url_prefix))

    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self.token_reply is not None:
            return 200, {"Content-Type": "application/json"}, json.dumps(self.token_reply)
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        form = {k: v[0] for k, v in parse_qs(body).items()}
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            form["client_id"], _, form["client_secret"] = (
                base64.b64decode(basic[6:]).decode().partition(":")
            )
        if (form.get("client_id"), form.get("client_secret")) != (
            "test-client",
            "test-secret-value",
        ):
            return self._error("incorrect_client_credentials")
        code = form.get("code", "")
        if code not in self.grants:
            return self._error("bad_verification_code")
        challenge = self.grants.pop(code)
        if challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
                return self._error("bad_verification_code")
        token = "gho_" + secrets.token_urlsafe(27)
        self.tokens.append(token)
        reply = {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}
        return 200, {"Content-Type": "application/json"}, json.dumps(reply)

    @staticmethod
    def _error(error: str) -> tuple[int, dict[str, str], str]:
        body = {"error": error, "error_description": error.replace("_", " ")}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _authorised(self, request: Any) -> bool:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ").removeprefix("token ") in self.tokens

    def _user(self, request: Any) -> tuple[int, dict[str, str], str]:
        if not self._authorised(request):
            return 401, {}, json.dumps({"message": "Bad credentials"})
        return 200, {"Content-Type": "application/json"}, json.dumps(self.user)

    def _emails(self, request: Any) -> tuple[int, dict[str, str], str]:
        if not self._authorised(request):
            return 401, {}, json.dumps({"message": "Bad credentials"})
        return 200, {"Content-Type": "application/json"}, json.dumps(self.emails)

    def _picture(self, _request: Any) -> tuple[int, dict[str, str], bytes]:
        if isinstance(self.avatar, Exception):
            raise self.avatar
        status, content_type, body = self.avatar
        return status, {"Content-Type": content_type}, body


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeGitHub(rsps)


# ------------------------------------------------------------------------------ helpers


def start(client: FlaskClient, **params: str) -> dict[str, list[str]]:
    r = client.get("/auth/github/login", query_string=params)
    assert r.status_code == 302, r.get_data(as_text=True)
    location = r.headers["Location"]
    assert location.startswith(AUTHORIZE_URL + "?"), location
    q = parse_qs(urlsplit(location).query)
    assert q["state"][0] and q["code_challenge"][0]
    return q


def callback_url(client: FlaskClient, github: FakeGitHub, **params: str) -> str:
    q = start(client, **params)
    code = github.approve(q)
    return f"/auth/github/callback?code={code}&state={q['state'][0]}"


def sign_in(
    client: FlaskClient,
    github: FakeGitHub,
    *,
    ip: str = IP,
    ua: str = UA,
    headers: dict[str, str] | None = None,
    **params: str,
) -> Any:
    url = callback_url(client, github, **params)
    return finish(client, url, ip=ip, ua=ua, headers=headers)


def finish(
    client: FlaskClient,
    url: str,
    *,
    ip: str = IP,
    ua: str = UA,
    headers: dict[str, str] | None = None,
) -> Any:
    return client.get(
        url,
        environ_base={"REMOTE_ADDR": ip},
        headers={"User-Agent": ua, **(headers or {})},
    )


def current(client: FlaskClient) -> Any:
    return client.get("/session/current.json")


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(User)) or 0,
            db.session.scalar(select(func.count()).select_from(SignInEvent)) or 0,
            db.session.scalar(select(func.count()).select_from(Avatar)) or 0,
        )


def the_member(app: Flask, github_id: int = GITHUB_ID) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.github_id == github_id))
        assert user is not None
        db.session.expunge(user)
        return user


def stored_values(app: Flask) -> list[tuple[str, str, Any]]:
    """Every value in every column of every table: (table, column, value)."""
    found: list[tuple[str, str, Any]] = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings():
                found.extend((table.name, column, value) for column, value in row.items())
    return found


def tables_containing(app: Flask, needle: str) -> list[tuple[str, str]]:
    hits = []
    raw = needle.encode()
    for table, column, value in stored_values(app):
        if isinstance(value, memoryview):
            value = value.tobytes()
        if isinstance(value, bytes | bytearray):
            hit = raw in value
        else:
            hit = needle.lower() in str(value).lower()
        if hit:
            hits.append((table, column))
    return hits


def session_data(app: Flask, client: FlaskClient) -> dict[str, Any]:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return dict(app.session_interface.get_signing_serializer(app).loads(cookie.value))  # type: ignore[attr-defined]


def remember_cookie_name(app: Flask) -> str:
    return app.config.get("REMEMBER_COOKIE_NAME", "remember_token")


def assert_failure_page(r: Any, status: int, *phrases: str) -> str:
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "text/html"
    text = r.get_data(as_text=True)
    assert "<h1>" in text
    for phrase in phrases:
        assert phrase.lower() in text.lower(), (phrase, text)
    return text


def assert_nothing_stored(app: Flask, client: FlaskClient) -> None:
    assert counts(app) == (0, 0, 0)
    assert current(client).status_code == 404


# ----------------------------------------------------------------------------- success


def test_sign_in_creates_the_member(app: Flask, client: FlaskClient, github: FakeGitHub) -> None:
    r = sign_in(client, github, headers={"X-Forwarded-For": "198.51.100.99"})
    assert r.status_code == 302
    assert r.headers["Location"] == "/"

    user = the_member(app)
    assert user.github_id == GITHUB_ID
    assert user.username == "octocat"
    assert user.username_lower == "octocat"
    assert (user.first_name, user.last_name) == ("Mona", "Lisa Octocat")
    assert user.email == "octocat@example.com"
    assert user.role == "member"
    assert user.last_seen_at is not None

    with app.app_context():
        events = db.session.scalars(select(SignInEvent)).all()
        assert len(events) == 1
        # REMOTE_ADDR; X-Forwarded-For is not believed without a trusted proxy.
        assert events[0].ip == ipaddress.ip_address(IP)
        assert events[0].user_agent == UA
        assert events[0].user_id == user.id
        avatar = db.session.get(Avatar, user.id)
        assert avatar is not None and avatar.content_type == "image/png"

    me = current(client)
    assert me.status_code == 200
    body = me.get_json()["current_user"]
    assert body["id"] == user.id
    assert body["username"] == "octocat"
    assert body["name"] == "Mona Lisa Octocat"
    assert "email" not in me.get_data(as_text=True)
    assert "octocat@example.com" not in me.get_data(as_text=True)
    template = body["avatar_template"]
    assert "{size}" in template
    assert template.startswith("/user_avatar/")
    picture = client.get(template.replace("{size}", "120"))
    assert picture.status_code == 200
    assert picture.mimetype == "image/png"
    with Image.open(io.BytesIO(picture.data)) as img:
        assert img.format == "PNG"
        assert img.width == img.height
        assert img.convert("RGB").getpixel((img.width // 2, img.height // 2)) == RED


def test_sign_in_sends_the_state_verifier_and_login_hint(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    q = start(client, login="octocat")
    assert q["login"] == ["octocat"]
    assert q["client_id"] == ["test-client"]
    assert q["scope"] == ["read:user user:email"]
    assert q["code_challenge_method"] == ["S256"]
    assert q["redirect_uri"][0].endswith("/auth/github/callback")
    code = github.approve(q)
    # The fake checks the PKCE verifier against this challenge: a wrong one fails sign-in.
    r = finish(client, f"/auth/github/callback?code={code}&state={q['state'][0]}")
    assert r.status_code == 302
    assert current(client).status_code == 200


@pytest.mark.parametrize("target", ["/", "/latest", "/t/some-topic/12?page=2", "/u/octocat#top"])
def test_redirect_to_a_same_site_next(
    app: Flask, client: FlaskClient, github: FakeGitHub, target: str
) -> None:
    r = sign_in(client, github, next=target)
    assert r.status_code == 302
    assert r.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "http:/evil.example",
        "",
    ],
)
def test_next_off_site_redirects_home(
    app: Flask, client: FlaskClient, github: FakeGitHub, target: str
) -> None:
    r = sign_in(client, github, next=target)
    assert r.status_code == 302
    assert r.headers["Location"] == "/"
    assert current(client).status_code == 200


def test_the_token_is_never_kept(app: Flask, client: FlaskClient, github: FakeGitHub) -> None:
    csrf_before = client.get("/session/csrf.json").get_json()["csrf"]
    assert csrf_before
    assert sign_in(client, github, remember="1").status_code == 302
    assert len(github.tokens) == 1
    token = github.tokens[0]

    session = session_data(app, client)
    assert "_user_id" in session  # it is the signed-in session we decoded
    assert token not in repr(session)
    for cookie_name in (app.config["SESSION_COOKIE_NAME"], remember_cookie_name(app)):
        cookie = client.get_cookie(cookie_name)
        assert cookie is not None
        assert token not in cookie.value
    assert tables_containing(app, token) == []
    # And the same scan finds what is stored, so it would find the token if it were there.
    assert ("users", "email") in tables_containing(app, "octocat@example.com")


def test_nothing_else_from_github_is_stored(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    markers = {
        "bio": "zq-marker-bio-7731",
        "company": "zq-marker-company-7732",
        "location": "zq-marker-location-7733",
        "blog": "https://zq-marker-blog-7734.example",
        "twitter_username": "zq_marker_twitter_7735",
        "node_id": "zq-marker-node-7736",
        "email": "zq-marker-public-7737@example.com",
        "gravatar_id": "zq-marker-gravatar-7738",
    }
    github.user.update(markers)
    github.user["plan"] = {"name": "zq-marker-plan-7739"}
    github.emails.append(
        {"email": "zq-marker-secondary-7740@example.com", "primary": False, "verified": True}
    )
    assert sign_in(client, github).status_code == 302
    assert the_member(app).email == "octocat@example.com"

    for needle in [*markers.values(), "zq-marker-plan-7739", "zq-marker-secondary-7740"]:
        assert tables_containing(app, needle) == [], needle
    session = repr(session_data(app, client))
    assert "zq-marker" not in session
    assert "octocat@example.com" not in session


def test_session_is_rotated_at_sign_in(app: Flask, client: FlaskClient, github: FakeGitHub) -> None:
    csrf_before = client.get("/session/csrf.json").get_json()["csrf"]
    with client.session_transaction() as sess:
        sess["planted_before_sign_in"] = "x"
    assert sign_in(client, github).status_code == 302

    session = session_data(app, client)
    assert "planted_before_sign_in" not in session
    assert "_github_oauth" not in session
    csrf_after = client.get("/session/csrf.json").get_json()["csrf"]
    assert csrf_after != csrf_before

    # The token from before sign-in is worthless now; the new one works.
    r = client.delete("/session/current.json", headers={"X-CSRF-Token": csrf_before})
    assert r.status_code == 403
    assert current(client).status_code == 200
    r = client.delete("/session/current.json", headers={"X-CSRF-Token": csrf_after})
    assert r.status_code == 200


@pytest.mark.parametrize(("remember", "expected"), [(None, False), ("1", True)])
def test_remember_cookie_only_when_asked(
    app: Flask, client: FlaskClient, github: FakeGitHub, remember: str | None, expected: bool
) -> None:
    params = {"remember": remember} if remember else {}
    r = sign_in(client, github, **params)
    assert r.status_code == 302
    name = remember_cookie_name(app)
    assert (client.get_cookie(name) is not None) is expected
    set_cookies = " ".join(r.headers.getlist("Set-Cookie"))
    assert (f"{name}=" in set_cookies) is expected
    assert current(client).status_code == 200


def test_remember_cookie_signs_the_member_back_in(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    assert sign_in(client, github, remember="1").status_code == 302
    remember = client.get_cookie(remember_cookie_name(app))
    assert remember is not None
    fresh = app.test_client()
    fresh.set_cookie(remember_cookie_name(app), remember.value)
    assert current(fresh).status_code == 200


# -------------------------------------------------------------------------- refusals


def test_unverified_primary_email_is_refused_and_nothing_stored(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    github.user["login"] = "noverify"
    github.emails[:] = [
        {"email": "noverify@example.com", "primary": True, "verified": False},
        {"email": "noverify-other@example.com", "primary": False, "verified": True},
    ]
    r = sign_in(client, github)
    text = assert_failure_page(r, 403, "verif", "GitHub")
    assert "not verified" in text
    assert_nothing_stored(app, client)
    assert github.calls_to(AVATARS) == 0
    assert tables_containing(app, "noverify") == []


def test_callback_without_a_state_is_refused(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    q = start(client)
    code = github.approve(q)
    r = finish(client, f"/auth/github/callback?code={code}")
    assert_failure_page(r, 400, "expired or was already used")
    assert_nothing_stored(app, client)
    assert github.calls_to(TOKEN_URL) == 0


def test_callback_with_a_mismatched_state_is_refused(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    q = start(client)
    code = github.approve(q)
    r = finish(client, f"/auth/github/callback?code={code}&state=not-{q['state'][0]}")
    assert_failure_page(r, 400, "expired or was already used")
    assert_nothing_stored(app, client)
    assert github.calls_to(TOKEN_URL) == 0
    # The pending sign-in was spent by the failed attempt: the right state no longer works.
    r = finish(client, f"/auth/github/callback?code={code}&state={q['state'][0]}")
    assert r.status_code == 400
    assert_nothing_stored(app, client)


def test_a_callback_url_works_only_once(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    url = callback_url(client, github)
    assert finish(client, url).status_code == 302
    assert github.calls_to(TOKEN_URL) == 1
    r = finish(client, url)
    assert_failure_page(r, 400, "expired or was already used")
    assert github.calls_to(TOKEN_URL) == 1
    assert counts(app)[1] == 1  # one sign-in event, not two

    # Replayed in another browser, it is no better.
    other = app.test_client()
    r = finish(other, url)
    assert r.status_code == 400
    assert current(other).status_code == 404


def test_callback_without_a_prior_login_is_refused(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    elsewhere = app.test_client()
    url = callback_url(elsewhere, github)  # a real state, from another browser's session
    r = finish(client, url)
    assert_failure_page(r, 400, "expired or was already used")
    assert_nothing_stored(app, client)
    assert github.calls_to(TOKEN_URL) == 0


def test_callback_with_a_stale_pending_sign_in_is_refused(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    url = callback_url(client, github)
    with client.session_transaction() as sess:
        pending = dict(sess["_github_oauth"])
        pending["at"] -= 3600
        sess["_github_oauth"] = pending
    r = finish(client, url)
    assert_failure_page(r, 400, "expired")
    assert_nothing_stored(app, client)


def test_access_denied_on_github(app: Flask, client: FlaskClient, github: FakeGitHub) -> None:
    q = start(client)
    r = finish(
        client,
        "/auth/github/callback?error=access_denied"
        "&error_description=The+user+has+denied+your+application+access."
        f"&state={q['state'][0]}",
    )
    assert_failure_page(r, 403, "did not allow", "Nothing was stored")
    assert_nothing_stored(app, client)
    assert github.calls_to(TOKEN_URL) == 0


def test_other_errors_from_github_on_the_callback(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    q = start(client)
    r = finish(client, f"/auth/github/callback?error=application_suspended&state={q['state'][0]}")
    assert_failure_page(r, 403, "GitHub refused", "Nothing was stored")
    assert_nothing_stored(app, client)
    assert github.calls_to(TOKEN_URL) == 0


@pytest.mark.parametrize(
    ("error", "status", "phrase"),
    [
        ("bad_verification_code", 400, "expired or was already used"),
        ("redirect_uri_mismatch", 502, "tell the forum's operators"),
        ("incorrect_client_credentials", 502, "tell the forum's operators"),
        ("unverified_user_email", 403, "not verified"),
    ],
)
def test_a_code_github_rejects(
    app: Flask, client: FlaskClient, github: FakeGitHub, error: str, status: int, phrase: str
) -> None:
    """The member's problems say "start again"; the operator's say "tell the operators"."""
    q = start(client)
    github.approve(q)
    github.token_reply = {"error": error, "error_description": "The code is wrong."}
    r = finish(client, f"/auth/github/callback?code=forged-code&state={q['state'][0]}")
    text = assert_failure_page(r, status, "Nothing was stored")
    assert phrase in text.replace("&#39;", "'")
    assert_nothing_stored(app, client)
    assert github.calls_to(f"{GITHUB_API}/user") == 0


def test_a_code_with_the_wrong_verifier_is_rejected(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    q = start(client)
    code = github.approve(q)
    github.grants[code] = "a-challenge-from-some-other-browser"
    r = finish(client, f"/auth/github/callback?code={code}&state={q['state'][0]}")
    assert_failure_page(r, 400, "Nothing was stored")
    assert_nothing_stored(app, client)


@pytest.mark.parametrize(
    ("failure", "status", "phrase"),
    [
        ({"status": 502, "body": "bad gateway"}, 502, "not available"),
        ({"body": requests.exceptions.ReadTimeout("slow")}, 504, "did not answer in time"),
        (
            {"status": 429, "json": {"message": "slow down"}, "headers": {"Retry-After": "42"}},
            503,
            "limiting",
        ),
        ({"status": 404, "json": {"message": "Not Found"}}, 403, "e-mail"),
    ],
)
def test_github_failing_at_the_api_gives_a_clear_page(
    app: Flask,
    client: FlaskClient,
    github: FakeGitHub,
    failure: dict[str, Any],
    status: int,
    phrase: str,
) -> None:
    github.rsps.replace(responses.GET, f"{GITHUB_API}/user/emails", **failure)
    r = sign_in(client, github)
    assert_failure_page(r, status, phrase, "Nothing was stored")
    if status == 503:
        assert r.headers["Retry-After"] == "42"
    assert_nothing_stored(app, client)


# --------------------------------------------------------------- refresh at next sign-in


def test_profile_is_refreshed_at_the_next_sign_in(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    assert sign_in(client, github).status_code == 302
    before = the_member(app)
    first_template = current(client).get_json()["current_user"]["avatar_template"]

    github.user.update(
        {
            "login": "octocat-renamed",
            "name": "Renée Øster-Ålund",
            "avatar_url": f"{AVATARS}/u/{GITHUB_ID}?v=5",
        }
    )
    github.emails[:] = [{"email": "new@example.com", "primary": True, "verified": True}]
    github.avatar = (200, "image/png", png(BLUE))
    again = app.test_client()
    assert sign_in(again, github).status_code == 302

    after = the_member(app)
    assert after.id == before.id
    assert counts(app) == (1, 2, 1)
    assert after.username == "octocat-renamed"
    assert (after.first_name, after.last_name) == ("Renée", "Øster-Ålund")
    assert after.email == "new@example.com"
    assert tables_containing(app, "octocat@example.com") == []

    template = current(again).get_json()["current_user"]["avatar_template"]
    assert template != first_template
    assert "/octocat-renamed/" in template
    picture = again.get(template.replace("{size}", "45"))
    assert picture.status_code == 200
    with Image.open(io.BytesIO(picture.data)) as img:
        assert img.convert("RGB").getpixel((img.width // 2, img.height // 2)) == BLUE


def test_names_corrected_in_parlor_are_kept(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    assert sign_in(client, github).status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.github_id == GITHUB_ID))
        assert user is not None
        user.first_name, user.last_name, user.names_locked = "Mona Lisa", "Octocat", True
        db.session.commit()

    github.user.update({"name": "Somebody Else", "login": "monalisa"})
    github.emails[:] = [{"email": "mona@example.com", "primary": True, "verified": True}]
    assert sign_in(app.test_client(), github).status_code == 302

    user = the_member(app)
    assert (user.first_name, user.last_name) == ("Mona Lisa", "Octocat")
    # Everything else is still refreshed.
    assert user.username == "monalisa"
    assert user.email == "mona@example.com"


# ------------------------------------------------------------------------------ usernames


@pytest.mark.parametrize(
    ("login", "expected"),
    [("admin", "admin1"), ("Anonymous", "Anonymous1"), ("Support", "Support1")],
)
def test_reserved_logins_get_a_readable_alternative(
    app: Flask, client: FlaskClient, github: FakeGitHub, login: str, expected: str
) -> None:
    github.user["login"] = login
    assert sign_in(client, github).status_code == 302
    user = the_member(app)
    assert user.username == expected
    assert user.github_id == GITHUB_ID
    assert current(client).get_json()["current_user"]["username"] == expected

    # Signing in again keeps the same alternative rather than inventing another.
    assert sign_in(app.test_client(), github).status_code == 302
    assert the_member(app).username == expected
    assert counts(app)[0] == 1


def test_reserved_login_skips_alternatives_already_taken(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    with app.app_context():
        make_user("admin1")
    github.user["login"] = "admin"
    assert sign_in(client, github).status_code == 302
    assert the_member(app).username == "admin2"


def test_a_login_held_by_another_account(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    # Someone signed in as "octocat" long ago, then renamed themselves on GitHub; the
    # login now belongs to a different GitHub account.
    with app.app_context():
        old = make_user("octocat")
        old_id, old_github_id = old.id, old.github_id
    assert old_github_id is not None and old_github_id != GITHUB_ID

    assert sign_in(client, github).status_code == 302
    newcomer = the_member(app)
    assert newcomer.username == "octocat1"
    assert newcomer.id != old_id
    assert the_member(app, old_github_id).username == "octocat"

    # The first owner signs in under their new login: their account, found by GitHub id.
    mine = dict(github.user)
    github.user.update({"id": old_github_id, "login": "octo-old", "name": "Old Owner"})
    github.emails[:] = [{"email": "old@example.com", "primary": True, "verified": True}]
    assert sign_in(app.test_client(), github).status_code == 302
    old_after = the_member(app, old_github_id)
    assert (old_after.id, old_after.username) == (old_id, "octo-old")

    # Now the newcomer gets the login they have on GitHub.
    github.user = mine
    github.emails[:] = [{"email": "octocat@example.com", "primary": True, "verified": True}]
    assert sign_in(app.test_client(), github).status_code == 302
    newcomer_after = the_member(app)
    assert (newcomer_after.id, newcomer_after.username) == (newcomer.id, "octocat")
    assert counts(app)[0] == 2


def test_a_change_of_case_on_github_is_followed(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    assert sign_in(client, github).status_code == 302
    github.user["login"] = "OctoCat"
    assert sign_in(app.test_client(), github).status_code == 302
    user = the_member(app)
    assert (user.username, user.username_lower) == ("OctoCat", "octocat")


# -------------------------------------------------------------------------------- avatars


def assert_letter_avatar(client: FlaskClient, username: str) -> None:
    template = current(client).get_json()["current_user"]["avatar_template"]
    assert template == f"/letter_avatar/{username}/{{size}}.svg"
    r = client.get(template.replace("{size}", "90"))
    assert r.status_code == 200
    assert r.mimetype == "image/svg+xml"
    svg = r.get_data(as_text=True)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert 'width="90"' in svg
    assert ">O<" in svg  # the initial of "octocat"


def test_no_avatar_on_github_gives_a_letter_avatar(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    github.user["avatar_url"] = None
    assert sign_in(client, github).status_code == 302
    assert counts(app) == (1, 1, 0)
    assert github.calls_to(AVATARS) == 0
    assert_letter_avatar(client, "octocat")


def huge_png() -> bytes:
    """Small on the wire, 25 megapixels once decoded."""
    out = io.BytesIO()
    Image.new("1", (5000, 5000)).save(out, format="PNG")
    return out.getvalue()


AVATAR_FAILURES: dict[str, tuple[int, str, bytes] | Exception] = {
    "http-500": (500, "text/plain", b"oops"),
    "http-404": (404, "text/html", b"<html>gone</html>"),
    "html-page": (200, "text/html", b"<html><body>not a picture</body></html>"),
    "image-type-but-garbage": (200, "image/png", b"\x89PNG\r\n\x1a\n this is not a png"),
    "svg": (200, "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
    "too-many-bytes": (200, "image/png", png(RED) + b"\0" * (2 * 1024 * 1024 + 1)),
    "too-many-pixels": (200, "image/png", huge_png()),
    "timeout": requests.exceptions.ReadTimeout("slow"),
    "connection-error": requests.exceptions.ConnectionError("refused"),
}


@pytest.mark.parametrize("case", list(AVATAR_FAILURES))
def test_a_failed_avatar_download_gives_a_letter_avatar(
    app: Flask, client: FlaskClient, github: FakeGitHub, case: str
) -> None:
    github.avatar = AVATAR_FAILURES[case]
    r = sign_in(client, github)
    assert r.status_code == 302  # the picture is not worth refusing sign-in over
    assert counts(app) == (1, 1, 0)
    assert github.calls_to(AVATARS) == 1
    assert_letter_avatar(client, "octocat")


@pytest.mark.parametrize("case", ["http-500", "html-page", "image-type-but-garbage", "timeout"])
def test_a_failed_avatar_download_keeps_the_earlier_picture(
    app: Flask, client: FlaskClient, github: FakeGitHub, case: str
) -> None:
    assert sign_in(client, github).status_code == 302
    first = current(client).get_json()["current_user"]["avatar_template"]
    assert first.startswith("/user_avatar/")
    with app.app_context():
        version = db.session.get(Avatar, the_member(app).id).version  # type: ignore[union-attr]

    github.avatar = AVATAR_FAILURES[case]
    again = app.test_client()
    assert sign_in(again, github).status_code == 302
    assert github.calls_to(AVATARS) == 2
    assert counts(app) == (1, 2, 1)
    with app.app_context():
        avatar = db.session.get(Avatar, the_member(app).id)
        assert avatar is not None and avatar.version == version
    assert current(again).get_json()["current_user"]["avatar_template"] == first
    picture = again.get(first.replace("{size}", "60"))
    assert picture.status_code == 200
    with Image.open(io.BytesIO(picture.data)) as img:
        assert img.convert("RGB").getpixel((img.width // 2, img.height // 2)) == RED


def test_a_picture_removed_on_github_is_removed_here(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    assert sign_in(client, github).status_code == 302
    first = current(client).get_json()["current_user"]["avatar_template"]
    assert counts(app)[2] == 1
    github.user["avatar_url"] = None
    again = app.test_client()
    assert sign_in(again, github).status_code == 302
    assert counts(app) == (1, 2, 0)
    assert_letter_avatar(again, "octocat")
    assert again.get(first.replace("{size}", "60")).status_code == 404


def test_avatar_download_has_a_bounded_timeout(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    assert sign_in(client, github).status_code == 302
    calls = list(github.rsps.calls)
    assert {urlsplit(c.request.url).netloc for c in calls} >= {
        "github.test",
        "api.github.test",
        "avatars.github.test",
    }
    for call in calls:
        timeout = call.request.req_kwargs.get("timeout")
        assert timeout is not None, call.request.url
        parts = timeout if isinstance(timeout, tuple) else (timeout,)
        assert all(p is not None and 0 < p <= 2.0 for p in parts), (call.request.url, timeout)


# ------------------------------------------------------------------------------- sign out


def test_sign_out(app: Flask, client: FlaskClient, github: FakeGitHub) -> None:
    assert sign_in(client, github).status_code == 302
    csrf = client.get("/session/csrf.json").get_json()["csrf"]

    r = client.delete("/session/current.json")  # no CSRF token: refused
    assert r.status_code == 403
    assert current(client).status_code == 200

    r = client.delete("/session/current.json", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    r = current(client)
    assert r.status_code == 404
    assert r.get_json()["error_type"] == "not_logged_in"
    # The account itself is untouched.
    assert counts(app)[0] == 1


def test_sign_out_also_forgets_the_remembered_member(
    app: Flask, client: FlaskClient, github: FakeGitHub
) -> None:
    assert sign_in(client, github, remember="1").status_code == 302
    remember = client.get_cookie(remember_cookie_name(app))
    assert remember is not None
    csrf = client.get("/session/csrf.json").get_json()["csrf"]

    r = client.delete("/session/current.json", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert client.get_cookie(remember_cookie_name(app)) is None
    assert current(client).status_code == 404
