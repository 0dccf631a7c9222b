"""The Discourse-shaped JSON API and the content actions behind it (P4, P5, P6).

Everything goes through the Flask test client against the real app and database; the
database is read back directly to check what was (or was not) written.
"""

import ipaddress
import json
import re
from html.parser import HTMLParser

import pytest
from helpers import JSON_TYPE, at, ok
from sqlalchemy import func, select, update

from forum.content import likes, posting
from forum.content.models import Category, Like, Post, PostEdit, Topic
from forum.content.slug import slugify
from forum.db import db
from forum.moderation.ip_uses import AddressUse
from forum.users.models import User

TITLE = "Testing the topic creation API"
RAW = "The first post of this topic, long enough to be accepted."
REPLY = "A reply that is long enough to be accepted."
ALICE_IP = "203.0.113.5"
BOB_IP = "2001:db8:0:1::b0b"
EDIT_IP = "198.51.100.77"


# --- helpers -------------------------------------------------------------------------------


def refused(response, status, error_type=None):
    """Assert Discourse's error shape with `status`; return the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == JSON_TYPE
    body = response.get_json()
    assert set(body) == {"errors", "error_type"}, body
    assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"]), body
    assert isinstance(body["error_type"], str) and body["error_type"]
    if error_type is not None:
        assert body["error_type"] == error_type, body
    return body


def new_topic(client, category_id, ip=ALICE_IP, **fields):
    payload = {"title": TITLE, "raw": RAW, "category": category_id, **fields}
    return ok(client.post("/posts.json", json=payload, **at(ip)))


def new_reply(client, topic_id, raw=REPLY, ip=BOB_IP):
    return ok(client.post("/posts.json", json={"topic_id": topic_id, "raw": raw}, **at(ip)))


def load(app, model, key):
    """A row as the database has it now (detached, attributes loaded)."""
    with app.app_context():
        row = db.session.get(model, key)
        assert row is not None
        return row


def edits_of(app, post_id):
    with app.app_context():
        return list(
            db.session.scalars(select(PostEdit).where(PostEdit.post_id == post_id).order_by("id"))
        )


def snapshot(app):
    """Every content row and counter: what a refused request must leave exactly as it was."""
    with app.app_context():
        rows = {}
        for model in (Category, Topic, Post, PostEdit, Like, AddressUse):
            table = model.__table__
            ordered = select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in db.session.execute(ordered)]
        return rows


def seed_topic(app, author_ids, category_id, n_posts, ip="192.0.2.10", title=TITLE):
    """A topic with `n_posts` posts, written directly with the content actions (fast)."""
    with app.app_context():
        authors = [db.session.get(User, uid) for uid in author_ids]
        address = ipaddress.ip_address(ip)
        first = posting.create_topic(authors[0], title, RAW, category_id, address)
        for i in range(1, n_posts):
            author = authors[i % len(authors)]
            posting.create_reply(author, first.topic_id, f"{REPLY} Number {i}.", address)
        db.session.commit()
        return first.topic_id


def post_ids_of(app, topic_id):
    with app.app_context():
        return list(
            db.session.scalars(
                select(Post.id).where(Post.topic_id == topic_id).order_by(Post.post_number)
            )
        )


@pytest.fixture
def thread(alice, bob, category_id):
    """alice's topic (post 1 from ALICE_IP) with bob's reply (post 2 from BOB_IP)."""
    first = new_topic(alice, category_id)
    second = new_reply(bob, first["topic_id"])
    return {"topic": first["topic_id"], "first": first["id"], "reply": second["id"]}


# --- creating and reading back --------------------------------------------------------------


def test_topic_and_reply_as_json_read_back_everywhere(app, client, alice, bob, category_id):
    first = new_topic(alice, category_id)
    assert first["post_number"] == 1
    assert first["raw"] == RAW
    assert first["cooked"] == f"<p>{RAW}</p>"
    assert first["username"] == "alice"
    assert first["yours"] is True
    topic_id = first["topic_id"]
    second = new_reply(bob, topic_id)
    assert (second["topic_id"], second["post_number"], second["username"]) == (topic_id, 2, "bob")

    slug = slugify(TITLE)
    for url in (f"/t/{topic_id}.json", f"/t/{slug}/{topic_id}.json"):
        topic = ok(client.get(url))
        assert (topic["id"], topic["title"], topic["slug"]) == (topic_id, TITLE, slug)
        assert (topic["posts_count"], topic["reply_count"], topic["like_count"]) == (2, 1, 0)
        assert topic["highest_post_number"] == 2
        assert topic["category_id"] == category_id
        posts = topic["post_stream"]["posts"]
        assert [p["id"] for p in posts] == [first["id"], second["id"]]
        assert [p["username"] for p in posts] == ["alice", "bob"]
        assert [p["raw"] for p in posts if "raw" in p] in ([], [RAW, REPLY])
        assert topic["post_stream"]["stream"] == [first["id"], second["id"]]
        assert topic["details"]["created_by"]["username"] == "alice"
        assert topic["details"]["last_poster"]["username"] == "bob"

    post = ok(client.get(f"/posts/{second['id']}.json"))
    assert (post["id"], post["raw"], post["topic_id"]) == (second["id"], REPLY, topic_id)
    assert post["cooked"] == f"<p>{REPLY}</p>"

    for url in ("/latest.json", f"/c/general/{category_id}.json", f"/c/{category_id}.json"):
        listed = ok(client.get(url))["topic_list"]["topics"]
        assert [t["id"] for t in listed] == [topic_id], url
        item = listed[0]
        assert (item["posts_count"], item["reply_count"], item["like_count"]) == (2, 1, 0)
        assert item["last_poster_username"] == "bob"

    categories = ok(client.get("/categories.json"))["category_list"]["categories"]
    general = next(c for c in categories if c["id"] == category_id)
    assert (general["topic_count"], general["post_count"]) == (1, 2)


def test_topic_reply_and_edit_form_encoded(app, alice, bob, category_id):
    form = {"title": TITLE, "raw": RAW, "category": str(category_id)}
    first = ok(alice.post("/posts.json", data=form, **at(ALICE_IP)))
    topic_id = first["topic_id"]
    second = ok(bob.post("/posts.json", data={"topic_id": str(topic_id), "raw": REPLY}))
    assert (second["topic_id"], second["post_number"]) == (topic_id, 2)

    edited = "The first post, corrected through a form."
    body = ok(
        alice.put(
            f"/posts/{first['id']}.json",
            data={"post[raw]": edited, "post[edit_reason]": "typo"},
            **at(EDIT_IP),
        )
    )
    assert body["post"]["raw"] == edited
    assert body["post"]["version"] == 2
    assert load(app, Post, first["id"]).raw == edited
    [edit] = edits_of(app, first["id"])
    assert (edit.raw_before, edit.raw_after, edit.edit_reason) == (RAW, edited, "typo")
    assert load(app, Topic, topic_id).posts_count == 2


@pytest.mark.parametrize(
    "payload",
    [
        {"post": {"raw": "Edited with a nested JSON body."}},
        {"raw": "Edited with a flat JSON body here."},
    ],
    ids=["nested", "flat"],
)
def test_edit_as_json(app, alice, category_id, payload):
    first = new_topic(alice, category_id)
    expected = payload.get("post", payload)["raw"]
    body = ok(alice.put(f"/posts/{first['id']}.json", json=payload))
    assert body["post"]["raw"] == expected
    assert body["post"]["cooked"] == f"<p>{expected}</p>"
    assert load(app, Post, first["id"]).raw == expected


def test_unchanged_edit_writes_no_revision(app, alice, category_id):
    first = new_topic(alice, category_id)
    body = ok(alice.put(f"/posts/{first['id']}.json", json={"post": {"raw": RAW}}))
    assert body["post"]["version"] == 1
    assert edits_of(app, first["id"]) == []


def test_category_as_a_string_of_digits_is_accepted(app, alice, category_id):
    first = ok(
        alice.post("/posts.json", json={"title": TITLE, "raw": RAW, "category": f" {category_id} "})
    )
    assert load(app, Topic, first["topic_id"]).category_id == category_id


# --- the client IP (P6) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote_addr", "stored"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8::5", "2001:db8::5"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
    ],
    ids=["ipv4", "ipv6", "ipv4-mapped"],
)
def test_each_post_stores_its_client_ip(app, alice, bob, category_id, remote_addr, stored):
    first = new_topic(alice, category_id, ip=remote_addr)
    second = new_reply(bob, first["topic_id"], ip=remote_addr)
    for post_id in (first["id"], second["id"]):
        assert load(app, Post, post_id).ip == ipaddress.ip_address(stored)


def test_topic_and_reply_record_different_ips(app, thread):
    assert load(app, Post, thread["first"]).ip == ipaddress.ip_address(ALICE_IP)
    assert load(app, Post, thread["reply"]).ip == ipaddress.ip_address(BOB_IP)


def test_an_edit_stores_its_own_ip_and_keeps_the_posts(app, alice, thread):
    edited = "The first post, edited from elsewhere."
    ok(alice.put(f"/posts/{thread['first']}.json", json={"post": {"raw": edited}}, **at(EDIT_IP)))
    post = load(app, Post, thread["first"])
    assert post.ip == ipaddress.ip_address(ALICE_IP)
    assert (post.raw, post.version) == (edited, 2)
    [edit] = edits_of(app, thread["first"])
    assert edit.ip == ipaddress.ip_address(EDIT_IP)
    assert (edit.version, edit.raw_before, edit.raw_after) == (2, RAW, edited)


def test_second_edit_records_a_second_revision_with_its_ip(app, alice, thread):
    url = f"/posts/{thread['first']}.json"
    ok(alice.put(url, json={"raw": "The first edit of this post."}, **at(EDIT_IP)))
    ok(alice.put(url, json={"raw": "The second edit of this post."}, **at("2001:db8::e")))
    edits = edits_of(app, thread["first"])
    assert [e.version for e in edits] == [2, 3]
    assert [str(e.ip) for e in edits] == [EDIT_IP, "2001:db8::e"]
    assert edits[1].raw_before == "The first edit of this post."


# --- likes ----------------------------------------------------------------------------------


def like(client, post_id):
    return client.post("/post_actions.json", json={"id": post_id, "post_action_type_id": 2})


def unlike(client, post_id):
    return client.delete(f"/post_actions/{post_id}.json?post_action_type_id=2")


def like_counts(app, thread):
    return (
        load(app, Post, thread["first"]).like_count,
        load(app, Topic, thread["topic"]).like_count,
    )


def test_like_once_per_member_and_unlike(app, client, users, bob, mia, thread):
    body = ok(like(bob, thread["first"]))
    assert body["like_count"] == 1
    assert body["actions_summary"][0]["acted"] is True
    assert body["actions_summary"][0]["can_undo"] is True
    assert like_counts(app, thread) == (1, 1)

    refused(like(bob, thread["first"]), 403)
    assert like_counts(app, thread) == (1, 1)

    ok(like(mia, thread["first"]))
    assert like_counts(app, thread) == (2, 2)
    topic = ok(client.get(f"/t/{thread['topic']}.json"))
    assert topic["like_count"] == 2
    assert topic["post_stream"]["posts"][0]["like_count"] == 2
    liked_view = ok(bob.get(f"/t/{thread['topic']}.json"))["post_stream"]["posts"][0]
    assert liked_view["actions_summary"][0]["acted"] is True

    body = ok(unlike(bob, thread["first"]))
    assert body["like_count"] == 1
    assert body["actions_summary"][0]["acted"] is False
    assert like_counts(app, thread) == (1, 1)
    # Each reader sees their own like in the topic, not someone else's (mia's remains).
    for reader, acted in ((bob, False), (mia, True), (client, False)):
        first = ok(reader.get(f"/t/{thread['topic']}.json"))["post_stream"]["posts"][0]
        assert first["actions_summary"][0]["acted"] is acted
        listed = ok(reader.get(f"/t/{thread['topic']}/posts.json"))["post_stream"]["posts"][0]
        assert listed["actions_summary"][0]["acted"] is acted
    refused(unlike(bob, thread["first"]), 403)
    assert like_counts(app, thread) == (1, 1)
    with app.app_context():
        assert db.session.scalars(select(Like.user_id)).all() == [users["mia"]]


def test_cannot_like_own_post(app, alice, thread):
    before = snapshot(app)
    refused(like(alice, thread["first"]), 403)
    assert snapshot(app) == before


def test_like_as_form_with_string_ids(app, bob, thread):
    ok(
        bob.post(
            "/post_actions.json", data={"id": str(thread["first"]), "post_action_type_id": "2"}
        )
    )
    assert like_counts(app, thread) == (1, 1)


# --- deleting -------------------------------------------------------------------------------


def test_author_soft_deletes_a_reply(app, client, bob, thread):
    ok(bob.delete(f"/posts/{thread['reply']}.json"))
    reply = load(app, Post, thread["reply"])
    assert reply.deleted_at is not None
    assert reply.raw == REPLY  # soft: the row and its text are kept
    topic = ok(client.get(f"/t/{thread['topic']}.json"))
    assert topic["post_stream"]["stream"] == [thread["first"]]
    assert topic["posts_count"] == 1
    refused(client.get(f"/posts/{thread['reply']}.json"), 404)
    assert [t["id"] for t in ok(client.get("/latest.json"))["topic_list"]["topics"]] == [
        thread["topic"]
    ]


def test_deleting_the_first_post_removes_the_topic(app, client, alice, thread, category_id):
    ok(alice.delete(f"/posts/{thread['first']}.json"))
    assert load(app, Topic, thread["topic"]).deleted_at is not None
    assert load(app, Post, thread["first"]).deleted_at is not None
    assert ok(client.get("/latest.json"))["topic_list"]["topics"] == []
    assert ok(client.get(f"/c/{category_id}.json"))["topic_list"]["topics"] == []
    refused(client.get(f"/t/{thread['topic']}.json"), 404)
    categories = ok(client.get("/categories.json"))["category_list"]["categories"]
    assert categories[0]["topic_count"] == 0


def test_staff_still_see_a_deleted_post(app, mia, bob, thread):
    ok(bob.delete(f"/posts/{thread['reply']}.json"))
    post = ok(mia.get(f"/posts/{thread['reply']}.json"))
    assert post["deleted_at"] is not None
    assert ok(mia.get(f"/t/{thread['topic']}.json"))["post_stream"]["stream"] == [
        thread["first"],
        thread["reply"],
    ]


# --- permissions ----------------------------------------------------------------------------


def test_others_cannot_edit_or_delete_but_moderators_can(app, users, bob, mia, thread):
    url = f"/posts/{thread['first']}.json"
    before = snapshot(app)
    refused(bob.put(url, json={"post": {"raw": "Bob rewrites alice's words."}}), 403)
    refused(bob.delete(url), 403)
    assert snapshot(app) == before

    moderated = "Edited by a moderator for clarity."
    ok(mia.put(url, json={"post": {"raw": moderated}}, **at(EDIT_IP)))
    [edit] = edits_of(app, thread["first"])
    assert edit.user_id == users["mia"]
    assert edit.ip == ipaddress.ip_address(EDIT_IP)
    ok(mia.delete(url))
    assert load(app, Topic, thread["topic"]).deleted_at is not None


def close(app, topic_id):
    with app.app_context():
        db.session.execute(update(Topic).where(Topic.id == topic_id).values(closed=True))
        db.session.commit()


def test_closed_topic_refuses_member_replies(app, alice, bob, mia, thread):
    close(app, thread["topic"])
    before = snapshot(app)
    for author in (alice, bob):
        refused(author.post("/posts.json", json={"topic_id": thread["topic"], "raw": REPLY}), 403)
    refused(
        alice.put(f"/posts/{thread['first']}.json", json={"raw": "Edit in a closed topic."}), 403
    )
    assert snapshot(app) == before
    assert ok(bob.get(f"/t/{thread['topic']}.json"))["details"]["can_create_post"] is False
    staff_reply = new_reply(mia, thread["topic"])
    assert staff_reply["post_number"] == 3


# --- bad input ------------------------------------------------------------------------------

GOOD_TOPIC = {"title": TITLE, "raw": RAW}

BAD_TOPICS = {
    "title-too-short": {"title": "Too short"},
    "title-too-long": {"title": "x" * 256},
    "title-blank": {"title": "   \t  "},
    "title-empty": {"title": ""},
    "title-null": {"title": None},
    "title-number": {"title": 123456789012345678},
    "title-list": {"title": ["A list is not a title at all"]},
    "title-object": {"title": {"text": "An object is not a title"}},
    "title-bool": {"title": True},
    "raw-empty": {"raw": ""},
    "raw-blank": {"raw": " \n\t "},
    "raw-too-short": {"raw": "Too short"},
    "raw-too-long": {"raw": "x" * 32001},
    "raw-list": {"raw": ["This body is a list, not a string"]},
    "raw-number": {"raw": 12345678901234567890},
    "raw-null": {"raw": None},
    "raw-object": {"raw": {"text": "This body is an object, not text"}},
    "category-unknown": {"category": 987654},
    "category-zero": {"category": 0},
    "category-negative": {"category": -1},
    "category-letters": {"category": "abc"},
    "category-mixed": {"category": "1abc"},
    "category-double-minus": {"category": "--1"},
    "category-superscript": {"category": "\u00b2"},
    "category-float": {"category": 1.5},
    "category-bool": {"category": True},
    "category-list": {"category": [1]},
    "category-huge": {"category": 10**30},
    "category-huge-string": {"category": "99999999999999999999999999"},
    "category-int64": {"category": 2**63},
    "category-missing": {"category": None},
}


@pytest.mark.parametrize("change", BAD_TOPICS.values(), ids=BAD_TOPICS.keys())
def test_bad_new_topic_is_refused_and_writes_nothing(app, alice, category_id, change):
    payload = {**GOOD_TOPIC, "category": category_id, **change}
    payload = {k: v for k, v in payload.items() if not (k == "category" and v is None)}
    before = snapshot(app)
    refused(alice.post("/posts.json", json=payload), 422, "invalid_parameters")
    assert snapshot(app) == before


def test_bad_new_topic_as_form_is_refused(app, alice, category_id):
    before = snapshot(app)
    for form in (
        {"title": "short", "raw": RAW, "category": str(category_id)},
        {"title": TITLE, "raw": "short", "category": str(category_id)},
        {"title": TITLE, "raw": RAW, "category": "abc"},
        {"title": TITLE, "raw": RAW, "category": ""},
        {"title": TITLE, "raw": RAW},
    ):
        refused(alice.post("/posts.json", data=form), 422, "invalid_parameters")
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "text",
    ["A title with a NUL\x00 character in it", "A title with a lone \ud800 surrogate"],
    ids=["nul", "surrogate"],
)
def test_odd_characters_in_a_title_never_break_the_server(app, alice, category_id, text):
    response = alice.post(
        "/posts.json", json={**GOOD_TOPIC, "title": text, "category": category_id}
    )
    if response.status_code == 200:
        stored = load(app, Topic, response.get_json()["topic_id"]).title
        assert "\x00" not in stored and "\ud800" not in stored
    else:
        refused(response, 422)


@pytest.mark.parametrize(
    "raw",
    ["A body with a lone \udfff surrogate in it", "A body with a NUL\x00 in the middle."],
    ids=["surrogate", "nul"],
)
def test_odd_characters_in_a_body_never_break_the_server(app, alice, category_id, raw):
    response = alice.post("/posts.json", json={**GOOD_TOPIC, "raw": raw, "category": category_id})
    if response.status_code == 200:
        stored = load(app, Post, response.get_json()["id"]).raw
        assert "\x00" not in stored and "\udfff" not in stored
    else:
        refused(response, 422)


@pytest.mark.parametrize(
    "reason",
    ["A reason with a NUL\x00 in it", "A reason with a lone \ud800 surrogate"],
    ids=["nul", "surrogate"],
)
def test_odd_characters_in_an_edit_reason_never_break_the_server(app, alice, thread, reason):
    payload = {"post": {"raw": "A fine new body for this post.", "edit_reason": reason}}
    response = alice.put(f"/posts/{thread['first']}.json", json=payload)
    if response.status_code == 200:
        [edit] = edits_of(app, thread["first"])
        assert "\x00" not in edit.edit_reason and "\ud800" not in edit.edit_reason
    else:
        refused(response, 422)


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "t" * posting.TITLE_MIN},
        {"title": "t" * posting.TITLE_MAX},
        {"title": "  Spaces   around   and   inside  "},
        {"raw": "r" * posting.POST_MIN},
        {"raw": "r" * posting.POST_MAX},
    ],
    ids=["title-min", "title-max", "title-spaces", "raw-min", "raw-max"],
)
def test_limits_are_inclusive(app, alice, category_id, fields):
    post = new_topic(alice, category_id, **fields)
    topic = load(app, Topic, post["topic_id"])
    assert topic.title == " ".join(fields.get("title", TITLE).split())
    assert load(app, Post, post["id"]).raw == fields.get("raw", RAW)


BAD_REPLIES = {
    "unknown-topic": ({"topic_id": 987654}, 422),
    "topic-letters": ({"topic_id": "abc"}, 422),
    "topic-huge": ({"topic_id": 10**25}, 422),
    "topic-float": ({"topic_id": 1.5}, 422),
    "raw-too-short": ({"raw": "Too short"}, 422),
    "raw-list": ({"raw": ["a", "list"]}, 422),
    "raw-number": ({"raw": 42}, 422),
    "raw-null": ({"raw": None}, 422),
    "reply-to-missing-post": ({"reply_to_post_number": 99}, 422),
    "reply-to-letters": ({"reply_to_post_number": "abc"}, 422),
}


@pytest.mark.parametrize(("change", "status"), BAD_REPLIES.values(), ids=BAD_REPLIES.keys())
def test_bad_reply_is_refused_and_writes_nothing(app, bob, thread, change, status):
    before = snapshot(app)
    payload = {"topic_id": thread["topic"], "raw": REPLY, **change}
    refused(bob.post("/posts.json", json=payload), status)
    assert snapshot(app) == before


def test_reply_to_a_deleted_topic_is_refused(app, alice, bob, thread):
    ok(alice.delete(f"/posts/{thread['first']}.json"))
    before = snapshot(app)
    refused(bob.post("/posts.json", json={"topic_id": thread["topic"], "raw": REPLY}), 422)
    assert snapshot(app) == before


MALFORMED_BODIES = {
    "invalid-json": b'{"title": "unterminated',
    "json-array": json.dumps([{"title": TITLE, "raw": RAW, "category": 1}]).encode(),
    "json-string": b'"just a string"',
    "json-number": b"42",
    "json-null": b"null",
    "json-empty-object": b"{}",
    "not-utf8": b'{"title": "\xff\xfe", "raw": "x"}',
    "missing-title-and-topic": json.dumps({"raw": RAW, "category": 1}).encode(),
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_body_is_refused(app, alice, thread, body):
    before = snapshot(app)
    response = alice.post("/posts.json", data=body, content_type="application/json")
    refused(response, 422, "invalid_parameters")
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"post": {"raw": "short"}}, 422),
        ({"post": {"raw": ["a list"]}}, 422),
        ({"post": {"raw": 1234}}, 422),
        ({"post": {"raw": None}}, 422),
        ({"post": {"raw": "x" * 32001}}, 422),
        ({"post": {"raw": "A fine new body for this post.", "edit_reason": ["x"]}}, 422),
        ({"post": {"raw": "A fine new body for this post.", "edit_reason": "x" * 256}}, 422),
        ({}, 422),
    ],
    ids=["short", "list", "number", "null", "too-long", "reason-list", "reason-long", "empty"],
)
def test_bad_edit_is_refused_and_writes_nothing(app, alice, thread, payload, status):
    before = snapshot(app)
    refused(alice.put(f"/posts/{thread['first']}.json", json=payload), status)
    assert snapshot(app) == before


def test_bad_edit_as_invalid_json(app, alice, thread):
    before = snapshot(app)
    response = alice.put(
        f"/posts/{thread['first']}.json", data=b"{nope", content_type="application/json"
    )
    refused(response, 422)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"post_action_type_id": 3}, 422),
        ({"post_action_type_id": 1}, 422),
        ({"post_action_type_id": "abc"}, 422),
        ({"post_action_type_id": None}, 422),
        ({"id": 987654}, 404),
        ({"id": "abc"}, 422),
        ({"id": None}, 422),
        ({"id": 10**20}, 422),
    ],
    ids=[
        "type-3",
        "type-1",
        "type-letters",
        "type-missing",
        "missing-post",
        "id-letters",
        "id-missing",
        "id-huge",
    ],
)
def test_bad_like_is_refused_and_writes_nothing(app, bob, thread, payload, status):
    before = snapshot(app)
    body = {"id": thread["first"], "post_action_type_id": 2, **payload}
    body = {k: v for k, v in body.items() if v is not None}
    refused(bob.post("/post_actions.json", json=body), status)
    assert snapshot(app) == before


def test_bad_unlike_is_refused(app, bob, thread):
    ok(like(bob, thread["first"]))
    before = snapshot(app)
    refused(bob.delete(f"/post_actions/{thread['first']}.json"), 422)
    refused(bob.delete(f"/post_actions/{thread['first']}.json?post_action_type_id=3"), 422)
    refused(bob.delete("/post_actions/987654.json?post_action_type_id=2"), 404)
    assert snapshot(app) == before


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/posts/{n}.json"),
        ("get", "/t/{n}.json"),
        ("get", "/t/some-slug/{n}.json"),
        ("get", "/c/{n}.json"),
        ("get", "/c/general/{n}.json"),
        ("put", "/posts/{n}.json"),
        ("delete", "/posts/{n}.json"),
        ("delete", "/post_actions/{n}.json?post_action_type_id=2"),
    ],
)
@pytest.mark.parametrize(
    "number", ["987654", "2147483648", HUGE], ids=["missing", "int32+1", "huge"]
)
def test_missing_or_huge_ids_in_urls_are_404(app, bob, thread, method, url, number):
    before = snapshot(app)
    kwargs = (
        {"json": {"post": {"raw": "An edit that cannot land anywhere."}}} if method == "put" else {}
    )
    refused(getattr(bob, method)(url.format(n=number), **kwargs), 404, "not_found")
    assert snapshot(app) == before


@pytest.mark.parametrize("page", ["abc", "-1", "\u00b2", "1.5", "999999999"])
def test_bad_page_parameter_is_400(client, page):
    refused(client.get("/latest.json", query_string={"page": page}), 400)


# --- signed out (P4) and CSRF ---------------------------------------------------------------


def read_urls(thread, category_id):
    slug = slugify(TITLE)
    return [
        "/latest.json",
        "/latest.json?page=1",
        "/categories.json",
        f"/c/general/{category_id}.json",
        f"/c/{category_id}.json",
        f"/t/{thread['topic']}.json",
        f"/t/{slug}/{thread['topic']}.json",
        f"/posts/{thread['first']}.json",
        f"/posts/{thread['reply']}.json",
        "/u/alice.json",
        "/users/bob.json",
        "/session/csrf.json",
    ]


def test_every_read_works_signed_out(app, client, thread, category_id):
    for url in read_urls(thread, category_id):
        body = ok(client.get(url))
        assert body, url


def test_current_session_signed_out_is_404_not_logged_in(client, alice):
    refused(client.get("/session/current.json"), 404, "not_logged_in")
    assert ok(alice.get("/session/current.json"))["current_user"]["username"] == "alice"


def writes(thread):
    """Each write route with a request that succeeds when alice sends it with her token."""
    return [
        ("post", "/posts.json", {"topic_id": thread["topic"], "raw": REPLY}),
        ("put", f"/posts/{thread['first']}.json", {"raw": "Alice edits her own first post."}),
        ("post", "/post_actions.json", {"id": thread["reply"], "post_action_type_id": "2"}),
        ("delete", f"/post_actions/{thread['reply']}.json", {"post_action_type_id": "2"}),
        ("delete", f"/posts/{thread['first']}.json", {}),
        ("delete", "/session/current.json", {}),
    ]


WRITE_IDS = ["reply", "edit", "like", "unlike", "delete", "sign-out"]


@pytest.mark.parametrize("index", range(len(WRITE_IDS)), ids=WRITE_IDS)
def test_every_write_signed_out_is_refused(app, client, thread, index):
    method, url, data = writes(thread)[index]
    before = snapshot(app)
    response = getattr(client, method)(url, json=data)
    if url == "/session/current.json":
        refused(response, 404, "not_logged_in")  # as Discourse: there is no session to end
    else:
        refused(response, 403, "not_logged_in")
    assert snapshot(app) == before


@pytest.mark.parametrize("token", [None, "", "wrong-token"], ids=["none", "empty", "wrong"])
@pytest.mark.parametrize("index", range(len(WRITE_IDS)), ids=WRITE_IDS)
def test_every_cookie_write_without_the_csrf_token_is_refused(app, alice, thread, index, token):
    method, url, data = writes(thread)[index]
    headers = {} if token is None else {"X-CSRF-Token": token}
    before = snapshot(app)
    for body in ({"json": data}, {"data": {**data, "authenticity_token": token or ""}}):
        response = getattr(alice.client, method)(url, headers=headers, **body)
        refused(response, 403, "invalid_access")
    assert snapshot(app) == before
    assert ok(alice.get("/session/current.json"))["current_user"]["username"] == "alice"


def run_writes(app, thread, send):
    for method, url, data in writes(thread):
        ok(send(method, url, data))
    assert load(app, Topic, thread["topic"]).posts_count == 3  # a reply added
    assert load(app, Topic, thread["topic"]).deleted_at is not None
    assert len(edits_of(app, thread["first"])) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Like.id))) == 0


def test_writes_with_the_csrf_header_work(app, alice, thread):
    run_writes(app, thread, lambda method, url, data: getattr(alice, method)(url, json=data))
    refused(alice.get("/session/current.json"), 404, "not_logged_in")  # signed out at the end


def test_writes_with_the_authenticity_token_form_field_work(app, alice, thread):
    def send(method, url, data):
        form = {**data, "authenticity_token": alice.csrf}
        return getattr(alice.client, method)(url, data=form)

    run_writes(app, thread, send)
    refused(alice.get("/session/current.json"), 404, "not_logged_in")


# --- sanitising (P5) ------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_safe_html(html):
    parser = _Tags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag not in {"script", "iframe", "style", "svg", "object", "embed", "form"}, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert name != "style", html
            if name in {"href", "src"} and value:
                squashed = re.sub(r"[\x00-\x20]", "", value).lower()
                assert not squashed.startswith(("javascript:", "data:", "vbscript:")), html
    lowered = html.lower()
    for marker in ("<script", "<iframe", "<style", "<svg"):
        assert marker not in lowered, html


DANGEROUS = {
    "script": "<script>alert('x')</script> followed by harmless words.",
    "inline-script": "Some words first <script>alert(1)</script> then more words.",
    "img-onerror": '<img src="x.png" onerror="alert(1)"> a picture with a handler',
    "img-onerror-bare": "An image: <img src=x onerror=alert(1)> in a sentence.",
    "md-js-link": "A markdown [link that runs code](javascript:alert(1)) here.",
    "html-js-link": '<a href="javascript:alert(1)">click this link please</a>',
    "mixed-case-js": '<a href="JaVaScRiPt:alert(1)">mixed case scheme link</a>',
    "entity-js": '<a href="java&#x09;script:alert(1)">entity obfuscated link</a>',
    "md-image-js": "An image ![alt text](javascript:alert(1)) in markdown.",
    "iframe": '<iframe src="https://evil.example/"></iframe> an embedded frame',
    "style-tag": "<style>body { display: none }</style> some styled text",
    "style-attr": '<p style="position:fixed" onclick="steal()">styled paragraph</p>',
    "svg": "<svg onload=alert(1)><circle r=5 /></svg> drawing something",
    "data-uri": '<a href="data:text/html;base64,PHNjcmlwdD4=">a data link here</a>',
    "form": '<form action="https://evil.example"><input name=x></form> a form here',
}


@pytest.mark.parametrize("raw", DANGEROUS.values(), ids=DANGEROUS.keys())
def test_cooked_is_sanitised_on_create_edit_and_reply(app, client, alice, bob, category_id, raw):
    first = new_topic(alice, category_id, raw=raw)
    assert first["raw"] == raw  # the source is kept as written
    assert_safe_html(first["cooked"])
    reply = new_reply(bob, first["topic_id"], raw=raw)
    assert_safe_html(reply["cooked"])
    edited = ok(alice.put(f"/posts/{first['id']}.json", json={"raw": raw + " (edited)"}))
    assert_safe_html(edited["post"]["cooked"])
    for post in ok(client.get(f"/t/{first['topic_id']}.json"))["post_stream"]["posts"]:
        assert_safe_html(post["cooked"])
    for post_id in (first["id"], reply["id"]):
        assert_safe_html(load(app, Post, post_id).cooked)


def test_harmless_markdown_survives_sanitising(alice, category_id):
    raw = "Some **bold** text, a [link](https://example.org/) and `code` too."
    cooked = new_topic(alice, category_id, raw=raw)["cooked"]
    assert "<strong>bold</strong>" in cooked
    assert "<code>code</code>" in cooked
    assert 'href="https://example.org/"' in cooked


# --- privacy: no IP, no e-mail in any response ----------------------------------------------


class Recording:
    """Wraps a client and keeps every response it gets."""

    def __init__(self, client, seen, username=None):
        self.client = client
        self.seen = seen
        self.username = username

    def __getattr__(self, method):
        send = getattr(self.client, method)

        def call(*args, **kwargs):
            response = send(*args, **kwargs)
            self.seen.append((method, args[0], response, self.username))
            return response

        return call


FORBIDDEN_KEYS = {"ip", "ip_address", "registration_ip_address", "email", "emails"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def walk(value):
    """Every key and every string value in a JSON document."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from walk(inner)
    elif isinstance(value, str):
        yield value


