"""Issue 8 §2: the pages themselves share nothing with third parties."""

from __future__ import annotations

import re

from forum.headers import content_security_policy


def directives(csp: str) -> dict[str, list[str]]:
    parts = (d.split() for d in csp.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


def test_the_policy_allows_only_this_site_and_github_as_a_form_target() -> None:
    policy = directives(content_security_policy("https://github.com"))
    assert policy["default-src"] == ["'none'"]
    for fetch in ("script-src", "style-src", "img-src", "connect-src"):
        assert policy[fetch] == ["'self'"], fetch
    assert policy["form-action"] == ["'self'", "https://github.com"]
    assert policy["frame-ancestors"] == ["'none'"]
    # GitHub Enterprise: its own origin, and never a path.
    ghes = directives(content_security_policy("https://git.example.org:8443/enterprise"))
    assert ghes["form-action"] == ["'self'", "https://git.example.org:8443"]


def test_every_page_answer_carries_the_headers(client) -> None:
    for path in ("/", "/privacy", "/t/no-such/999999", "/latest.json"):
        r = client.get(path)
        assert "default-src 'none'" in r.headers["Content-Security-Policy"], path
        assert r.headers["Referrer-Policy"] == "same-origin", path
        assert r.headers["X-Frame-Options"] == "DENY", path


def test_pages_load_nothing_from_other_hosts(client, alice) -> None:
    for c in (client, alice):
        html = c.get("/").get_data(as_text=True)
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"(https?:)?//", url), url
        assert "style=" not in html and "<script>" not in html
