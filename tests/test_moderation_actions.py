"""Acting on what the moderator found (issue 4 §3): hiding and unhiding a post, closing and
reopening a topic, suspending an account and lifting it, all through the Flask routes on
the real database; a suspended account's sign-in is tried against a faked GitHub."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from conftest import GITHUB, GITHUB_API, make_user
from helpers import JSON_TYPE, at, ok
from sqlalchemy import func, select

from forum.content.models import Like, Post, Topic
from forum.db import db
from forum.moderation.hide import PLACEHOLDER
from forum.moderation.models import AuditEntry
from forum.users.models import SignInEvent, User

TITLE = "A topic the moderators will look at"
RAW = "The first post of this topic, long enough to be accepted."
SPAM = "Buy cheap watches at the corner shop, best prices in town!"
REPLY = "A harmless reply that is long enough to be accepted."
UNTIL = "2031-01-02T03:04:00Z"
REASON = "Posting the same link in every topic"


def refused(response: Any, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == JSON_TYPE
    body = response.get_json()
    assert set(body) == {"errors", "error_type"}, body
    assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"])
    return " ".join(body["errors"])


def audit_actions(app: Any) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def thread(alice, bob, category_id):
    """alice's topic with bob's spam reply and alice's ordinary reply."""
    first = ok(
        alice.post(
            "/posts.json",
            json={"title": TITLE, "raw": RAW, "category": category_id},
            **at("203.0.113.5"),
        )
    )
    spam = ok(
        bob.post(
            "/posts.json", json={"topic_id": first["topic_id"], "raw": SPAM}, **at("198.51.100.9")
        )
    )
    return {
        "topic": first["topic_id"],
        "slug": first["topic_slug"],
        "first": first["id"],
        "spam": spam["id"],
    }


# --- hiding a post ----------------------------------------------------------------------------


def views(who: Any, thread: dict[str, Any]) -> dict[str, str]:
    """The spam post as `who` sees it: in the topic JSON, the post JSON and the HTML page."""
    topic = who.get(f"/t/{thread['topic']}.json")
    post = who.get(f"/posts/{thread['spam']}.json")
    page = who.get(f"/t/{thread['slug']}/{thread['topic']}")
    assert topic.status_code == post.status_code == page.status_code == 200
    (in_topic,) = [p for p in topic.get_json()["post_stream"]["posts"] if p["id"] == thread["spam"]]
    return {
        "topic_cooked": in_topic["cooked"],
        "topic_body": topic.get_data(as_text=True),
        "post_cooked": post.get_json()["cooked"],
        "post_raw": post.get_json().get("raw"),
        "post_body": post.get_data(as_text=True),
        "page": page.get_data(as_text=True),
        "hidden": in_topic["hidden"],
    }


def test_hidden_post_shows_a_placeholder_to_members_and_visitors(app, client, alice, mia, thread):
    assert SPAM in views(client, thread)["page"]
    assert ok(mia.put(f"/admin/posts/{thread['spam']}/hide.json")) == {
        "success": "OK",
        "hidden": True,
    }
    for who in (client, alice):  # a visitor, and a member who is not the author
        seen = views(who, thread)
        assert seen["hidden"] is True
        assert seen["topic_cooked"] == PLACEHOLDER
        assert seen["post_cooked"] == PLACEHOLDER
        assert seen["post_raw"] is None
        for body in (seen["topic_body"], seen["post_body"], seen["page"]):
            assert "cheap watches" not in body
        assert "hidden by a moderator" in seen["page"]
        # The post keeps its place in the topic; only its text is withheld.
        assert (
            thread["spam"]
            in who.get(f"/t/{thread['topic']}.json").get_json()["post_stream"]["stream"]
        )
    # alice's own post is untouched.
    first = alice.get(f"/posts/{thread['first']}.json").get_json()
    assert first["cooked"] != PLACEHOLDER and first["hidden"] is False


def test_staff_and_the_author_still_see_a_hidden_post(app, bob, mia, ada, thread):
    ok(mia.put(f"/admin/posts/{thread['spam']}/hide.json"))
    for who in (mia, ada, bob):
        seen = views(who, thread)
        assert seen["hidden"] is True
        assert "cheap watches" in seen["topic_cooked"]
        assert "cheap watches" in seen["post_cooked"]
        assert seen["post_raw"] == SPAM
        assert "cheap watches" in seen["page"]


