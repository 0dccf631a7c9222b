"""Attacks on GitHub sign-in, against the emulator over real HTTP (tests/test_signin.py
covers the state checks one by one with GitHub faked; these are the attacks built on them).

Flask's session is a signed cookie, so "using the state once" cannot rest on the session
alone: a copy of the cookie from before the callback still holds the pending state. What
makes the callback good once is GitHub's code, single use and bound by PKCE to the
browser that started; these tests replay and swap codes and states between browsers."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from forum.db import db
from forum.users.models import SignInEvent, User

from .conftest import authorize


def signed_in_as(client: FlaskClient) -> str | None:
    r = client.get("/session/current.json")
    return r.get_json()["current_user"]["username"] if r.status_code == 200 else None


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        users = db.session.scalar(select(func.count()).select_from(User)) or 0
        events = db.session.scalar(select(func.count()).select_from(SignInEvent)) or 0
        return users, events


def session_cookie(app: Flask, client: FlaskClient) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def copy_of(app: Flask, cookie: str) -> FlaskClient:
    """Another browser holding a copy of a session cookie (stolen, or a back-up)."""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return other


def refused(r: Any) -> None:
    """A failure page (never a redirect into the forum, never a 500), no remember-me."""
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    assert not any(c.startswith("remember_token=") for c in r.headers.getlist("Set-Cookie"))


def test_a_code_works_once_even_from_a_copy_of_the_session(github_app: Flask) -> None:
    browser = github_app.test_client()
    callback, _code, _state = authorize(browser, "octocat")
    before_callback = session_cookie(github_app, browser)
    assert browser.get(callback).status_code == 302
    assert signed_in_as(browser) == "octocat"
    assert counts(github_app) == (1, 1)

    # The old cookie still carries the pending state, so the state check passes; the
    # code does not: GitHub has spent it.
    thief = copy_of(github_app, before_callback)
    refused(thief.get(callback))
    assert signed_in_as(thief) is None
    assert counts(github_app) == (1, 1)


def test_a_callback_from_another_browser_signs_nobody_in(github_app: Flask) -> None:
    """Login CSRF: the attacker sends their own callback URL to a victim who is in the
    middle of signing in herself. The states differ: refused, and nothing is exchanged."""
    victim, attacker = github_app.test_client(), github_app.test_client()
    authorize(victim, "octocat")  # the victim's own sign-in, pending
    lure, _code, _state = authorize(attacker, "mona")
    refused(victim.get(lure))
    assert signed_in_as(victim) is None
    assert counts(github_app) == (0, 0)
    # Parlor did not spend the attacker's code: it still works where it belongs.
    assert attacker.get(lure).status_code == 302
    assert signed_in_as(attacker) == "mona"


def test_a_callback_in_a_browser_without_a_session_signs_nobody_in(github_app: Flask) -> None:
    browser = github_app.test_client()
    callback, _code, _state = authorize(browser, "octocat")
    stranger = github_app.test_client()  # no cookie at all
    refused(stranger.get(callback))
    assert signed_in_as(stranger) is None
    assert counts(github_app) == (0, 0)
    assert browser.get(callback).status_code == 302  # the code was not spent


def test_a_stolen_code_is_useless_in_another_browser(github_app: Flask) -> None:
    """Code injection: the attacker's browser starts its own sign-in (its own state and
    PKCE verifier) and swaps in the victim's code. The state matches the attacker's
    session, but GitHub bound the code to the victim's verifier: refused."""
    victim, attacker = github_app.test_client(), github_app.test_client()
    _victim_callback, victim_code, _victim_state = authorize(victim, "octocat")
    _own, _own_code, attacker_state = authorize(attacker, "mona")
    swapped = f"/auth/github/callback?code={victim_code}&state={attacker_state}"
    refused(attacker.get(swapped))
    assert signed_in_as(attacker) is None
    assert counts(github_app) == (0, 0)


def test_a_state_is_spent_by_the_first_callback_whatever_it_brings(github_app: Flask) -> None:
    """A wrong code first, then the right one with the same state: the state is gone."""
    browser = github_app.test_client()
    callback, code, state = authorize(browser, "octocat")
    refused(browser.get(f"/auth/github/callback?code=not-{code}&state={state}"))
    refused(browser.get(callback))
    assert signed_in_as(browser) is None
    assert counts(github_app) == (0, 0)


@pytest.mark.parametrize(
    "query",
    [
        "code=x&state=x",
        "state=",
        "code=&state=",
        "code=abc&state=abc&state=def",
        "code=abc&code=def&state=abc",
        "error=access_denied&state=abc",
        "error=redirect_uri_mismatch&code=abc",
        "code=" + "a" * 5000 + "&state=" + "b" * 5000,
        "code=%00&state=%00",
        "code=%ff%fe&state=%c0%af",
        "state[]=a&code[]=b",
    ],
)
def test_malformed_callbacks_are_refused_plainly(github_app: Flask, query: str) -> None:
    browser = github_app.test_client()
    authorize(browser, "octocat")  # a pending sign-in the junk could be mistaken for
    r = browser.get(f"/auth/github/callback?{query}")
    refused(r)
    assert r.mimetype == "text/html"
    assert signed_in_as(browser) is None
    assert counts(github_app) == (0, 0)
