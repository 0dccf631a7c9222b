"""The forum's reading and writing pages (issue 8, §1): every page signed out and signed in,
every write as a plain form POST with `authenticity_token`, the refusals the API makes, as
pages, and a topic page's cost that does not grow with its posts."""

from __future__ import annotations

import ipaddress
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import make_user
from flask import Flask
from helpers import at

from forum.content import likes, posting
from forum.content.models import Like, Post, Topic
from forum.db import db
from forum.moderation.hide import hide_post
from forum.moderation.models import AuditEntry
from forum.moderation.screening import screen
from forum.timeutil import utcnow
from forum.users.models import User

IP = ipaddress.ip_address("192.0.2.10")
BODY = "A post body that is long enough to be accepted."
TOKEN = re.compile(r'name="authenticity_token" value="([^"]+)"')


# -- helpers -----------------------------------------------------------------------------


def token_from(page: str) -> str:
    found = TOKEN.search(page)
    assert found, "the page has no form with an authenticity_token"
    return found.group(1)


def submit(who: Any, url: str, data: dict[str, Any] | None = None, token: bool = True) -> Any:
    """A browser's form POST: the token only as the form field, never as a header."""
    fields = dict(data or {})
    if token:
        fields["authenticity_token"] = who.csrf
    return who.client.post(url, data=fields, **at("198.51.100.7"))


def articles(page: str) -> list[str]:
    return re.findall(r'<article class="post[^"]*" id="post_(\d+)"', page)


def make_topic(app: Flask, user_id: int, category_id: int, title: str, replies: int = 0) -> dict:
    """A topic by `user_id` with `replies` replies by the same member, made by the services."""
    with app.app_context():
        author = db.session.get(User, user_id)
        first = posting.create_topic(author, title, BODY, category_id, IP)
        ids = [first.id]
        for n in range(replies):
            ids.append(posting.create_reply(author, first.topic_id, f"{BODY} Reply {n}.", IP).id)
        db.session.commit()
        topic = db.session.get(Topic, first.topic_id)
        return {
            "id": topic.id,
            "slug": topic.slug,
            "posts": ids,
            "url": f"/t/{topic.slug}/{topic.id}",
        }


@pytest.fixture
def thread(app, users, category_id) -> dict:
    """alice's topic with one reply by bob."""
    made = make_topic(app, users["alice"], category_id, "Tea in the parlor today")
    with app.app_context():
        bob = db.session.get(User, users["bob"])
        reply = posting.create_reply(bob, made["id"], "Bob replies, long enough to stand.", IP)
        db.session.commit()
        made["reply"] = reply.id
    made["first"] = made["posts"][0]
    return made


def post_row(app: Flask, post_id: int) -> Post:
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None
        db.session.expunge(post)
        return post


class PageCheck(HTMLParser):
    """What a page must get right whatever it shows: unique ids, a label for every control,
    aria-describedby pointing at something, and nothing inline the CSP would block."""

    CONTROLS = ("input", "select", "textarea")

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.in_label = 0
        self.unlabelled: list[str] = []
        self.described_by: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "id" in a:
            self.ids.append(str(a["id"]))
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        labelled = self.in_label or a.get("type") in ("hidden", "submit")
        if tag in self.CONTROLS and not labelled:
            self.unlabelled.append(str(a.get("id") or a.get("name")))
        if a.get("aria-describedby"):
            self.described_by += str(a["aria-describedby"]).split()
        if "style" in a or any(k.startswith("on") for k in a) or tag == "style":
            self.inline.append(tag)
        if tag == "script" and not a.get("src"):
            self.inline.append("script")

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1

    def problems(self) -> list[str]:
        found = []
        dupes = {i for i in self.ids if self.ids.count(i) > 1}
        if dupes:
            found.append(f"duplicate ids {sorted(dupes)}")
        unlabelled = [c for c in self.unlabelled if c not in self.label_for]
        if unlabelled:
            found.append(f"controls without a label {unlabelled}")
        missing = [i for i in self.described_by if i not in self.ids]
        if missing:
            found.append(f"aria-describedby points nowhere {missing}")
        if self.inline:
            found.append(f"inline script, style or handler in {self.inline}")
        return found