def test_unhide_shows_the_text_to_everyone_again(app, client, alice, mia, thread):
    ok(mia.put(f"/admin/posts/{thread['spam']}/hide.json"))
    assert ok(mia.put(f"/admin/posts/{thread['spam']}/unhide.json")) == {
        "success": "OK",
        "hidden": False,
    }
    for who in (client, alice):
        seen = views(who, thread)
        assert seen["hidden"] is False
        assert "cheap watches" in seen["topic_cooked"]
        assert seen["post_raw"] == SPAM
        assert "cheap watches" in seen["page"]
    with app.app_context():
        post = db.session.get(Post, thread["spam"])
        assert post.hidden_at is None and post.hidden_by_id is None


def test_hide_records_who_hid_it_and_is_idempotent(app, users, mia, thread):
    ok(mia.put(f"/admin/posts/{thread['spam']}/hide.json"))
    with app.app_context():
        first = db.session.get(Post, thread["spam"]).hidden_at
        assert first is not None
        assert db.session.get(Post, thread["spam"]).hidden_by_id == users["mia"]
    assert ok(mia.put(f"/admin/posts/{thread['spam']}/hide.json"))["hidden"] is True
    with app.app_context():
        assert db.session.get(Post, thread["spam"]).hidden_at == first
    assert audit_actions(app) == ["hide_post"]


def test_hiding_a_missing_post_is_404(users, mia):
    refused(mia.put("/admin/posts/424242/hide.json"), 404)
    refused(mia.put("/admin/posts/424242/unhide.json"), 404)


# --- closing a topic ----------------------------------------------------------------------


def set_status(who: Any, topic_id: int, enabled: str, **kwargs: Any) -> Any:
    return who.put(
        f"/t/{topic_id}/status.json", data={"status": "closed", "enabled": enabled}, **kwargs
    )


def reply(who: Any, topic_id: int, raw: str = REPLY) -> Any:
    return who.post("/posts.json", json={"topic_id": topic_id, "raw": raw}, **at("192.0.2.44"))


def test_a_closed_topic_takes_replies_from_staff_only_and_reopens(app, alice, bob, mia, thread):
    topic = thread["topic"]
    assert ok(set_status(mia, topic, "true"))["closed"] is True
    shown = ok(bob.get(f"/t/{topic}.json"))
    assert shown["closed"] is True and shown["details"]["can_create_post"] is False
    for member in (bob, alice):  # alice is the topic's author
        assert "closed" in refused(reply(member, topic), 403)
    ok(reply(mia, topic, "A staff note in a closed topic, long enough."))
    with app.app_context():
        assert db.session.get(Topic, topic).posts_count == 3

    assert ok(set_status(mia, topic, "false"))["closed"] is False
    assert ok(bob.get(f"/t/{topic}.json"))["closed"] is False
    ok(reply(bob, topic))
    assert audit_actions(app) == ["close_topic", "open_topic"]


def test_topic_status_as_json_body_and_by_an_admin(app, bob, ada, thread):
    body = {"status": "closed", "enabled": True}
    assert ok(ada.put(f"/t/{thread['topic']}/status.json", json=body))["closed"] is True
    refused(reply(bob, thread["topic"]), 403)


@pytest.mark.parametrize(
    "data",
    [
        {"status": "pinned", "enabled": "true"},
        {"status": "closed", "enabled": "maybe"},
        {"status": "closed"},
        {"enabled": "true"},
    ],
)
def test_a_bad_topic_status_is_a_422_and_changes_nothing(app, mia, thread, data):
    refused(mia.put(f"/t/{thread['topic']}/status.json", data=data), 422)
    with app.app_context():
        assert db.session.get(Topic, thread["topic"]).closed is False
    assert audit_actions(app) == []


def test_status_of_a_missing_topic_is_404(users, mia):
    refused(set_status(mia, 987654, "true"), 404)


# --- suspending an account ----------------------------------------------------------------


def suspend(who: Any, user_id: int, until: str | None = UNTIL, reason: str | None = REASON) -> Any:
    data = {k: v for k, v in (("suspend_until", until), ("reason", reason)) if v is not None}
    return who.put(f"/admin/users/{user_id}/suspend.json", data=data)


def assert_told_why(message: str) -> None:
    assert "suspended" in message
    assert "2031-01-02" in message and "03:04" in message
    assert REASON in message


