"""The hot reads (forum/content/reads.py): rows that say what the models say, and the
same visibility rules (deleted posts for staff only, each viewer's own likes)."""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import update

from forum.api.responses import dumps
from forum.content import likes, reads
from forum.content.categories import create_category
from forum.content.models import Post, Topic
from forum.content.posting import create_reply, create_topic, delete_post
from forum.db import db
from forum.users.models import Avatar, User

IP = ipaddress.ip_address("192.0.2.1")
RAW = "A post that is long enough to be accepted here."


@pytest.fixture
def forum(app, ctx, users):
    """Two topics in two categories: the first with three posts (the second deleted, the
    third liked by bob), the second with one."""
    alice, bob, mia = (db.session.get(User, users[n]) for n in ("alice", "bob", "mia"))
    general = create_category("General", "Anything goes.")
    other = create_category("Other things", "The rest.")
    first = create_topic(alice, "A topic with three posts", RAW, general.id, IP)
    gone = create_reply(bob, first.topic_id, "2 " + RAW, IP)
    third = create_reply(mia, first.topic_id, "3 " + RAW, IP)
    second = create_topic(bob, "A topic in another category", RAW, other.id, IP)
    delete_post(bob, gone)
    likes.like(bob, third)
    db.session.commit()
    return {
        "topic": first.topic_id,
        "other_topic": second.topic_id,
        "posts": [first.id, gone.id, third.id],
        "category": other.id,
        "users": users,
    }


def test_a_topic_row_says_what_the_model_says(forum):
    row = reads.topic(forum["topic"])
    model = db.session.get(Topic, forum["topic"])
    assert row is not None
    for field in reads.TopicRow._fields:
        assert getattr(row, field) == getattr(model, field), field
    assert reads.topic(10**6) is None


def test_a_post_row_says_what_the_model_says_and_carries_no_ip_or_source(forum):
    rows = reads.posts_page(forum["topic"], 0, 20, include_deleted=True, viewer_id=None)
    assert [r.id for r in rows] == forum["posts"]
    own = reads.PostRow._fields[: reads.PostRow._fields.index("liked")]
    for row in rows:
        model = db.session.get(Post, row.id)
        for field in own:
            assert getattr(row, field) == getattr(model, field), field
        author = db.session.get(User, row.user_id)
        avatar = db.session.get(Avatar, row.user_id)
        assert (row.author_username, row.author_first_name, row.author_last_name,
                row.author_role, row.author_avatar_version) == (
            author.username, author.first_name, author.last_name, author.role,
            avatar and avatar.version)  # fmt: skip
        assert not hasattr(row, "ip") and not hasattr(row, "raw")


def test_deleted_posts_are_for_staff_only(forum):
    topic, (first, gone, third) = forum["topic"], forum["posts"]
    members = reads.posts_page(topic, 0, 20, include_deleted=False, viewer_id=None)
    staff = reads.posts_page(topic, 0, 20, include_deleted=True, viewer_id=None)
    assert [r.id for r in members] == [first, third]
    assert [r.id for r in staff] == [first, gone, third]
    assert [r.id for r in reads.post_stream(topic, False)] == [first, third]
    assert [r.id for r in reads.posts_by_id(topic, [gone, third], include_deleted=False,
                                             viewer_id=None)] == [third]  # fmt: skip


def test_each_viewer_sees_only_their_own_likes(forum):
    topic, users = forum["topic"], forum["users"]

    def liked(viewer_id):
        rows = reads.posts_page(topic, 0, 20, include_deleted=False, viewer_id=viewer_id)
        return [r.liked for r in rows]

    assert liked(users["bob"]) == [False, True]
    assert liked(users["alice"]) == [False, False]
    assert liked(None) == [False, False]


def test_pages_and_ids_stay_within_the_topic(forum):
    topic, (first, _, third) = forum["topic"], forum["posts"]
    page = reads.posts_page(topic, 1, 1, include_deleted=False, viewer_id=None)
    assert [r.id for r in page] == [third]
    other_post = reads.posts_page(forum["other_topic"], 0, 20, include_deleted=False,
                                  viewer_id=None)[0].id  # fmt: skip
    by_id = reads.posts_by_id(topic, [other_post, first], include_deleted=False, viewer_id=None)
    assert [r.id for r in by_id] == [first]
    assert reads.posts_by_id(topic, [], include_deleted=False, viewer_id=None) == []


def test_topic_lists_are_latest_first_without_deleted_topics(forum):
    assert [t.id for t in reads.topic_list(None, 0, 10)] == [forum["other_topic"], forum["topic"]]
    assert [t.id for t in reads.topic_list(forum["category"], 0, 10)] == [forum["other_topic"]]
    assert [t.id for t in reads.topic_list(None, 1, 10)] == [forum["topic"]]
    db.session.execute(
        update(Topic).where(Topic.id == forum["other_topic"]).values(deleted_at=Topic.created_at)
    )
    assert [t.id for t in reads.topic_list(None, 0, 10)] == [forum["topic"]]
    category = reads.category(forum["category"])
    assert category is not None and category.name == "Other things"


def test_json_that_orjson_refuses_still_goes_out():
    # A lone surrogate (which a JSON body can carry) and an integer beyond 64 bits.
    assert dumps({"a": "\ud800"}) == b'{"a":"\\ud800"}'
    assert dumps({"n": 2**70}) == b'{"n":1180591620717411303424}'
    assert dumps({1: "x", "é": "</script>"}) == '{"1":"x","é":"</script>"}'.encode()


def test_a_topic_comes_with_its_creator_and_last_poster(forum):
    found = reads.topic_with_people(forum["topic"])
    assert found is not None
    topic, people = found
    assert topic == reads.topic(forum["topic"])
    for card, user_id in zip(people, (topic.user_id, topic.last_post_user_id), strict=True):
        user = db.session.get(User, user_id)
        avatar = db.session.get(Avatar, user_id)
        assert tuple(card) == (user.id, user.username, user.first_name, user.last_name,
                               user.role, avatar and avatar.version)  # fmt: skip
    assert people[0][0] != people[1][0]  # alice opened it, mia posted last
    assert reads.topic_with_people(10**6) is None
