"""The privacy policy page (P15), issue 5 part 5: /privacy and /privacy.json serve the
Markdown policy from PRIVACY_POLICY_FILE with its last-updated date from the front matter,
signed out, sanitised."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from helpers import JSON_TYPE

from forum.db import db


def front_matter(path: str) -> tuple[dict[str, str], str]:
    """(the front matter's keys, the Markdown after it), read independently of Parlor."""
    text = Path(path).read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, f"{path} has no front matter"
    meta = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip().strip("\"'")
    return meta, text[match.end() :]


@pytest.fixture
def policy_app(make_app, tmp_path) -> Iterator[Callable[[str], Flask]]:
    """An app (same database) serving the policy text given."""
    made: list[Flask] = []

    def build(text: str) -> Flask:
        path = tmp_path / f"policy-{len(made)}.md"
        path.write_text(text, encoding="utf-8")
        made.append(make_app(PRIVACY_POLICY_FILE=str(path)))
        return made[-1]

    yield build
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def page(client, url: str = "/privacy") -> str:
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.mimetype == "text/html"
    return r.get_data(as_text=True)


def document(client) -> dict[str, str]:
    r = client.get("/privacy.json")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.content_type == JSON_TYPE
    return r.get_json()


def test_the_shipped_policy_with_its_date(app, client):
    meta, body = front_matter(app.config["PRIVACY_POLICY_FILE"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", meta["last_updated"])

    text = page(client)  # signed out (P4)
    assert f"<h1>{meta['title']}</h1>" in text
    assert meta["last_updated"] in text
    assert re.search(r"Last updated:.*" + re.escape(meta["last_updated"]), text)
    assert "<h2>Registering</h2>" in text
    assert "visit our site without registering" in text
    assert "last_updated:" not in text  # the front matter is not part of the page

    doc = document(client)
    assert set(doc) >= {"title", "last_updated", "html", "markdown"}
    assert doc["title"] == meta["title"] == "Privacy Policy"
    assert doc["last_updated"] == meta["last_updated"]
    assert doc["markdown"].strip() == body.strip()
    assert "<h2>Registering</h2>" in doc["html"]
    assert "last_updated" not in doc["markdown"]


def test_signed_in_members_see_the_same_policy(app, users, member):
    meta, _ = front_matter(app.config["PRIVACY_POLICY_FILE"])
    alice = member(users["alice"])
    assert meta["last_updated"] in page(alice)
    assert document(alice)["last_updated"] == meta["last_updated"]


def test_a_custom_policy_and_date_from_the_configured_file(policy_app):
    custom = policy_app(
        '---\ntitle: "House Rules on Data"\nlast_updated: 2031-02-03\n---\n'
        "## Scope\n\nWe keep *almost* nothing about you.\n"
    )
    client = custom.test_client()
    text = page(client)
    assert "<h1>House Rules on Data</h1>" in text
    assert "2031-02-03" in text
    assert "<h2>Scope</h2>" in text
    assert "<em>almost</em>" in text
    assert "Registering" not in text  # not the shipped policy

    doc = document(client)
    assert doc["title"] == "House Rules on Data"
    assert doc["last_updated"] == "2031-02-03"
    assert doc["markdown"].strip() == "## Scope\n\nWe keep *almost* nothing about you."
    assert "<em>almost</em>" in doc["html"]


def test_the_policy_html_is_sanitised(policy_app):
    custom = policy_app(
        "---\ntitle: Rules <script>steal()</script>\nlast_updated: 2030-01-01\n---\n"
        "Hello.\n\n<script>alert('pwned')</script>\n\n"
        '<img src="x.png" onerror="alert(2)">\n\n'
        '[click](javascript:alert(3))\n\n<p style="color:red" onclick="alert(4)">styled</p>\n'
    )
    client = custom.test_client()
    for text in (page(client), document(client)["html"]):
        lowered = text.lower()
        # The page's own script is the one external file; nothing from the policy runs.
        for tag in re.findall(r"<script[^>]*>", lowered):
            assert 'src="/parlor-static/parlor.js"' in tag, tag
        for payload in ("alert('pwned')", "alert(2)", "alert(4)", "color:red"):
            assert payload not in lowered, payload
        assert "onerror" not in lowered and "onclick" not in lowered
        assert not re.search(r"(href|src)=[\"']?javascript:", lowered)
        assert "hello." in lowered and "styled" in lowered
    # The title is text, escaped in the page.
    text = page(client)
    assert html.escape("Rules <script>steal()</script>", quote=False) in text


def test_a_policy_without_its_date_stops_the_start(make_app, tmp_path):
    import pytest

    from config import ConfigError

    undated = tmp_path / "policy.md"
    undated.write_text("# Privacy\n\nNo front matter here.\n")
    with pytest.raises(ConfigError, match="last_updated"):
        make_app(PRIVACY_POLICY_FILE=str(undated))
    with pytest.raises(ConfigError, match="PRIVACY_POLICY_FILE"):
        make_app(PRIVACY_POLICY_FILE=str(tmp_path / "missing.md"))