def test_a_suspended_member_cannot_post_edit_delete_or_like(
    app, users, alice, bob, mia, thread, category_id
):
    ok(alice.post("/post_actions.json", json={"id": thread["spam"], "post_action_type_id": 2}))
    ok(bob.post("/post_actions.json", json={"id": thread["first"], "post_action_type_id": 2}))
    answer = ok(suspend(mia, users["bob"]))
    assert answer == {
        "suspension": {"suspended_till": "2031-01-02T03:04:00.000Z", "suspend_reason": REASON}
    }
    with app.app_context():
        posts_before = db.session.scalar(select(func.count(Post.id)))
    attempts = [
        bob.post(
            "/posts.json",
            json={"title": TITLE + " again", "raw": RAW, "category": category_id},
            **at("192.0.2.1"),
        ),
        reply(bob, thread["topic"]),
        bob.put(f"/posts/{thread['spam']}.json", json={"post": {"raw": REPLY + " Edited."}}),
        bob.delete(f"/posts/{thread['spam']}.json"),
        bob.post("/post_actions.json", json={"id": thread["first"], "post_action_type_id": 2}),
        bob.delete(f"/post_actions/{thread['first']}.json?post_action_type_id=2"),
    ]
    for response in attempts:
        assert_told_why(refused(response, 403))
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == posts_before
        spam = db.session.get(Post, thread["spam"])
        assert spam.raw == SPAM and spam.deleted_at is None
        assert (
            db.session.scalar(select(func.count(Like.id)).where(Like.user_id == users["bob"])) == 1
        )
    # Reading still works, and others are not affected.
    ok(bob.get(f"/t/{thread['topic']}.json"))
    ok(reply(alice, thread["topic"]))


def test_unsuspend_lifts_it(app, users, bob, mia, thread):
    ok(suspend(mia, users["bob"]))
    refused(reply(bob, thread["topic"]), 403)
    assert ok(mia.put(f"/admin/users/{users['bob']}/unsuspend.json")) == {
        "suspension": {"suspended_till": None, "suspend_reason": None}
    }
    ok(reply(bob, thread["topic"]))
    with app.app_context():
        user = db.session.get(User, users["bob"])
        assert user.suspended_until is None and user.suspended_reason == ""
    assert audit_actions(app) == ["suspend", "unsuspend"]


def test_a_suspension_ends_by_itself_when_its_time_is_past(app, users, bob, mia, thread):
    ok(suspend(mia, users["bob"]))
    with app.app_context():
        user = db.session.get(User, users["bob"])
        user.suspended_until = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    ok(reply(bob, thread["topic"]))


@pytest.mark.parametrize(
    ("until", "offset_form"),
    [
        ("2031-01-02T05:04:00+02:00", "an offset"),
        ("2031-01-02T03:04:00", "no zone: UTC"),
        ("2031-01-02T03:04:00.000Z", "Discourse's own form"),
    ],
)
def test_suspend_until_is_read_as_iso_8601_in_utc(app, users, mia, until, offset_form):
    answer = ok(suspend(mia, users["bob"], until=until))
    assert answer["suspension"]["suspended_till"] == "2031-01-02T03:04:00.000Z", offset_form


@pytest.mark.parametrize(
    ("until", "reason", "words"),
    [
        ("2001-01-01T00:00:00Z", REASON, "future"),
        (None, REASON, "suspend_until"),
        ("", REASON, "suspend_until"),
        ("next tuesday", REASON, "suspend_until"),
        (UNTIL, None, "reason"),
        (UNTIL, "   ", "reason"),
        (UNTIL, "x" * 501, "reason"),
    ],
)
def test_a_bad_suspension_is_a_422_and_suspends_nobody(
    app, users, bob, mia, thread, until, reason, words
):
    message = refused(suspend(mia, users["bob"], until=until, reason=reason), 422)
    assert words in message.lower() or words in message
    with app.app_context():
        assert db.session.get(User, users["bob"]).suspended_until is None
    ok(reply(bob, thread["topic"]))
    assert audit_actions(app) == []


def test_a_just_past_time_is_refused(app, users, mia):
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert "future" in refused(suspend(mia, users["bob"], until=past), 422)


def test_who_may_suspend_whom(app, users, mia, ada):
    with app.app_context():
        max_id = make_user("max", "moderator").id
    assert "staff" in refused(suspend(mia, users["ada"]), 403)  # a moderator, an admin
    assert "staff" in refused(suspend(mia, max_id), 403)  # a moderator, another moderator
    assert "yourself" in refused(suspend(mia, users["mia"]), 403)
    assert "yourself" in refused(suspend(ada, users["ada"]), 403)
    refused(mia.put(f"/admin/users/{users['ada']}/unsuspend.json"), 403)
    with app.app_context():
        assert db.session.get(User, users["ada"]).suspended_until is None
        assert db.session.get(User, users["mia"]).suspended_until is None
    ok(suspend(ada, users["mia"]))  # an admin may suspend a moderator
    with app.app_context():
        assert db.session.get(User, users["mia"]).is_suspended


def test_the_anonymous_user_and_missing_accounts_cannot_be_suspended(app, users, mia):
    with app.app_context():
        anon = User(username="Anonymous", username_lower="anonymous", github_id=None)
        db.session.add(anon)
        db.session.commit()
        anon_id = anon.id
    refused(suspend(mia, anon_id), 403)
    refused(suspend(mia, 987654), 404)
    refused(mia.put("/admin/users/987654/unsuspend.json"), 404)