def ip_spellings(ips):
    for text in ips:
        ip = ipaddress.ip_address(text)
        yield str(ip)
        yield ip.exploded
        if ip.version == 4:
            yield f"::ffff:{ip}"


def test_no_response_contains_an_ip_or_an_email(app, users, member, category_id):
    seen = []
    anonymous = Recording(app.test_client(), seen)
    alice = Recording(member(users["alice"]), seen, "alice")
    bob = Recording(member(users["bob"]), seen, "bob")
    mia = Recording(member(users["mia"]), seen, "mia")

    first = new_topic(alice, category_id, ip=ALICE_IP)
    topic_id = first["topic_id"]
    second = new_reply(bob, topic_id, ip=BOB_IP)
    ok(
        alice.put(
            f"/posts/{first['id']}.json",
            json={"raw": "Edited from yet another place."},
            **at(EDIT_IP),
        )
    )
    ok(bob.post("/post_actions.json", json={"id": first["id"], "post_action_type_id": 2}))
    ok(mia.post("/posts.json", json={"topic_id": topic_id, "raw": REPLY}, **at("192.0.2.200")))
    for viewer in (anonymous, alice, bob, mia):
        for url in (
            f"/t/{topic_id}.json",
            "/latest.json",
            "/categories.json",
            f"/c/{category_id}.json",
            f"/posts/{first['id']}.json",
            f"/posts/{second['id']}.json",
            "/u/alice.json",
            "/u/bob.json",
            "/u/mia.json",
            "/session/current.json",
        ):
            viewer.get(url)

    with app.app_context():
        emails = dict(db.session.execute(select(User.username, User.email)).all())
    assert len(emails) == 4
    ips = [ALICE_IP, BOB_IP, EDIT_IP, "192.0.2.200"]
    assert len(seen) > 40
    own_profiles = 0
    for method, url, response, viewer in seen:
        assert response.status_code in (200, 404), (method, url, response.status_code)
        assert response.content_type == JSON_TYPE
        text = response.get_data(as_text=True)
        # A member's own profile shows them their own e-mail (P9), and nobody else's.
        own = viewer is not None and url == f"/u/{viewer}.json"
        own_profiles += own
        others = [e for name, e in emails.items() if not (own and name == viewer)]
        for secret in [*ip_spellings(ips), *others]:
            assert secret not in text, (method, url, secret)
        if own:
            assert response.get_json()["user"]["email"] == emails[viewer]
            continue
        for item in walk(response.get_json()):
            assert item.lower() not in FORBIDDEN_KEYS, (method, url, item)
            assert not EMAIL.search(item), (method, url, item)
    assert own_profiles == 3


