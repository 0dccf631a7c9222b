"""Security headers on every answer Parlor gives, walked over every route and method, as a
visitor and as whom each route is for, successes and refusals, plus the answers no view
writes: unknown paths, wrong methods, and an unexpected error."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask import Flask

from forum.headers import content_security_policy

from .conftest import send
from .routes import ROUTES, calls_for, classified_pairs, key

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
EVIL_ORIGIN = {"Origin": "https://evil.example"}
# The letter avatar is an SVG document with a stricter policy of its own.
OWN_POLICY = {"avatars.letter"}


def directives(csp: str) -> dict[str, list[str]]:
    parts = (d.split() for d in csp.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


def wrong_headers(app: Flask, r: Any, endpoint: str | None) -> list[str]:
    wrong = [f"{n}: {r.headers.get(n)!r}" for n, v in HEADERS.items() if r.headers.get(n) != v]
    csp = r.headers.get("Content-Security-Policy", "")
    policy = directives(csp)
    if policy.get("default-src") != ["'none'"]:
        wrong.append(f"CSP without default-src 'none': {csp!r}")
    if endpoint not in OWN_POLICY and csp != content_security_policy(app.config["GITHUB_URL"]):
        wrong.append(f"CSP is not Parlor's: {csp!r}")
    if r.mimetype == "text/html" and policy.get("frame-ancestors") != ["'none'"]:
        wrong.append(f"an HTML page that may be framed: {csp!r}")
    if any("unsafe" in source for source in policy.get("script-src", [])):
        wrong.append(f"script-src allows unsafe sources: {csp!r}")
    if "Access-Control-Allow-Origin" in r.headers:  # no other site may read our answers
        wrong.append(f"CORS: {r.headers['Access-Control-Allow-Origin']!r}")
    return wrong


def test_every_route_answers_with_the_security_headers(app, world) -> None:
    wrong: list[str] = []
    seen = 0
    for rule, method in classified_pairs():
        route = ROUTES[key(method, rule.endpoint)]
        for call in calls_for(rule, method, world):
            for who in dict.fromkeys([None, route.actor]):
                for csrf in ("right", "none") if method != "GET" else ("right",):
                    r = send(world, who, call, csrf, headers=EVIL_ORIGIN)
                    seen += 1
                    found = wrong_headers(app, r, rule.endpoint)
                    wrong += [f"{who} {call} {r.status_code}: {w}" for w in found]
                    if method == "GET" and csrf == "right":
                        head = send(world, who, replace(call, method="HEAD"), headers=EVIL_ORIGIN)
                        found = wrong_headers(app, head, rule.endpoint)
                        wrong += [f"HEAD {call}: {w}" for w in found]
    assert seen >= 150
    assert wrong == [], "\n".join(wrong[:30])


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/no/such/page", {}),
        ("GET", "/no/such/thing.json", {}),
        ("GET", "/no/such/thing", {"Accept": "application/json"}),
        ("DELETE", "/latest", {}),
        ("PATCH", "/posts.json", {}),
        ("OPTIONS", "/posts.json", {}),
        ("GET", "/t/slug/99999999999", {}),
        ("GET", "/parlor-static/../config.py", {}),
    ],
)
def test_answers_no_view_writes_carry_them_too(app, client, method, path, headers) -> None:
    r = client.open(path, method=method, headers=headers)
    assert r.status_code < 500
    assert wrong_headers(app, r, None) == [], (method, path, r.status_code)


@pytest.mark.parametrize("endpoint", ["web.latest", "api.latest"])
def test_an_unexpected_error_answers_with_them(app, client, monkeypatch, endpoint) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("induced for the header test")

    monkeypatch.setitem(app.view_functions, endpoint, broken)
    r = client.get("/latest" + (".json" if endpoint.startswith("api") else ""))
    assert r.status_code == 500
    assert "induced" not in r.get_data(as_text=True)  # no traceback to the client
    assert wrong_headers(app, r, None) == []