def check_page(html: str) -> None:
    checker = PageCheck()
    checker.feed(html)
    assert checker.problems() == []


# -- reading -----------------------------------------------------------------------------


def test_every_page_renders_signed_out_without_forms_or_cookies(client, thread, category_id):
    pages = {
        "/": "Tea in the parlor today",
        "/latest": "Tea in the parlor today",
        "/categories": "General",
        f"/c/general/{category_id}": "Tea in the parlor today",
        thread["url"]: "Bob replies, long enough to stand.",
        "/u/alice": "Tea in the parlor today",
        "/search?q=parlor": "Tea in the parlor today",
        "/search": "Words to find",
    }
    for url, expected in pages.items():
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.content_type == "text/html; charset=utf-8"
        assert expected in r.text, url
        assert "authenticity_token" not in r.text, url  # visitors get no write forms
        assert "Sign in with GitHub" in r.text
        assert "Set-Cookie" not in r.headers, url  # no session for a reader (§2)
    page = client.get(thread["url"]).text
    assert "Sign in to reply" in page and 'action="/t/' not in page
    assert 'data-action="like"' not in page and 'data-action="edit"' not in page


def test_every_page_renders_signed_in(alice, thread, category_id):
    for url in ("/", "/latest", "/categories", f"/c/general/{category_id}", "/u/bob"):
        r = alice.get(url)
        assert r.status_code == 200, url
        assert "Signed in as" in r.text
    page = alice.get(thread["url"]).text
    assert f'action="/t/{thread["id"]}/reply"' in page and 'for="reply-raw"' in page
    # alice may edit and delete her post, and like bob's but not her own.
    assert f'href="/posts/{thread["first"]}/edit"' in page
    assert f'action="/posts/{thread["first"]}/delete"' in page
    assert f'action="/posts/{thread["reply"]}/like"' in page
    assert f'action="/posts/{thread["first"]}/like"' not in page
    assert f'href="/posts/{thread["reply"]}/edit"' not in page
    assert 'data-action="hide"' not in page and "data-reveal-ip" not in page  # not staff
    new = alice.get("/new-topic")
    assert new.status_code == 200
    for label in (
        'for="topic-title">Title',
        'for="topic-category">Category',
        'for="topic-raw">Body',
    ):
        assert label in new.text


def test_user_text_is_escaped(app, alice, users, category_id):
    with app.app_context():
        user = db.session.get(User, users["alice"])
        user.first_name = "<b>Al</b>"
        db.session.commit()
    made = make_topic(app, users["alice"], category_id, "<script>alert(1)</script> title")
    alice.post(
        "/posts.json", json={"topic_id": made["id"], "raw": "<script>alert(2)</script> " + BODY}
    )
    for url in (made["url"], "/", "/u/alice", "/search?q=alert"):
        page = alice.get(url).text
        assert "<script>alert" not in page, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt; title" in alice.get(made["url"]).text
    assert "&lt;b&gt;Al&lt;/b&gt;" in alice.get(made["url"]).text


def test_topic_by_number_and_post_by_number_redirect(client, app, users, category_id):
    made = make_topic(app, users["alice"], category_id, "A long topic of many posts", 25)
    r = client.get(f"/t/{made['id']}")
    assert r.status_code == 302 and r.headers["Location"] == made["url"]
    r = client.get(f"{made['url']}/23")
    assert r.status_code == 302
    assert r.headers["Location"] == f"{made['url']}?page=2#post_23"
    assert client.get(f"/t/{made['id'] + 1}").status_code == 404


def test_long_topics_are_paged(client, app, users, category_id):
    made = make_topic(app, users["alice"], category_id, "A long topic of many posts", 44)
    first = client.get(made["url"]).text
    assert articles(first) == [str(n) for n in range(1, 21)]
    assert "Page 1 of 3" in first and f'href="{made["url"]}?page=2"' in first
    last = client.get(made["url"] + "?page=3").text
    assert articles(last) == [str(n) for n in range(41, 46)]
    assert 'rel="next"' not in last and 'rel="prev"' in last
    assert client.get(made["url"] + "?page=4").status_code == 404
    assert client.get(made["url"] + "?page=99999999999999999999").status_code == 404
    assert articles(client.get(made["url"] + "?page=abc").text)[0] == "1"
    assert articles(client.get(made["url"] + "?page=-3").text)[0] == "1"