# --- a fixed number of queries, whatever the size (and the first page of posts) -------------


@pytest.fixture
def viewer_client(request, app, users, member):
    name = request.param
    return app.test_client() if name is None else member(users[name])


def measure(count_queries, client, url):
    with count_queries() as queries:
        ok(client.get(url))
    return queries.count


@pytest.mark.parametrize(
    "viewer_client",
    [None, "alice", "mia"],
    indirect=True,
    ids=["signed-out", "member", "moderator"],
)
def test_topic_runs_a_constant_number_of_queries(
    app, users, category_id, count_queries, viewer_client
):
    everyone = [users[name] for name in ("bob", "ada", "alice", "mia")]
    small = seed_topic(app, everyone[:2], category_id, 3)
    large = seed_topic(app, everyone, category_id, 45)
    with app.app_context():  # some liked and deleted posts in both, so every path is taken
        for topic_id in (small, large):
            posts = list(db.session.scalars(select(Post).where(Post.topic_id == topic_id)))
            for post in posts[1:]:
                for user_id in everyone:
                    if user_id != post.user_id:
                        likes.like(db.session.get(User, user_id), post)
            posts[-1].deleted_at = posts[-1].created_at
        db.session.commit()
    measure(count_queries, viewer_client, f"/t/{small}.json")  # warm-up
    small_count = measure(count_queries, viewer_client, f"/t/{small}.json")
    large_count = measure(count_queries, viewer_client, f"/t/{large}.json")
    assert small_count == large_count
    assert small_count > 0


