"""The published Discourse client, `pydiscourse`, against a live Parlor over real HTTP
(issue 7 §4). Nothing in the client is patched: it sends what it sends to Discourse."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from pydiscourse import DiscourseClient
from pydiscourse.exceptions import DiscourseClientError
from sqlalchemy import select
from werkzeug.serving import make_server

from forum.content.models import Post, PostEdit
from forum.db import db

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(app: Flask, make_app) -> Iterator[tuple[str, Flask]]:
    """Parlor served over HTTP on a free port of 127.0.0.1."""
    parlor = make_app()
    port = _free_port()
    server = make_server("127.0.0.1", port, parlor, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", parlor
    finally:
        server.shutdown()
        thread.join(timeout=10)


def api_key(parlor: Flask, *args: str) -> str:
    """A key made with the CLI, as an operator would (`forum api-key create ...`)."""
    result = parlor.test_cli_runner().invoke(args=["forum", "api-key", "create", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def clients(live, users) -> dict[str, DiscourseClient]:
    """alice with her own key; bob through ada's all-users key (Api-Username: bob)."""
    base, parlor = live
    all_users = api_key(parlor, "ada", "--all-users", "--description", "pydiscourse test")
    return {
        "alice": DiscourseClient(
            base, api_username="alice", api_key=api_key(parlor, "alice"), timeout=10
        ),
        "bob": DiscourseClient(base, api_username="bob", api_key=all_users, timeout=10),
        "ada": DiscourseClient(base, api_username="ada", api_key=all_users, timeout=10),
    }


def ips_of(parlor: Flask, post_ids: list[int]) -> list[str]:
    with parlor.app_context():
        rows = db.session.scalars(select(Post.ip).where(Post.id.in_(post_ids)).order_by(Post.id))
        return [str(ip) for ip in rows]


TITLE = "Growing tomatoes on a balcony"
RAW = "Tomatoes want **sun**, water and patience."


def test_write_and_read_a_topic_through_pydiscourse(live, clients, category_id):
    _, parlor = live
    alice, bob = clients["alice"], clients["bob"]

    topic = alice.create_post(RAW, category_id=category_id, title=TITLE)
    assert (topic["post_number"], topic["username"], topic["raw"]) == (1, "alice", RAW)
    assert "<strong>sun</strong>" in topic["cooked"]
    topic_id, slug = topic["topic_id"], topic["topic_slug"]

    reply = bob.create_post("Mine grew in buckets, with mulch.", topic_id=topic_id)
    assert (reply["post_number"], reply["username"], reply["topic_id"]) == (2, "bob", topic_id)
    assert ips_of(parlor, [topic["id"], reply["id"]]) == ["127.0.0.1", "127.0.0.1"]

    edited = bob.update_post(reply["id"], "Mine grew in buckets, with straw mulch.", "detail")
    assert edited["post"]["version"] == 2
    assert edited["post"]["raw"] == "Mine grew in buckets, with straw mulch."
    with parlor.app_context():
        edit = db.session.scalar(select(PostEdit).where(PostEdit.post_id == reply["id"]))
        assert edit is not None and str(edit.ip) == "127.0.0.1"

    # pydiscourse has no like method: its own request method, as a script would call it.
    liked = alice._post("/post_actions.json", id=reply["id"], post_action_type_id=2)
    assert liked["id"] == reply["id"]
    assert liked["actions_summary"][0]["count"] == 1 and liked["actions_summary"][0]["acted"]

    shown = alice.topic(slug, topic_id)
    assert shown["title"] == TITLE and shown["posts_count"] == 2
    posts = shown["post_stream"]["posts"]
    assert [p["username"] for p in posts] == ["alice", "bob"]
    assert "straw mulch" in posts[1]["cooked"]
    assert posts[1]["actions_summary"][0]["count"] == 1
    assert shown["post_stream"]["stream"] == [topic["id"], reply["id"]]

    chunk = alice.topic_posts(topic_id, **{"post_ids[]": [reply["id"]]})
    assert [p["id"] for p in chunk["post_stream"]["posts"]] == [reply["id"]]
    first_chunk = alice.topic_posts(topic_id)
    assert [p["post_number"] for p in first_chunk["post_stream"]["posts"]] == [1, 2]

    post = bob.post_by_id(topic["id"])
    assert (post["raw"], post["username"], post["topic_id"]) == (RAW, "alice", topic_id)

    latest = bob.latest_topics()["topic_list"]["topics"]
    assert [(t["id"], t["title"], t["posts_count"]) for t in latest] == [(topic_id, TITLE, 2)]
    assert latest[0]["last_poster_username"] == "bob"

    in_category = bob.category_topics(category_id)["topic_list"]["topics"]
    assert [t["title"] for t in in_category] == [TITLE]
    categories = bob.categories()
    general = next(c for c in categories if c["id"] == category_id)
    assert (general["name"], general["topic_count"], general["post_count"]) == ("General", 1, 2)

    found = bob.search("tomatoes")  # the title matches, so both posts of the topic do
    assert sorted(p["id"] for p in found["posts"]) == [topic["id"], reply["id"]]
    assert [t["title"] for t in found["topics"]] == [TITLE]
    assert bob.search("straw mulch")["grouped_search_result"]["post_ids"] == [reply["id"]]
    assert found["grouped_search_result"]["term"] == "tomatoes"

    user = bob.user("alice")
    assert (user["username"], user["post_count"], user["topic_count"]) == ("alice", 1, 1)
    assert "email" not in user and "127.0.0.1" not in repr(user)


def test_a_wrong_key_is_a_client_error(live, clients):
    base, _ = live
    wrong = DiscourseClient(base, api_username="alice", api_key="0" * 64, timeout=10)
    with pytest.raises(DiscourseClientError) as raised:
        wrong.latest_topics()
    assert raised.value.response.status_code == 403
    with pytest.raises(DiscourseClientError):
        wrong.create_post("A post that must not be made.", category_id=1, title="Never made")
    # A single-user key does not act as someone else.
    key = clients["alice"].api_key
    impostor = DiscourseClient(base, api_username="bob", api_key=key, timeout=10)
    with pytest.raises(DiscourseClientError):
        impostor.latest_topics()


def test_client_errors_for_what_parlor_refuses(live, clients, category_id):
    alice = clients["alice"]
    with pytest.raises(DiscourseClientError) as raised:
        alice.create_post("Short", category_id=category_id, title="A title long enough")
    assert raised.value.response.status_code == 422
    with pytest.raises(DiscourseClientError) as raised:
        alice.topic("no-such-topic", 999999)
    assert raised.value.response.status_code == 404
    topic = clients["bob"].create_post(RAW, category_id=category_id, title=TITLE)
    with pytest.raises(DiscourseClientError) as raised:
        alice.update_post(topic["id"], "Alice may not edit bob's post.")
    assert raised.value.response.status_code == 403


def test_admin_writes_categories_through_the_client(live, clients):
    """No category method of pydiscourse 1.7 matches Parlor's subset; its request methods do."""
    ada = clients["ada"]
    made: dict[str, Any] = ada._post("/categories.json", name="Orchard", color="49d9e9")
    category = made["category"]
    assert (category["name"], category["color"]) == ("Orchard", "49D9E9")
    updated = ada._put(f"/categories/{category['id']}.json", name="Orchard and vines")
    assert updated["category"]["name"] == "Orchard and vines"
    assert "Orchard and vines" in [c["name"] for c in ada.categories()]
