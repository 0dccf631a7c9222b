"""The member's own pages (issue 8 §1): preferences with names and the newsletter, signing
out here and everywhere, "Download my data", and deleting the account through a
confirmation page, on the real database through the Flask test client. Forms are submitted
as a browser would, with the `authenticity_token` the page carries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from helpers import at, ok
from page_html import check_accessible, form, forms, submit, text
from sqlalchemy import select

from forum.content.models import Post, Topic
from forum.db import db
from forum.users.models import User

RAW = "A post that is long enough to be accepted by the forum."
PREFS = "/u/alice/preferences"
DELETE = "/u/alice/delete"


def page(who: Any, url: str, status: int = 200) -> str:
    r = who.get(url)
    assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:800])
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    check_accessible(html)
    return html


def signed_in(who: Any) -> bool:
    return who.get("/session/current.json").status_code == 200


def user(app: Flask, name: str) -> User | None:
    with app.app_context():
        found = db.session.scalar(select(User).where(User.username_lower == name))
        if found is not None:
            db.session.expunge(found)
        return found


# --- the preferences page ------------------------------------------------------------------


def test_preferences_show_the_members_own_account(alice):
    html = page(alice, PREFS)
    words = text(html)
    assert "Your account" in words
    assert "alice" in words and "alice@example.com" in words
    prefs = form(html, PREFS)
    assert prefs.method == "post"
    assert prefs.fields["first_name"] == "Alice" and prefs.fields["last_name"] == "Tester"
    assert "newsletter" not in prefs.fields  # off until she opts in (P13)
    assert prefs.buttons == ["Save preferences"]
    assert form(html, "/u/alice/preferences/sign-out-everywhere").buttons == ["Sign out everywhere"]
    assert 'href="/u/alice/export.zip"' in html and "Download my data" in words
    assert "once every 10 minutes" in words
    assert 'href="/u/alice/delete"' in html
    assert 'src="/letter_avatar/alice/192.svg"' in html  # served here, never by GitHub
    # The header links here, and signs out with a form.
    assert 'href="/u/alice/preferences"' in html
    assert form(html, "/session/sign-out").buttons == ["Sign out"]


@pytest.mark.parametrize("who", ["bob", "ada"])
def test_someone_elses_preferences_are_refused(app, request, who):
    other = request.getfixturevalue(who)
    for url in (PREFS, DELETE):
        html = page(other, url, 403)
        assert "alice@example.com" not in html and "Tester" not in html


def test_a_visitor_is_offered_to_sign_in_and_come_back(client, users):
    for url in (PREFS, DELETE):
        html = page(client, url, 403)
        assert "Continue with GitHub" in text(html)
        sign_in = [f for f in forms(html) if f.action == "/auth/github/login"]
        assert any(f.fields.get("next") == url for f in sign_in), sign_in
        assert "alice@example.com" not in html


def test_a_page_for_nobody_is_refused_like_anyone_elses(alice):
    page(alice, "/u/nobody-here/preferences", 403)


# --- correcting names and choosing the newsletter -----------------------------------------


def test_correcting_names_and_opting_in(app, alice, users):
    html = page(alice, PREFS)
    r = submit(
        alice.client, html, PREFS, first_name="  Alicia ", last_name="Smith", newsletter="on"
    )
    assert r.status_code == 303 and r.location == PREFS
    after = page(alice, PREFS)
    assert "Your preferences are saved." in text(after)
    saved = form(after, PREFS)
    assert saved.fields["first_name"] == "Alicia" and saved.fields["newsletter"] == "on"
    assert "signing in with GitHub no longer changes them" in text(after)
    member = user(app, "alice")
    assert (member.first_name, member.last_name, member.newsletter) == ("Alicia", "Smith", True)
    assert member.names_locked and member.newsletter_consent_at is not None

    # Unticking the box (a browser then sends no field at all) opts out again.
    fields = {k: v for k, v in form(after, PREFS).fields.items() if k != "newsletter"}
    r = alice.client.post(PREFS, data=fields)
    assert r.status_code == 303
    member = user(app, "alice")
    assert not member.newsletter and member.newsletter_consent_at is None


def test_a_name_too_long_is_shown_next_to_the_field_with_the_input_kept(app, alice):
    html = page(alice, PREFS)
    long_name = "Ä" * 300
    r = submit(alice.client, html, PREFS, first_name="Alicia", last_name=long_name)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    check_accessible(body)
    kept = form(body, PREFS)
    assert kept.fields["last_name"] == long_name and kept.fields["first_name"] == "Alicia"
    assert 'id="last-name-error" role="alert"' in body
    assert "Last name is too long" in text(body)
    assert 'aria-describedby="last-name-hint last-name-error"' in body
    member = user(app, "alice")
    assert (member.first_name, member.last_name, member.names_locked) == ("Alice", "Tester", False)


def test_the_form_needs_its_token(app, alice):
    for data in ({}, {"authenticity_token": "forged"}):
        r = alice.client.post(PREFS, data={**data, "first_name": "Mallory", "last_name": "X"})
        assert r.status_code == 403
        assert "This form has expired" in text(r.get_data(as_text=True))
    assert user(app, "alice").first_name == "Alice"


def test_another_member_cannot_change_alices_names(app, alice, bob):
    r = bob.client.post(
        PREFS, data={"authenticity_token": bob.csrf, "first_name": "Mallory", "last_name": "X"}
    )
    assert r.status_code == 403
    assert user(app, "alice").first_name == "Alice"


def test_a_visitor_cannot_post_the_form(app, client, users):
    r = client.post(PREFS, data={"first_name": "Mallory", "last_name": "X"})
    assert r.status_code == 403
    assert user(app, "alice").first_name == "Alice"


# --- signing out ---------------------------------------------------------------------------


def test_sign_out_signs_out_this_browser_only(app, alice, member, users):
    other_device = member(users["alice"])
    html = page(alice, PREFS)
    r = submit(alice.client, html, "/session/sign-out")
    assert r.status_code == 303 and r.location == "/"
    assert "You are signed out." in text(alice.get("/").get_data(as_text=True))
    assert not signed_in(alice)
    assert signed_in(other_device)


def test_sign_out_needs_the_token(alice):
    assert alice.client.post("/session/sign-out").status_code == 403
    assert signed_in(alice)


def test_sign_out_everywhere_ends_every_session(app, alice, member, users):
    other_device = member(users["alice"])
    before = user(app, "alice").session_token
    html = page(alice, PREFS)
    r = submit(alice.client, html, "/u/alice/preferences/sign-out-everywhere")
    assert r.status_code == 303 and r.location == "/"
    assert "signed out everywhere" in text(alice.get("/").get_data(as_text=True))
    assert not signed_in(alice) and not signed_in(other_device)
    assert user(app, "alice").session_token != before


def test_sign_out_everywhere_refuses_others_and_missing_tokens(app, alice, bob):
    before = user(app, "alice").session_token
    assert alice.client.post("/u/alice/preferences/sign-out-everywhere").status_code == 403
    r = bob.client.post(
        "/u/alice/preferences/sign-out-everywhere", data={"authenticity_token": bob.csrf}
    )
    assert r.status_code == 403
    assert user(app, "alice").session_token == before
    assert signed_in(alice) and signed_in(bob)


# --- download my data ----------------------------------------------------------------------


def test_the_download_link_gives_the_zip_and_the_page_says_when_the_next_one_is(alice):
    html = page(alice, PREFS)
    assert "next download" not in text(html)
    r = alice.get("/u/alice/export.zip")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    r.close()
    assert "Your next download is possible after" in text(page(alice, PREFS))


def test_a_download_too_soon_from_the_link_is_a_page_and_from_a_script_json(alice):
    alice.get("/u/alice/export.zip").close()
    clicked = alice.get("/u/alice/export.zip", headers={"Sec-Fetch-Mode": "navigate"})
    assert clicked.status_code == 429 and clicked.mimetype == "text/html"
    assert "try again in 10 minutes" in text(clicked.get_data(as_text=True))
    assert clicked.headers["Retry-After"]
    scripted = alice.get("/u/alice/export.zip")
    assert scripted.status_code == 429 and scripted.get_json()["error_type"] == "rate_limit"


# --- deleting the account -----------------------------------------------------------------


def test_the_confirmation_says_what_happens(alice):
    words = text(page(alice, DELETE))
    assert "Your posts stay" in words and "Anonymous" in words
    assert "Everything personal is erased" in words
    assert "at most 14 days" in words
    confirm = form(page(alice, DELETE), DELETE)
    assert confirm.buttons == ["Delete my account"]
    assert "Type your username, alice, to confirm" in words


@pytest.mark.parametrize("typed", ["", "alic", "bob", "alice!"])
def test_a_wrong_confirmation_keeps_the_account_and_the_input(app, alice, typed):
    r = submit(alice.client, page(alice, DELETE), DELETE, confirm=typed)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    check_accessible(body)
    assert form(body, DELETE).fields["confirm"] == typed
    assert 'id="confirm-username-error" role="alert"' in body
    assert user(app, "alice") is not None and signed_in(alice)


def test_deleting_needs_the_token_and_ones_own_account(app, alice, bob):
    assert alice.client.post(DELETE, data={"confirm": "alice"}).status_code == 403
    r = bob.client.post(DELETE, data={"authenticity_token": bob.csrf, "confirm": "alice"})
    assert r.status_code == 403
    assert user(app, "alice") is not None


def test_deleting_leaves_the_posts_as_anonymous_and_signs_out(
    app, alice, bob, category_id, ledger_file
):
    topic = ok(
        alice.post(
            "/posts.json",
            json={"title": "A question for the forum", "raw": RAW, "category": category_id},
            **at("203.0.113.5"),
        )
    )
    ok(bob.post("/posts.json", json={"topic_id": topic["topic_id"], "raw": RAW + " @alice"}))
    alice_id = user(app, "alice").id

    r = submit(alice.client, page(alice, DELETE), DELETE, confirm="Alice")  # any case
    assert r.status_code == 303 and r.location == "/account-deleted"
    done = text(page(alice, "/account-deleted"))
    assert "Your account is deleted" in done and "14 days" in done

    assert user(app, "alice") is None
    assert not signed_in(alice)
    page(alice, PREFS, 403)  # the sign-in page now
    with app.app_context():
        post = db.session.get(Post, topic["id"])
        author = db.session.get(User, post.user_id)
        assert author.username == "Anonymous" and post.ip is None
        slug = db.session.get(Topic, topic["topic_id"]).slug
    words = text(page(bob, f"/t/{slug}/{topic['topic_id']}"))
    assert "Anonymous" in words and "@Anonymous" in words
    assert "alice" not in words.lower()
    erased = [
        e
        for e in map(json.loads, Path(ledger_file).read_text().splitlines())
        if e["kind"] == "erased"
    ]
    assert erased[-1]["user_id"] == alice_id


def test_the_last_admin_is_told_why_and_keeps_the_account(app, ada):
    r = submit(ada.client, page(ada, "/u/ada/delete"), "/u/ada/delete", confirm="ada")
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "last admin" in text(body)
    assert form(body, "/u/ada/delete").fields["confirm"] == "ada"
    assert user(app, "ada") is not None and signed_in(ada)


# --- under a URL prefix --------------------------------------------------------------------


def test_preferences_and_their_form_under_a_prefix(host, users):
    client = host.test_client()
    with host.app_context():
        session_id = db.session.get(User, users["alice"]).get_id()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
    html = page(client, "/forum/u/alice/preferences")
    assert 'href="/forum/u/alice/export.zip"' in html
    assert 'href="/forum/u/alice/delete"' in html
    assert "/forum/parlor-static/parlor.css" in html
    r = submit(client, html, "/forum/u/alice/preferences", first_name="Ally")
    assert r.status_code == 303 and r.location == "/forum/u/alice/preferences"
    assert form(page(client, r.location), "/forum/u/alice/preferences").fields["first_name"] == (
        "Ally"
    )
    r = client.post("/forum/u/alice/preferences", data={"first_name": "No token"})
    assert r.status_code == 403
