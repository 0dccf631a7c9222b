"""Discourse's routes beyond the first slice: without `.json`, latest posts, search, and
admins' category writes."""

from __future__ import annotations

import pytest

JSON = {"Accept": "application/json"}


def new_topic(client, category_id, title="A topic for the route tests", raw=None, **kw):
    r = client.post(
        "/posts.json",
        json={
            "title": title,
            "raw": raw or "A first post that is long enough.",
            "category": category_id,
        },
        **kw,
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_routes_answer_without_json_when_json_is_wanted(app, users, member, category_id):
    alice = member(users["alice"])
    first = new_topic(alice, category_id)
    assert alice.get("/latest", headers=JSON).get_json()["topic_list"]["topics"]
    r = alice.post(
        "/posts",
        headers=JSON,
        data={"topic_id": first["topic_id"], "raw": "A reply sent to /posts as a form."},
    )
    assert r.status_code == 200 and r.content_type == "application/json; charset=utf-8"
    r = alice.put(
        f"/posts/{r.get_json()['id']}",
        headers=JSON,
        data={"post[raw]": "An edit sent to /posts/{id} as a form.", "post[edit_reason]": "typo"},
    )
    assert r.status_code == 200 and r.get_json()["post"]["version"] == 2
    topic_path = f"/t/{first['topic_slug']}/{first['topic_id']}"
    assert alice.get(topic_path, headers=JSON).get_json()["id"] == first["topic_id"]
    # Browsers (and a tie, `*/*`) still get the page; no API answer is ever a redirect.
    assert alice.get(topic_path).content_type.startswith("text/html")
    assert alice.get(topic_path, headers={"Accept": "*/*"}).content_type.startswith("text/html")
    for path in ("/latest", "/categories", f"/t/{first['topic_id']}", "/session/current"):
        r = alice.get(path, headers=JSON)
        assert r.status_code == 200 and r.content_type.startswith("application/json"), path


def test_latest_posts_page_back_with_before(app, users, member, category_id):
    alice = member(users["alice"])
    first = new_topic(alice, category_id)
    for n in range(60):
        alice.post(
            "/posts.json",
            json={"topic_id": first["topic_id"], "raw": f"Reply {n:02d} of many here."},
        )
    page = alice.get("/posts.json").get_json()["latest_posts"]
    assert len(page) == 50
    ids = [p["id"] for p in page]
    assert ids == sorted(ids, reverse=True)
    assert page[0]["raw"] == "Reply 59 of many here." and page[0]["topic_title"]
    stream = alice.get(f"/t/{first['topic_id']}.json").get_json()["post_stream"]["stream"]
    assert len(stream) == 61
    older = alice.get(f"/posts.json?before={ids[-1]}").get_json()["latest_posts"]
    assert [p["id"] for p in older] == [i for i in reversed(stream) if i < ids[-1]][:50]
    assert len(older) == 11
    assert alice.get("/posts.json?before=abc").status_code == 422


def test_search_finds_posts_topics_and_users(app, users, member, category_id, client):
    alice = member(users["alice"])
    new_topic(
        alice,
        category_id,
        title="Gardening with tomatoes indoors",
        raw="Tomatoes need light, water and patience.",
    )
    new_topic(
        alice,
        category_id,
        title="Something else entirely here",
        raw="Nothing about vegetables in this one.",
    )
    r = client.get("/search.json?q=tomatoes")
    assert r.status_code == 200
    body = r.get_json()
    assert [p["topic_title"] for p in body["posts"]] == ["Gardening with tomatoes indoors"]
    assert body["grouped_search_result"]["post_ids"] == [body["posts"][0]["id"]]
    assert [t["title"] for t in body["topics"]] == ["Gardening with tomatoes indoors"]
    users_found = client.get("/search.json?q=alic").get_json()["users"]
    assert [u["username"] for u in users_found] == ["alice"]
    assert "email" not in str(users_found)
    assert client.get("/search.json?q=x").status_code == 422
    assert client.get("/search.json").status_code == 422


@pytest.mark.parametrize("who", [None, "alice", "mia"])
def test_only_admins_create_or_change_categories(app, users, member, client, category_id, who):
    sender = member(users[who]) if who else client
    r = sender.post("/categories.json", json={"name": "Not allowed"})
    assert r.status_code == 403
    r = sender.put(f"/categories/{category_id}.json", json={"name": "Renamed"})
    assert r.status_code == 403


def test_admins_create_and_change_categories(app, users, member, category_id):
    ada = member(users["ada"])
    r = ada.post(
        "/categories.json",
        json={"name": "Show and tell", "color": "ff8800", "description": "Things you made."},
    )
    assert r.status_code == 200, r.get_json()
    made = r.get_json()["category"]
    assert (made["name"], made["slug"], made["color"]) == (
        "Show and tell",
        "show-and-tell",
        "FF8800",
    )
    r = ada.put(f"/categories/{made['id']}.json", json={"name": "Show & tell", "slug": "show"})
    assert r.status_code == 200 and r.get_json()["success"] == "OK"
    assert (r.get_json()["category"]["name"], r.get_json()["category"]["slug"]) == (
        "Show & tell",
        "show",
    )
    for bad in ({"name": ""}, {"name": "General"}, {"name": "X", "color": "red"}, {"name": ["x"]}):
        r = ada.post("/categories.json", json=bad)
        assert r.status_code == 422, bad
    assert ada.put("/categories/999999.json", json={"name": "Nope"}).status_code == 404


def test_a_category_with_nul_characters_is_stored_without_them(app, users, member):
    """PostgreSQL refuses NUL in text (a 500 the API fuzzer found): dropped, as in posts."""
    ada = member(users["ada"])
    r = ada.post("/categories.json", json={"name": "Nul\x00 inside", "description": "a\x00b"})
    assert r.status_code == 200, r.get_json()
    made = r.get_json()["category"]
    assert (made["name"], made["description"]) == ("Nul inside", "ab")
    r = ada.put(
        f"/categories/{made['id']}.json",
        json={"name": "\x00Renamed", "description": "c\x00", "slug": "new\x00slug"},
    )
    assert r.status_code == 200, r.get_json()
    changed = r.get_json()["category"]
    assert (changed["name"], changed["description"], changed["slug"]) == (
        "Renamed",
        "c",
        "new-slug",
    )
    assert ada.post("/categories.json", json={"name": "\x00\x00"}).status_code == 422


def test_topic_lists_page_as_discourse_does(app, users, member, category_id, client):
    alice = member(users["alice"])
    for n in range(7):
        new_topic(alice, category_id, title=f"Topic number {n} for paging")
    first = client.get("/latest.json?per_page=3").get_json()["topic_list"]
    assert first["per_page"] == 3 and len(first["topics"]) == 3
    assert first["more_topics_url"] == "/latest.json?page=1&per_page=3"
    second = client.get(first["more_topics_url"]).get_json()["topic_list"]
    last = client.get("/latest.json?per_page=3&page=2").get_json()["topic_list"]
    titles = [t["title"] for t in first["topics"] + second["topics"] + last["topics"]]
    assert len(titles) == len(set(titles)) == 7 and "more_topics_url" not in last
    for bad in ("0", "101", "x", "-1"):
        assert client.get(f"/latest.json?per_page={bad}").status_code == 400
    r = client.get(f"/c/{category_id}.json?per_page=2")
    assert r.get_json()["topic_list"]["more_topics_url"].endswith("page=1&per_page=2")


def test_multipart_bodies_are_read_like_forms(app, users, member, category_id):
    alice = member(users["alice"])
    r = alice.post(
        "/posts.json",
        data={
            "title": "Sent as multipart form data",
            "raw": "A body sent as multipart.",
            "category": str(category_id),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["raw"] == "A body sent as multipart."
