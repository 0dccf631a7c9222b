"""The forum as a plugin: mounted under /forum in a host app that keeps its own routes,
error pages and JSON settings."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify


def host_routes(host: Flask) -> None:
    @host.get("/")
    def index():
        return "host home"

    @host.get("/api/things")
    def things():
        return jsonify(things=[1, 2])

    @host.errorhandler(404)
    def not_found(_exc):
        return "host's own 404 page", 404


@pytest.fixture
def host(make_host):
    return make_host(host_routes)


def test_host_routes_and_error_pages_are_untouched(host):
    client = host.test_client()
    assert client.get("/").data == b"host home"
    things = client.get("/api/things")
    assert things.get_json() == {"things": [1, 2]}
    assert things.headers["Content-Type"] == "application/json"  # the host's, not Parlor's
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and missing.data == b"host's own 404 page"


def test_forum_answers_under_its_prefix(host, category_id):
    client = host.test_client()
    r = client.get("/forum/categories.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert [c["name"] for c in r.get_json()["category_list"]["categories"]] == ["General"]
    assert client.get("/categories.json").data == b"host's own 404 page"


def test_forum_errors_keep_discourse_shape_under_prefix(host):
    client = host.test_client()
    r = client.get("/forum/t/424242.json")
    assert r.status_code == 404
    assert r.get_json()["error_type"] == "not_found"
    r = client.get("/forum/session/current.json")
    assert r.status_code == 404 and r.get_json()["error_type"] == "not_logged_in"


def test_links_and_sign_in_use_the_prefix(host):
    client = host.test_client()
    r = client.get("/forum/auth/github/login?login=octocat")
    assert r.status_code == 302
    assert "redirect_uri=http%3A%2F%2Flocalhost%2Fforum%2Fauth%2Fgithub%2Fcallback" in r.location
    page = client.get("/forum/")
    assert page.status_code == 200
    assert 'action="/forum/auth/github/login"' in page.text


def test_host_settings_win_over_parlor_defaults(host):
    assert host.config["SECRET_KEY"] == "host-secret"
    assert host.config["GITHUB_URL"] == "https://github.test"


def test_parlor_security_headers_cover_only_its_own_routes(host):
    client = host.test_client()
    page = client.get("/forum/")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "form-action 'self' https://github.test" in csp  # the sign-in redirect
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    host_page = client.get("/")
    assert "Content-Security-Policy" not in host_page.headers
