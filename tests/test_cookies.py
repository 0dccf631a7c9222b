"""Cookies: HttpOnly and SameSite=Lax always, Secure in production; the persistent
"remember me" cookie only when the member asks for it."""

from __future__ import annotations

import pytest

from forum import create_app


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_session_cookie_flags_in_development_and_testing(client):
    cookies = _set_cookies(client.get("/session/csrf.json"))
    session = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert "Secure" not in session


@pytest.fixture
def production_app(app, db_url, monkeypatch):
    monkeypatch.setenv("PARLOR_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-production-secret-for-the-cookie-test")
    monkeypatch.setenv("GITHUB_CLIENT_ID", "id")
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "secret")
    return create_app({"SQLALCHEMY_DATABASE_URI": db_url})


def test_production_cookies_are_secure(production_app):
    assert production_app.config["REMEMBER_COOKIE_SECURE"] is True
    cookies = _set_cookies(production_app.test_client().get("/session/csrf.json"))
    session = next(c for c in cookies if c.startswith("session="))
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session


def test_sign_in_page_offers_remember_me(client):
    page = client.get("/").text
    assert 'action="/auth/github/login"' in page
    assert 'name="remember"' in page


def test_pages_link_a_stylesheet_that_is_served(client):
    import re

    page = client.get("/").text
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)
    css = client.get(href)
    assert css.status_code == 200 and css.content_type.startswith("text/css")
