"""SQL statements per request stay the same however many posts a topic or forum has
(issue 10: no query per post, per author or per topic).

/t/{id}.json and the topic lists (/latest.json, a category's) are covered in
test_content_api.py; this module covers a topic's posts by id and the HTML pages.
Each test counts a small and a large case after a warm-up, as a signed-out visitor and
as a member who liked some posts (the "liked" path), with deleted posts in both.
"""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import select

from forum.content import likes, posting
from forum.content.models import Post
from forum.db import db
from forum.users.models import User

RAW = "A post written for the query count tests, long enough."
TITLE = "Counting the queries of a page"


def seed_topic(app, author_ids: list[int], category_id: int, n_posts: int) -> int:
    """A topic of `n_posts` posts by these authors in turn; every other post liked by
    everyone else and the last one deleted, so every branch of the serializers runs."""
    with app.app_context():
        authors = [db.session.get(User, uid) for uid in author_ids]
        ip = ipaddress.ip_address("192.0.2.44")
        first = posting.create_topic(authors[0], TITLE, RAW, category_id, ip)
        for i in range(1, n_posts):
            posting.create_reply(authors[i % len(authors)], first.topic_id, f"{RAW} ({i})", ip)
        db.session.flush()
        posts = list(db.session.scalars(select(Post).where(Post.topic_id == first.topic_id)))
        for post in posts[1::2]:
            for user in authors:
                if user.id != post.user_id:
                    likes.like(user, post)
        posts[-1].deleted_at = posts[-1].created_at
        db.session.commit()
        return first.topic_id


def post_ids(app, topic_id: int) -> list[int]:
    with app.app_context():
        query = select(Post.id).where(Post.topic_id == topic_id).order_by(Post.post_number)
        return list(db.session.scalars(query))


@pytest.fixture(params=[None, "alice"], ids=["signed-out", "member"])
def viewer(request, app, users, member):
    return app.test_client() if request.param is None else member(users[request.param])


def statements(count_queries, client, url: str, content_type: str = "application/json") -> int:
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.content_type.startswith(content_type)
    return queries.count


@pytest.fixture
def small_and_large(app, users, category_id):
    everyone = [users[name] for name in ("bob", "ada", "alice", "mia")]
    return seed_topic(app, everyone[:2], category_id, 3), seed_topic(app, everyone, category_id, 60)


def test_topic_posts_first_chunk(app, viewer, count_queries, small_and_large):
    small, large = small_and_large
    statements(count_queries, viewer, f"/t/{small}/posts.json")  # warm-up
    assert statements(count_queries, viewer, f"/t/{small}/posts.json") == statements(
        count_queries, viewer, f"/t/{large}/posts.json"
    )


def test_topic_posts_by_id(app, viewer, count_queries, small_and_large):
    small, large = small_and_large

    def url(topic_id: int, ids: list[int]) -> str:
        return f"/t/{topic_id}/posts.json?" + "&".join(f"post_ids[]={i}" for i in ids)

    few = url(small, post_ids(app, small)[:2])
    many = url(large, post_ids(app, large)[:50])
    statements(count_queries, viewer, few)  # warm-up
    assert statements(count_queries, viewer, few) == statements(count_queries, viewer, many)


def test_topic_page(app, viewer, count_queries, small_and_large):
    small, large = small_and_large
    for topic_id in (small, large):  # warm-up (templates compile on first use)
        statements(count_queries, viewer, f"/t/topic/{topic_id}", "text/html")
    assert statements(count_queries, viewer, f"/t/topic/{small}", "text/html") == statements(
        count_queries, viewer, f"/t/topic/{large}", "text/html"
    )


def test_topic_list_page(app, users, category_id, viewer, count_queries):
    authors = [users[name] for name in ("alice", "bob", "mia", "ada")]
    seed_topic(app, authors[:2], category_id, 2)
    statements(count_queries, viewer, "/", "text/html")  # warm-up
    few = statements(count_queries, viewer, "/", "text/html")
    for i in range(34):  # more than a page of topics, by every author in turn
        seed_topic(app, authors[i % 4 :] + authors[: i % 4], category_id, 2)
    assert statements(count_queries, viewer, "/", "text/html") == few
