"""Open redirects: whatever a link puts in `next` (or `return_to`, `redirect`, `back`),
every redirect Parlor answers stays on this site. The sign-in flow carries `next` through
GitHub and back; every other route is walked with the same parameters, in the query string
and in forms, and with paths browsers would read as another host."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from auth.routes import safe_next

from .conftest import send, sign_in
from .routes import ROUTES, calls_for, classified_pairs, key

EVIL = [
    "//evil.example",
    "//evil.example/path",
    "///evil.example",
    "////evil.example",
    "https://evil.example",
    "http://evil.example/",
    "HTTPS://evil.example",
    "https:evil.example",
    "http:/evil.example",
    "https:/\\evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\x00//evil.example",
    "//evil.example@localhost",
    "https://localhost@evil.example",
    "https://localhost.evil.example",
    "//localhost%2F@evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "%5C%5Cevil.example",
    "/%5Cevil.example",
    "%252F%252Fevil.example",
    "evil.example",
    "\uff0f\uff0fevil.example",  # fullwidth solidus
    "/\u3000/evil.example",
    "//\u0435vil.example",  # a Cyrillic e
    "/..//evil.example",
    "/./\\evil.example",
]
# The route walk sends one of each kind (another host, a backslash, a scheme); the sign-in
# flow, where `next` is actually followed, gets them all.
WALKED = ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)"]
NEXT_NAMES = ("next", "return_to", "redirect", "redirect_to", "back", "return", "came_from")


def on_site(location: str, host: str = "localhost") -> bool:
    """Whether a browser following `location` stays on `host`."""
    if any(ord(ch) < 0x21 for ch in location) or "\\" in location:
        return False  # browsers drop controls and read a backslash as a slash
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return parts.scheme in ("http", "https") and parts.netloc == host
    return location.startswith("/") and not location.startswith("//")


@pytest.mark.parametrize("target", EVIL)
def test_safe_next_refuses_anything_off_site(target: str) -> None:
    kept = safe_next(target)
    assert kept is None or on_site(kept), (target, kept)


@pytest.mark.parametrize("target", ["/", "/t/a-topic/5", "/latest?page=2", "/u/alice#posts"])
def test_safe_next_keeps_paths_on_this_site(target: str) -> None:
    assert safe_next(target) == target


def test_signing_in_never_sends_the_browser_off_site(github_app) -> None:
    """The whole flow: `next` goes to GitHub and back in the session, then is followed."""
    for target in [*EVIL, quote("//evil.example", safe="")]:
        client = github_app.test_client()
        r = sign_in(client, "octocat", next=target)
        assert r.status_code == 302, (target, r.get_data(as_text=True)[:300])
        assert on_site(r.headers["Location"]), (target, r.headers["Location"])
    # And a same-site `next` is honoured, so the check above is about the target.
    client = github_app.test_client()
    r = sign_in(client, "octocat", next="/latest?page=1")
    assert r.headers["Location"] == "/latest?page=1"


def _redirect_ok(r: Any, endpoint: str, github: str) -> bool:
    if not 300 <= r.status_code < 400:
        return True
    location = r.headers.get("Location", "")
    if endpoint == "auth.login":  # on to GitHub's authorize page, by design
        return location.startswith(github + "/login/oauth/authorize?")
    return on_site(location)


def test_no_route_redirects_off_site(app, world) -> None:
    """Every route, with every `next`-like parameter in the query and in the form."""
    github = app.config["GITHUB_URL"]
    redirects = 0
    for rule, method in classified_pairs():
        route = ROUTES[key(method, rule.endpoint)]
        for call in calls_for(rule, method, world):
            for target in WALKED if method == "GET" else WALKED[:1]:
                lures = dict.fromkeys(NEXT_NAMES, target)
                lured = replace(
                    call,
                    query={**call.query, **lures},
                    form={**call.form, **lures} if method != "GET" else {},
                )
                for who in dict.fromkeys([None, route.actor]):
                    r = send(world, who, lured)
                    assert r.status_code < 500, str(lured)
                    assert _redirect_ok(r, rule.endpoint, github), (
                        who,
                        str(lured),
                        target,
                        r.headers.get("Location"),
                    )
                    redirects += 300 <= r.status_code < 400
    assert redirects >= 20  # the walk met redirects: the writes' post/redirect/get


def test_paths_a_browser_reads_as_another_host_stay_here(client) -> None:
    """Werkzeug merges repeated slashes with a redirect: it must not become //host. (The
    paths go in as a server passes them, PATH_INFO, with this site's Host.)"""
    paths = ["//evil.example/", "//evil.example//latest", "///evil.example", "/\\evil.example"]
    paths += ["//latest", "//t//1", "/latest//", "//evil.example/..//latest"]
    for path in paths:
        r = client.get("/", environ_overrides={"PATH_INFO": path})
        assert r.status_code < 500, path
        if 300 <= r.status_code < 400:
            assert on_site(r.headers["Location"]), (path, r.headers["Location"])