@pytest.mark.parametrize(
    "viewer_client", [None, "alice"], indirect=True, ids=["signed-out", "member"]
)
@pytest.mark.parametrize("path", ["/latest.json", "/c/{category}.json"])
def test_topic_lists_run_a_constant_number_of_queries(
    app, users, category_id, count_queries, viewer_client, path
):
    url = path.format(category=category_id)
    authors = [users[name] for name in ("alice", "bob", "mia", "ada")]
    for i in range(3):
        seed_topic(app, authors[i % 2 :], category_id, 2)
    measure(count_queries, viewer_client, url)  # warm-up
    few = measure(count_queries, viewer_client, url)
    for i in range(37):
        seed_topic(app, authors[i % 4 :] + authors[: i % 4], category_id, 2)
    body = ok(viewer_client.get(url))
    assert len(body["topic_list"]["topics"]) == 30
    assert "more_topics_url" in body["topic_list"]
    many = measure(count_queries, viewer_client, url)
    assert few == many


def test_topic_returns_20_posts_and_the_whole_stream(app, client, users, category_id):
    topic_id = seed_topic(app, [users["alice"], users["bob"]], category_id, 45)
    ids = post_ids_of(app, topic_id)
    topic = ok(client.get(f"/t/{topic_id}.json"))
    posts = topic["post_stream"]["posts"]
    assert len(posts) == 20
    assert [p["id"] for p in posts] == ids[:20]
    assert [p["post_number"] for p in posts] == list(range(1, 21))
    assert topic["post_stream"]["stream"] == ids
    assert len(topic["post_stream"]["stream"]) == 45
    assert topic["posts_count"] == 45
    assert topic["reply_count"] == 44
    assert topic["chunk_size"] == 20