def test_latest_and_category_pages_are_paged(client, app, users, category_id):
    with app.app_context():
        alice = db.session.get(User, users["alice"])
        for n in range(31):
            posting.create_topic(alice, f"Topic number {n:02d} of many", BODY, category_id, IP)
        db.session.commit()
    for url in ("/latest", f"/c/general/{category_id}"):
        page = client.get(url).text
        assert page.count('class="topic-item"') == 30 and 'rel="next"' in page
        second = client.get(url + "?page=2").text
        assert second.count('class="topic-item"') == 1 and "Topic number 00" in second
        assert client.get(url + "?page=3").status_code == 404


def test_public_profile_shows_only_public_fields(app, client, mia, users, thread):
    with app.app_context():
        alice = db.session.get(User, users["alice"])
        hide_post(db.session.get(User, users["mia"]), db.session.get(Post, thread["first"]))
        alice.newsletter = True
        db.session.commit()
    page = client.get("/u/alice").text
    assert "alice" in page and "Alice Tester" in page and "Joined" in page
    assert "alice@example.com" not in page and "192.0.2.10" not in page
    assert "newsletter" not in page.lower()
    # Her hidden post is not listed for others.
    assert "Tea in the parlor today" not in page
    assert client.get("/u/nobody-at-all").status_code == 404
    staff_link = 'href="/admin/users/alice"'
    assert staff_link not in page
    assert (staff_link in mia.get("/u/alice").text) == ("web.staff_user" in app.view_functions)


def test_search_page(client):
    assert client.get("/search?q=x").status_code == 422
    r = client.get("/search?q=" + "x" * 500)
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert 'aria-describedby="search-q-error"' in r.text
    assert client.get("/search?q=nothing+like+it").status_code == 200


def test_search_finds_posts_and_members(client, thread):
    page = client.get("/search?q=replies").text
    assert "Bob replies" in page
    assert f"/t/{thread['slug']}/{thread['id']}/2" in page
    assert 'href="/u/bob"' in client.get("/search?q=bob").text


# -- writing -----------------------------------------------------------------------------


def test_new_topic_through_the_form(app, alice, category_id):
    form = alice.get(f"/new-topic?category={category_id}").text
    assert f'<option value="{category_id}" selected>' in form
    r = alice.client.post(
        "/new-topic",
        data={
            "authenticity_token": token_from(form),
            "title": "A topic posted from a form",
            "category": str(category_id),
            "raw": BODY,
        },
        **at("203.0.113.5"),
    )
    assert r.status_code == 303
    with app.app_context():
        topic = db.session.query(Topic).filter_by(title="A topic posted from a form").one()
        post = db.session.query(Post).filter_by(topic_id=topic.id).one()
        assert str(post.ip) == "203.0.113.5"  # P6: the post's address, from the form too
    assert r.headers["Location"] == f"/t/{topic.slug}/{topic.id}#post_1"
    page = alice.client.get(r.headers["Location"]).text
    assert "Your topic is posted." in page and BODY in page


def test_new_topic_errors_keep_the_text(app, alice, category_id):
    r = submit(
        alice,
        "/new-topic",
        {"title": "Short <i>", "category": str(category_id), "raw": "Kept <text> & more"},
    )
    assert r.status_code == 422
    assert 'id="topic-title-error" role="alert"' in r.text
    assert "Title is too short" in r.text
    assert 'aria-describedby="topic-title-hint topic-title-error" aria-invalid="true"' in r.text
    assert (
        'value="Short &lt;i&gt;"' in r.text and "Kept &lt;text&gt; &amp; more</textarea>" in r.text
    )
    r = submit(alice, "/new-topic", {"title": "A perfectly fine title", "raw": BODY})
    assert r.status_code == 422 and "Category is not valid" in r.text
    assert 'aria-describedby="topic-category-error"' in r.text
    with app.app_context():
        assert db.session.query(Topic).count() == 0


