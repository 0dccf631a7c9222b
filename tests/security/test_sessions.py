"""Sessions and cookies: a session planted before sign-in is worthless after it (fixation);
signing out everywhere kills every copy of the cookies; the cookies are HttpOnly,
SameSite=Lax and, in production, Secure; a visitor reading pages gets no cookie at all;
and the only cookies are the session and, when asked for, `remember_token`."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .conftest import send, sign_in, through_emulator
from .routes import PUBLIC, ROUTES, calls_for, classified_pairs, key

OURS = {"session", "remember_token"}
# Visitors' GETs that need a session: starting sign-in keeps its state in it, and a
# client asking for a CSRF token gets one.
VISITOR_COOKIES = {"auth.login", "api.csrf"}


def signed_in_as(client: FlaskClient) -> str | None:
    r = client.get("/session/current.json")
    return r.get_json()["current_user"]["username"] if r.status_code == 200 else None


def set_cookies(response: Any) -> dict[str, str]:
    """name -> the whole Set-Cookie line, for each cookie the response sets."""
    found = {}
    for line in response.headers.getlist("Set-Cookie"):
        name = line.split("=", 1)[0].strip()
        found[name] = line
    return found


def deleted(line: str) -> bool:
    """A Set-Cookie that only deletes the cookie (its flags do not matter)."""
    return "Max-Age=0" in line or "Expires=Thu, 01 Jan 1970" in line


def flags(line: str) -> set[str]:
    parsed = SimpleCookie()
    parsed.load(line)
    morsel = next(iter(parsed.values()))
    out = {k for k in ("httponly", "secure") if morsel[k]}
    if morsel["samesite"]:
        out.add(f"samesite={morsel['samesite'].lower()}")
    return out


def cookie_value(app: Flask, client: FlaskClient, name: str | None = None) -> str | None:
    cookie = client.get_cookie(name or app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


# -- fixation ----------------------------------------------------------------------------


def test_a_session_planted_before_sign_in_is_worthless_after_it(github_app: Flask) -> None:
    attacker = github_app.test_client()
    planted_token = attacker.get("/session/csrf.json").get_json()["csrf"]
    planted = cookie_value(github_app, attacker)
    assert planted

    victim = github_app.test_client()
    victim.set_cookie(github_app.config["SESSION_COOKIE_NAME"], planted)
    assert sign_in(victim, "octocat").status_code == 302
    assert signed_in_as(victim) == "octocat"
    assert cookie_value(github_app, victim) != planted

    # The attacker's copy is not signed in, and the token it knows does not work for the
    # victim: the session started afresh at sign-in.
    assert signed_in_as(attacker) is None
    r = victim.delete("/session/current.json", headers={"X-CSRF-Token": planted_token})
    assert r.status_code == 403
    assert victim.get("/session/csrf.json").get_json()["csrf"] != planted_token
    assert signed_in_as(victim) == "octocat"


def test_signing_out_everywhere_kills_every_copy_of_the_cookies(github_app: Flask) -> None:
    laptop = github_app.test_client()
    assert sign_in(laptop, "octocat", remember="1").status_code == 302
    session_copy = cookie_value(github_app, laptop)
    remember_copy = cookie_value(github_app, laptop, "remember_token")
    assert session_copy and remember_copy
    phone = github_app.test_client()
    assert sign_in(phone, "octocat").status_code == 302

    token = phone.get("/session/csrf.json").get_json()["csrf"]
    r = phone.post("/u/octocat/sign-out-everywhere.json", headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    assert signed_in_as(phone) is None
    assert signed_in_as(laptop) is None
    for name, value in (("session", session_copy), ("remember_token", remember_copy)):
        thief = github_app.test_client()
        thief.set_cookie(name, value)
        assert signed_in_as(thief) is None, name


def test_signing_out_clears_both_cookies_in_that_browser(github_app: Flask) -> None:
    browser = github_app.test_client()
    assert sign_in(browser, "octocat", remember="1").status_code == 302
    token = browser.get("/session/csrf.json").get_json()["csrf"]
    r = browser.delete("/session/current.json", headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    assert "remember_token" in set_cookies(r)  # deleted (expired)
    assert cookie_value(github_app, browser, "remember_token") is None
    assert signed_in_as(browser) is None


# -- cookie flags ------------------------------------------------------------------------


def test_signing_in_sets_only_the_session_and_remember_me_when_asked(github_app: Flask) -> None:
    for remember, expected in ((None, {"session"}), ("1", OURS)):
        browser = github_app.test_client()
        params = {"remember": remember} if remember else {}
        r = sign_in(browser, "octocat", **params)
        cookies = set_cookies(r)
        assert set(cookies) == expected, cookies
        for line in cookies.values():
            assert {"httponly", "samesite=lax"} <= flags(line), line
            assert "secure" not in flags(line)  # testing is plain HTTP


def test_a_visitor_reading_pages_gets_no_cookie(app, world) -> None:
    for rule, method in classified_pairs():
        route = ROUTES[key(method, rule.endpoint)]
        if method != "GET" or rule.endpoint in VISITOR_COOKIES:
            continue
        for call in calls_for(rule, method, world):
            r = send(world, None, call)
            assert "Set-Cookie" not in r.headers, (str(call), r.headers.get("Set-Cookie"))
            if route.access == PUBLIC:
                assert r.status_code < 400, str(call)


def _walk_cookies(world: Any) -> list[tuple[str, str, str]]:
    """(request, cookie name, Set-Cookie line) for everything every route sets, as
    visitors and as whom each route is for."""
    seen = []
    for rule, method in classified_pairs():
        route = ROUTES[key(method, rule.endpoint)]
        for call in calls_for(rule, method, world):
            for who in dict.fromkeys([None, route.actor]):
                r = send(world, who, call)
                seen += [(str(call), n, line) for n, line in set_cookies(r).items()]
    return seen


def test_every_cookie_any_route_sets_is_ours_and_flagged(app, world) -> None:
    seen = _walk_cookies(world)
    assert seen  # sign-out and the CSRF route set some
    for request, name, line in seen:
        assert name in OURS, (request, line)
        assert deleted(line) or {"httponly", "samesite=lax"} <= flags(line), (request, line)


@pytest.fixture
def production(
    app: Flask,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    emulator: tuple[str, Flask],
    ledger_file: str,
) -> Flask:
    base, _emu = emulator
    for name, value in {
        "PARLOR_ENV": "production",
        "SECRET_KEY": "a-long-production-secret-for-the-security-suite",
        **through_emulator(base),
        "ERASURE_LEDGER": ledger_file,
        "RATELIMIT_ENABLED": "false",
    }.items():
        monkeypatch.setenv(name, value)
    from forum import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": db_url})


def test_production_cookies_are_secure(production: Flask) -> None:
    browser = production.test_client()
    r = sign_in(browser, "octocat", remember="1")
    assert r.status_code == 302
    cookies = set_cookies(r)
    assert set(cookies) == OURS
    for line in cookies.values():
        assert {"httponly", "secure", "samesite=lax"} <= flags(line), line
    token = browser.get("/session/csrf.json").get_json()["csrf"]
    r = browser.delete("/session/current.json", headers={"X-CSRF-Token": token})
    assert set(set_cookies(r)) == OURS
    for line in set_cookies(r).values():
        assert deleted(line) or {"httponly", "secure", "samesite=lax"} <= flags(line), line