def test_topic_posts_by_id_as_clients_page_through_the_stream(app, users, category_id, member):
    alice = member(users["alice"])
    first = alice.post(
        "/posts.json",
        json={
            "title": "A topic with a long stream",
            "raw": "The first post of many here.",
            "category": category_id,
        },
    ).get_json()
    topic_id = first["topic_id"]
    for n in range(24):
        r = alice.post("/posts.json", json={"topic_id": topic_id, "raw": f"Reply number {n} here."})
        assert r.status_code == 200
    stream = alice.get(f"/t/{topic_id}.json").get_json()["post_stream"]["stream"]
    assert len(stream) == 25
    rest = stream[20:]
    query = "&".join(f"post_ids[]={i}" for i in rest)
    r = alice.get(f"/t/{topic_id}/posts.json?{query}")
    assert r.status_code == 200
    assert [p["id"] for p in r.get_json()["post_stream"]["posts"]] == rest
    assert r.get_json()["id"] == topic_id
    # Ids of another topic's posts are not served through this one.
    other = alice.post(
        "/posts.json",
        json={
            "title": "Some other topic entirely",
            "raw": "Another first post, long.",
            "category": category_id,
        },
    ).get_json()
    r = alice.get(f"/t/{topic_id}/posts.json?post_ids[]={other['id']}")
    assert r.get_json()["post_stream"]["posts"] == []
    # Without ids: the first chunk, as Discourse answers (and pydiscourse's topic_posts asks).
    first_chunk = alice.get(f"/t/{topic_id}/posts.json").get_json()["post_stream"]["posts"]
    assert [p["id"] for p in first_chunk] == stream[:20]
    assert alice.get(f"/t/{topic_id}/posts.json?post_ids[]=abc").status_code == 422
    many = "&".join(f"post_ids[]={i}" for i in range(1, 102))
    assert alice.get(f"/t/{topic_id}/posts.json?{many}").status_code == 422
    assert alice.get("/t/999999/posts.json?post_ids[]=1").status_code == 404