def test_reply_through_the_form(app, bob, thread):
    token = token_from(bob.get(thread["url"]).text)
    r = bob.client.post(
        f"/t/{thread['id']}/reply",
        data={"authenticity_token": token, "raw": "A second reply from the form, long enough."},
        **at("203.0.113.6"),
    )
    assert r.status_code == 303
    assert r.headers["Location"] == f"{thread['url']}#post_3"
    page = bob.client.get(r.headers["Location"]).text
    assert "Your reply is posted." in page and "A second reply from the form" in page
    with app.app_context():
        post = db.session.query(Post).filter_by(topic_id=thread["id"], post_number=3).one()
        assert str(post.ip) == "203.0.113.6"


def test_reply_lands_on_the_last_page(app, alice, users, category_id):
    made = make_topic(app, users["alice"], category_id, "A long topic of many posts", 20)
    r = submit(alice, f"/t/{made['id']}/reply", {"raw": BODY})
    assert r.status_code == 303 and r.headers["Location"] == f"{made['url']}?page=2#post_22"


def test_reply_errors_keep_the_text(alice, thread):
    r = submit(alice, f"/t/{thread['id']}/reply", {"raw": "too <short>"})
    assert r.status_code == 422
    assert 'id="reply-raw-error" role="alert"' in r.text and "Body is too short" in r.text
    assert 'aria-describedby="reply-raw-hint reply-raw-error" aria-invalid="true"' in r.text
    assert ">too &lt;short&gt;</textarea>" in r.text
    assert articles(r.text) == ["1", "2"]  # the topic, shown again around the form
    r = submit(alice, f"/t/{thread['id']}/reply", {})
    assert r.status_code == 422 and "Body can&#39;t be blank" in r.text


def test_closed_topic_refuses_members_and_keeps_their_text(app, alice, mia, thread):
    assert submit(mia, f"/t/{thread['id']}/close").status_code == 303
    page = alice.get(thread["url"]).text
    assert "This topic is closed" in page and 'for="reply-raw"' not in page
    r = submit(alice, f"/t/{thread['id']}/reply", {"raw": "Still want to say this, at length."})
    assert r.status_code == 403
    assert "This topic is closed; you cannot reply to it." in r.text
    assert "Still want to say this, at length.</textarea>" in r.text
    # Staff still may reply, as the API allows.
    assert submit(mia, f"/t/{thread['id']}/reply", {"raw": BODY}).status_code == 303
    assert submit(mia, f"/t/{thread['id']}/reopen").status_code == 303
    assert submit(alice, f"/t/{thread['id']}/reply", {"raw": BODY}).status_code == 303


def test_suspended_member_cannot_write(app, alice, users, thread):
    with app.app_context():
        user = db.session.get(User, users["alice"])
        user.suspended_until = utcnow().replace(year=utcnow().year + 1)
        user.suspended_reason = "Cooling off"
        db.session.commit()
    page = alice.get(thread["url"]).text
    assert "Your account is suspended until" in page and 'for="reply-raw"' not in page
    assert 'data-action="edit"' not in page and 'data-action="like"' not in page
    r = submit(alice, f"/t/{thread['id']}/reply", {"raw": "Words I do not want to lose."})
    assert r.status_code == 403 and "Cooling off" in r.text
    assert "Words I do not want to lose.</textarea>" in r.text
    assert alice.get("/new-topic").status_code == 403
    assert alice.get(f"/posts/{thread['first']}/edit").status_code == 403
    assert submit(alice, f"/posts/{thread['reply']}/like").status_code == 403