# --- a suspended account cannot sign in ---------------------------------------------------

GITHUB_ID = 7_654_321
AUTHORIZE_URL = f"{GITHUB}/login/oauth/authorize"


class FakeGitHub:
    """Just enough of GitHub's OAuth and REST API for one account to sign in."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.codes: set[str] = set()
        self.tokens: set[str] = set()
        rsps.add_callback(responses.POST, f"{GITHUB}/login/oauth/access_token", self._token)
        rsps.add_callback(responses.GET, f"{GITHUB_API}/user", self._user)
        rsps.add_callback(responses.GET, f"{GITHUB_API}/user/emails", self._emails)

    def approve(self) -> str:
        code = secrets.token_hex(8)
        self.codes.add(code)
        return code

    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        code = parse_qs(body).get("code", [""])[0]
        if code not in self.codes:
            return 200, {}, json.dumps({"error": "bad_verification_code"})
        self.codes.discard(code)
        token = "gho_" + secrets.token_urlsafe(20)
        self.tokens.add(token)
        reply = {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}
        return 200, {"Content-Type": "application/json"}, json.dumps(reply)

    def _authorised(self, request: Any) -> bool:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ").removeprefix("token ") in self.tokens

    def _user(self, request: Any) -> tuple[int, dict[str, str], str]:
        if not self._authorised(request):
            return 401, {}, json.dumps({"message": "Bad credentials"})
        user = {"login": "bob", "id": GITHUB_ID, "name": "Bob Tester", "avatar_url": None}
        return 200, {"Content-Type": "application/json"}, json.dumps(user)

    def _emails(self, request: Any) -> tuple[int, dict[str, str], str]:
        if not self._authorised(request):
            return 401, {}, json.dumps({"message": "Bad credentials"})
        emails = [{"email": "bob@example.com", "primary": True, "verified": True}]
        return 200, {"Content-Type": "application/json"}, json.dumps(emails)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeGitHub(rsps)


def sign_in(client: Any, github: FakeGitHub) -> Any:
    start = client.get("/auth/github/login", **at("192.0.2.80"))
    assert start.status_code == 302, start.get_data(as_text=True)
    assert start.headers["Location"].startswith(AUTHORIZE_URL)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    return client.get(
        f"/auth/github/callback?code={github.approve()}&state={state}", **at("192.0.2.80")
    )


def test_a_suspended_member_cannot_sign_in_and_is_told_why_and_until_when(app, users, mia, github):
    with app.app_context():
        bob = db.session.get(User, users["bob"])
        bob.github_id = GITHUB_ID
        db.session.commit()
    reason = "Posting <b>spam</b> & links"
    ok(suspend(mia, users["bob"], reason=reason))

    browser = app.test_client()
    page = sign_in(browser, github)
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert 'data-failure="suspended"' in text
    assert "suspended" in text
    assert "2031-01-02 03:04 UTC" in text
    assert "Posting &lt;b&gt;spam&lt;/b&gt; &amp; links" in text  # shown, and escaped
    assert "<b>spam</b>" not in text
    assert browser.get("/session/current.json").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(SignInEvent.id))) == 0

    ok(mia.put(f"/admin/users/{users['bob']}/unsuspend.json"))
    done = sign_in(browser, github)
    assert done.status_code == 302, done.get_data(as_text=True)
    assert ok(browser.get("/session/current.json"))["current_user"]["username"] == "bob"


def test_a_signed_in_member_who_gets_suspended_is_refused_at_once(app, users, bob, mia, thread):
    # The session is not ended, but every write checks the suspension (no stale cookie wins).
    ok(reply(bob, thread["topic"]))
    ok(suspend(mia, users["bob"]))
    assert_told_why(refused(reply(bob, thread["topic"]), 403))


def test_message_names_the_date_in_utc(app, users, bob, mia, thread):
    ok(suspend(mia, users["bob"], until="2031-06-30T23:30:00-02:00"))
    message = refused(reply(bob, thread["topic"]), 403)
    assert re.search(r"2031-07-01 01:30 UTC", message), message


def test_a_form_field_without_a_name_is_a_422_not_a_500(app, mia, thread):
    # Found by Schemathesis: a multipart part whose quoted name ends in a backslash, which
    # escapes the closing quote, so the part has no name at all.
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="'.encode()
        + b"`\x1dN\\"
        + f'"\r\n\r\nx\r\n--{boundary}\r\nContent-Disposition: form-data; name="status"'
        f"\r\n\r\nclosed\r\n--{boundary}--\r\n".encode()
    )
    r = mia.put(
        f"/t/{thread['topic']}/status.json",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert "not valid text" in refused(r, 422)