def test_deleting_keeps_counters_true(app, users, category_id, member):
    alice, bob = member(users["alice"]), member(users["bob"])
    first = alice.post(
        "/posts.json",
        json={
            "title": "Counting likes and posts",
            "raw": "The first post, long enough.",
            "category": category_id,
        },
    ).get_json()
    reply = alice.post(
        "/posts.json", json={"topic_id": first["topic_id"], "raw": "A reply that bob likes."}
    ).get_json()
    bob.post("/post_actions.json", json={"id": reply["id"], "post_action_type_id": 2})
    assert bob.get(f"/t/{first['topic_id']}.json").get_json()["like_count"] == 1
    assert alice.delete(f"/posts/{reply['id']}.json").status_code == 200
    topic = bob.get(f"/t/{first['topic_id']}.json").get_json()
    assert topic["like_count"] == 0 and topic["posts_count"] == 1
    assert alice.delete(f"/posts/{first['id']}.json").status_code == 200
    category = bob.get("/categories.json").get_json()["category_list"]["categories"][0]
    assert (category["topic_count"], category["post_count"]) == (0, 0)


def test_the_topic_page_is_paged(app, users, category_id, member):
    alice = member(users["alice"])
    first = alice.post(
        "/posts.json",
        json={
            "title": "A long topic to page through",
            "raw": "Post number 0 of the topic.",
            "category": category_id,
        },
    ).get_json()
    for n in range(1, 25):
        alice.post(
            "/posts.json",
            json={"topic_id": first["topic_id"], "raw": f"Post number {n} of the topic."},
        )
    url = f"/t/{first['topic_slug']}/{first['topic_id']}"
    page1 = alice.get(url).text
    assert "Post number 19 of" in page1 and "Post number 20 of" not in page1
    assert 'rel="next"' in page1 and 'rel="prev"' not in page1
    page2 = alice.get(url + "?page=2").text
    assert "Post number 20 of" in page2 and "Post number 24 of" in page2
    assert 'rel="prev"' in page2 and 'rel="next"' not in page2
    assert alice.get(url + "?page=abc").status_code == 200


def test_posting_keeps_last_seen_to_the_minute(app, users, bob, thread):
    """A post marks its author as seen, but at most once a minute: not an UPDATE of the
    member's row for every post (as Discourse)."""
    with app.app_context():
        db.session.execute(update(User).where(User.id == users["bob"]).values(last_seen_at=None))
        db.session.commit()
    new_reply(bob, thread["topic"])
    seen = load(app, User, users["bob"]).last_seen_at
    assert seen is not None
    new_reply(bob, thread["topic"], raw=REPLY + " Again, within the minute.")
    assert load(app, User, users["bob"]).last_seen_at == seen  # no second write
    with app.app_context():  # as if the last post were two minutes ago
        db.session.execute(
            update(User)
            .where(User.id == users["bob"])
            .values(last_seen_at=seen - posting.LAST_SEEN_PRECISION * 2)
        )
        db.session.commit()
    new_reply(bob, thread["topic"], raw=REPLY + " And later on.")
    assert load(app, User, users["bob"]).last_seen_at > seen