def test_edit_through_the_form(app, alice, thread):
    form = alice.get(f"/posts/{thread['first']}/edit")
    assert form.status_code == 200 and f"{BODY}</textarea>" in form.text
    assert 'for="edit-raw">Body' in form.text and 'for="edit-reason">' in form.text
    r = submit(
        alice,
        f"/posts/{thread['first']}/edit",
        {"raw": "An edited body, long enough to keep.", "edit_reason": "typo"},
    )
    assert r.status_code == 303 and r.headers["Location"] == f"{thread['url']}#post_1"
    post = post_row(app, thread["first"])
    assert post.raw == "An edited body, long enough to keep." and post.version == 2
    r = submit(alice, f"/posts/{thread['first']}/edit", {"raw": "short <b>"})
    assert r.status_code == 422 and "short &lt;b&gt;</textarea>" in r.text
    assert 'id="edit-raw-error" role="alert"' in r.text


def test_others_cannot_edit_or_delete(app, alice, bob, thread):
    assert bob.get(f"/posts/{thread['first']}/edit").status_code == 403
    r = submit(bob, f"/posts/{thread['first']}/edit", {"raw": "Bob rewrites alice's post!"})
    assert r.status_code == 403 and "not permitted to edit" in r.text
    r = submit(bob, f"/posts/{thread['first']}/delete")
    assert r.status_code == 403 and "not permitted to delete" in r.text
    post = post_row(app, thread["first"])
    assert post.raw == BODY and post.deleted_at is None


def test_delete_a_reply_and_a_topic(app, alice, bob, thread, category_id):
    page = bob.get(thread["url"]).text
    assert 'data-confirm="Delete this post?"' in page
    r = submit(bob, f"/posts/{thread['reply']}/delete")
    assert r.status_code == 303 and r.headers["Location"].startswith(thread["url"])
    assert post_row(app, thread["reply"]).deleted_at is not None
    assert articles(bob.client.get(thread["url"]).text) == ["1"]
    # Deleted: gone for members, as on the API.
    assert submit(bob, f"/posts/{thread['reply']}/delete").status_code == 404
    assert bob.get(f"/posts/{thread['reply']}/edit").status_code == 404
    r = submit(alice, f"/posts/{thread['first']}/delete")
    assert r.status_code == 303 and r.headers["Location"] == f"/c/general/{category_id}"
    assert alice.get(thread["url"]).status_code == 404


def test_like_and_unlike(app, alice, bob, thread):
    r = submit(alice, f"/posts/{thread['reply']}/like")
    assert r.status_code == 303 and r.headers["Location"] == f"{thread['url']}#post_2"
    page = alice.client.get(r.headers["Location"]).text
    assert 'data-like-count="1">1 like<' in page
    assert f'action="/posts/{thread["reply"]}/unlike"' in page
    assert submit(alice, f"/posts/{thread['reply']}/like").status_code == 403  # twice
    assert submit(bob, f"/posts/{thread['reply']}/like").status_code == 403  # own post
    assert submit(alice, f"/posts/{thread['reply']}/unlike").status_code == 303
    assert post_row(app, thread["reply"]).like_count == 0
    r = submit(alice, f"/posts/{thread['reply']}/unlike")
    assert r.status_code == 403 and "You have not liked this post." in r.text


def test_every_write_needs_the_token(app, alice, mia, thread, category_id):
    writes = {
        "/new-topic": {"title": "A topic without a token", "category": category_id, "raw": BODY},
        f"/t/{thread['id']}/reply": {"raw": BODY},
        f"/posts/{thread['first']}/edit": {"raw": "Changed without a token!!"},
        f"/posts/{thread['reply']}/like": {},
        f"/posts/{thread['reply']}/delete": {},
    }
    for url, data in writes.items():
        r = submit(alice, url, data, token=False)
        assert r.status_code == 403, url
        assert "This form has expired" in r.text
        r = alice.client.post(url, data={**data, "authenticity_token": "forged"})
        assert r.status_code == 403, url
    for url in (
        f"/posts/{thread['reply']}/hide",
        f"/posts/{thread['reply']}/unhide",
        f"/t/{thread['id']}/close",
        f"/t/{thread['id']}/reopen",
    ):
        assert submit(mia, url, token=False).status_code == 403, url
    with app.app_context():
        assert db.session.query(Topic).count() == 1
        assert db.session.query(Post).count() == 2
        assert db.session.query(Like).count() == 0
        assert db.session.get(Post, thread["reply"]).hidden_at is None
        assert db.session.get(Topic, thread["id"]).closed is False


def test_visitors_are_asked_to_sign_in(client, thread):
    for url in ("/new-topic", f"/posts/{thread['first']}/edit"):
        r = client.get(url)
        assert r.status_code == 403 and 'name="next" value="' + url + '"' in r.text
    for url in (f"/t/{thread['id']}/reply", f"/posts/{thread['reply']}/like", "/new-topic"):
        r = client.post(url, data={"raw": BODY})
        assert r.status_code == 403 and "Sign in with GitHub to do this." in r.text


# -- staff -------------------------------------------------------------------------------


def test_staff_hide_and_unhide(app, client, alice, mia, thread):
    page = mia.get(thread["url"]).text
    assert 'data-action="hide"' in page and 'data-action="close-topic"' in page
    if "web.post_ip" in app.view_functions:
        assert f'href="/admin/posts/{thread["reply"]}/ip" data-reveal-ip' in page
    r = submit(mia, f"/posts/{thread['reply']}/hide")
    assert r.status_code == 303 and r.headers["Location"] == f"{thread['url']}#post_2"
    for who in (client, alice):
        seen = who.get(thread["url"]).text
        assert "hidden by a moderator" in seen and "Bob replies" not in seen
    staff_view = mia.get(thread["url"]).text
    assert "Bob replies" in staff_view and "data-hidden" in staff_view
    assert 'data-action="unhide"' in staff_view
    assert submit(mia, f"/posts/{thread['reply']}/unhide").status_code == 303
    assert "Bob replies" in client.get(thread["url"]).text
    with app.app_context():
        actions = [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]
        assert actions == ["hide_post", "unhide_post"]


def test_members_cannot_hide_or_close(app, alice, thread):
    for url in (f"/posts/{thread['reply']}/hide", f"/t/{thread['id']}/close"):
        r = submit(alice, url)
        assert r.status_code == 403 and "Only moderators and admins" in r.text
    with app.app_context():
        assert db.session.get(Topic, thread["id"]).closed is False
        assert db.session.get(Post, thread["reply"]).hidden_at is None


# -- cost and robustness ------------------------------------------------------------------


def _topic_of(app: Flask, users: dict[str, int], category_id: int, posts: int) -> str:
    """A topic of `posts` posts, each by a member of its own, each liked by bob, one of
    them hidden: anything loaded per post or per author would show in the count."""
    with app.app_context():
        authors = [make_user(f"poster{posts}x{n}") for n in range(posts)]
        first = posting.create_topic(authors[0], f"A topic of {posts} posts", BODY, category_id, IP)
        made = [first]
        for author in authors[1:]:
            made.append(posting.create_reply(author, first.topic_id, BODY, IP))
        bob = db.session.get(User, users["bob"])
        for post in made:
            likes.like(bob, post)
        hide_post(db.session.get(User, users["mia"]), made[-1])
        db.session.commit()
        topic = db.session.get(Topic, first.topic_id)
        return f"/t/{topic.slug}/{topic.id}"


def test_topic_page_queries_do_not_grow_with_posts(
    app, client, users, category_id, member, count_queries
):
    small = _topic_of(app, users, category_id, 3)
    full = _topic_of(app, users, category_id, 20)
    for who in (client, member(users["bob"]), member(users["mia"])):
        who.get(small)  # warm up: the session and the caches
        counts = []
        for url in (small, full):
            with count_queries() as q:
                r = who.get(url)
            assert r.status_code == 200
            counts.append(q.count)
        assert counts[0] == counts[1], counts
        assert counts[1] <= 8, counts
    assert len(articles(client.get(full).text)) == 20


def test_bad_input_never_fails_with_a_server_error(alice, thread, category_id):
    checks = [
        alice.get("/t/x/99999999999999999999"),
        alice.get("/t/x/2147483647"),
        alice.get("/c/x/2147483647"),
        alice.get("/posts/2147483647/edit"),
        alice.get("/u/" + "x" * 300),
        alice.get("/search?q=%ff%fe"),
        alice.get("/latest?page=%ff"),
        alice.get(f"/new-topic?category=%ff{category_id}"),
        submit(alice, "/posts/2147483647/like"),
        submit(alice, "/t/2147483647/reply", {"raw": BODY}),
        submit(
            alice, "/new-topic", {"title": "x" * 5000, "raw": "y" * 40000, "category": "9" * 40}
        ),
        submit(alice, f"/posts/{thread['first']}/edit", {"raw": BODY, "edit_reason": "r" * 300}),
        alice.client.post(
            f"/t/{thread['id']}/reply",
            data=b"authenticity_token=" + alice.csrf.encode() + b"&raw=%ff%fe%00" + b"z" * 30,
            content_type="application/x-www-form-urlencoded",
        ),
    ]
    for r in checks:
        assert r.status_code < 500, (r.request.path, r.status_code)
    assert checks[0].status_code == checks[1].status_code == checks[2].status_code == 404
    assert checks[10].status_code == 422 and checks[11].status_code == 422


def test_json_twins_still_answer_json(alice, thread):
    for path in ("/latest", "/categories", "/u/alice", f"/t/{thread['id']}", "/search?q=parlor"):
        r = alice.get(path, headers={"Accept": "application/json"})
        assert r.status_code == 200, path
        assert r.content_type == "application/json; charset=utf-8", path
    assert alice.get("/u/alice.json").get_json()["user"]["username"] == "alice"


# -- mounted under a prefix ---------------------------------------------------------------


def test_pages_and_forms_under_a_prefix(host, app, users, thread):
    client = host.test_client()
    with host.app_context():
        session_id = db.session.get(User, users["bob"]).get_id()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
    url = f"/forum/t/{thread['slug']}/{thread['id']}"
    page = client.get(url).text
    assert f'action="/forum/t/{thread["id"]}/reply"' in page
    assert 'href="/forum/u/alice"' in page and 'href="/forum/parlor-static/parlor.css"' in page
    assert 'action="/t/' not in page and 'href="/u/' not in page
    r = client.post(
        f"/forum/t/{thread['id']}/reply",
        data={"authenticity_token": token_from(page), "raw": "A reply under the prefix, long."},
    )
    assert r.status_code == 303 and r.headers["Location"] == f"{url}#post_3"
    assert "A reply under the prefix" in client.get(url).text
    assert client.get(f"/forum/t/{thread['id']}").headers["Location"] == url


def test_pages_are_well_formed_for_people_and_the_csp(app, client, alice, mia, thread, category_id):
    """Unique ids, labelled controls, working aria-describedby and no inline code, on every
    page of this module as each kind of reader sees it, errors included."""
    urls = [
        "/",
        "/categories",
        f"/c/general/{category_id}",
        thread["url"],
        "/u/alice",
        "/search?q=parlor",
        "/search?q=x",
    ]
    for who in (client, alice, mia):
        for url in urls:
            check_page(who.get(url).text)
    check_page(alice.get("/new-topic").text)
    check_page(alice.get(f"/posts/{thread['first']}/edit").text)
    check_page(submit(alice, "/new-topic", {"title": "short"}).text)
    check_page(submit(alice, f"/t/{thread['id']}/reply", {"raw": "short"}).text)
    check_page(submit(alice, f"/posts/{thread['first']}/edit", {"raw": ""}).text)
    check_page(submit(alice, f"/posts/{thread['first']}/like").text)


def test_screened_address_cannot_write_and_keeps_the_text(app, alice, users, thread):
    with app.app_context():
        screen(db.session.get(User, users["ada"]), "198.51.100.0/24", "spam wave")
        db.session.commit()
    r = submit(alice, f"/t/{thread['id']}/reply", {"raw": "From a screened network, long."})
    assert r.status_code == 403 and "blocked from posting" in r.text
    assert "From a screened network, long.</textarea>" in r.text
    with app.app_context():
        assert db.session.query(Post).count() == 2
