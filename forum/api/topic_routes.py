"""Reading: latest topics, categories, a category's topics, a topic with its posts (P4).

Every route reads signed out and runs a fixed number of queries, whatever the topic size.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from flask import abort, request, url_for
from sqlalchemy import select

from auth.sessions import current_member
from forum.api.blueprint import bp
from forum.api.params import int_param
from forum.api.responses import json_response
from forum.api.serializers import (
    Card,
    authors,
    cards_from,
    category_json,
    post_json,
    topic_list_json,
    topic_path,
)
from forum.content import reads
from forum.content.errors import ContentError
from forum.content.models import Category
from forum.content.reads import AnyTopic, PostRow, TopicRow
from forum.db import db
from forum.timeutil import iso
from forum.users.models import User

TOPICS_PER_PAGE = 30
MAX_PER_PAGE = 100
POSTS_CHUNK = 20
MAX_POST_IDS = 100


def _page() -> int:
    raw = request.args.get("page", "0")
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 100_000:
        abort(400, description="page must be a non-negative integer")
    return int(raw)


def _per_page() -> int:
    raw = request.args.get("per_page", str(TOPICS_PER_PAGE))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PER_PAGE:
        abort(400, description=f"per_page must be a whole number from 1 to {MAX_PER_PAGE}")
    return int(raw)


def _topic_list(category_id: int | None, more_endpoint: str, /, **more_args: Any) -> Any:
    page, per_page = _page(), _per_page()
    topics = reads.topic_list(category_id, page * per_page, per_page + 1)
    more = None
    if len(topics) > per_page:
        topics = topics[:per_page]
        if per_page != TOPICS_PER_PAGE:
            more_args["per_page"] = per_page
        more = url_for(more_endpoint, page=page + 1, **more_args)
    return json_response(topic_list_json(topics, current_member(), per_page, more))


@bp.get("/latest.json")
def latest() -> Any:
    return _topic_list(None, "api.latest")


@bp.get("/categories.json")
def categories() -> Any:
    viewer = current_member()
    rows = db.session.scalars(select(Category).order_by(Category.position, Category.id))
    return json_response(
        {
            "category_list": {
                "can_create_category": bool(viewer and viewer.is_admin),
                "can_create_topic": viewer is not None,
                "categories": [category_json(c, viewer) for c in rows],
            }
        }
    )


@bp.get("/c/<slug>/<int:category_id>.json")
@bp.get("/c/<int:category_id>.json")
def category_topics(category_id: int, slug: str | None = None) -> Any:
    category = reads.category(category_id)
    if category is None:
        abort(404)
    return _topic_list(category.id, "api.category_topics", category_id=category.id)


def _sees_deleted(viewer: User | None) -> bool:
    """Deleted posts are for staff."""
    return viewer is not None and viewer.is_staff


def _posts_json(
    topic: AnyTopic, viewer: User | None, posts: Sequence[PostRow], people: dict[int, Card]
) -> list[dict[str, Any]]:
    """These posts of the topic as `post_stream.posts`; `people` holds their authors' cards."""
    path = topic_path(topic)
    return [
        post_json(p, topic, people[p.user_id], viewer, p.liked, in_topic_view=True, path=path)
        for p in posts
    ]


def load_topic(topic_id: int, viewer: User | None) -> TopicRow:
    topic = reads.topic(topic_id)
    if topic is None or (topic.deleted_at is not None and not _sees_deleted(viewer)):
        abort(404)
    return topic


@bp.get("/t/<int:topic_id>/posts.json")
def topic_posts(topic_id: int) -> Any:
    """Some posts of a topic by id (`post_ids[]`), as clients page through the `stream`;
    without ids, its first chunk (as Discourse, and as pydiscourse's `topic_posts` asks)."""
    viewer = current_member()
    topic = load_topic(topic_id, viewer)
    raw_ids = request.args.getlist("post_ids[]") or request.args.getlist("post_ids")
    if len(raw_ids) > MAX_POST_IDS:
        raise ContentError(f"at most {MAX_POST_IDS} post_ids[] at once")
    ids = [int_param({"post_ids[]": v}, "post_ids[]") for v in raw_ids]
    deleted, viewer_id = _sees_deleted(viewer), viewer.id if viewer is not None else None
    if raw_ids:
        wanted = [i for i in ids if i is not None]
        found = reads.posts_by_id(topic.id, wanted, include_deleted=deleted, viewer_id=viewer_id)
    else:
        found = reads.posts_page(
            topic.id, 0, POSTS_CHUNK, include_deleted=deleted, viewer_id=viewer_id
        )
    posts = _posts_json(topic, viewer, found, authors(found))
    return json_response({"post_stream": {"posts": posts}, "id": topic.id})


@bp.get("/t/<int:topic_id>.json")
@bp.get("/t/<slug>/<int:topic_id>.json")
def topic(topic_id: int, slug: str | None = None) -> Any:
    """The topic, its first 20 posts, and the `stream` of every post id (as Discourse)."""
    viewer = current_member()
    deleted = _sees_deleted(viewer)
    found = reads.topic_with_people(topic_id)
    if found is None or (found[0].deleted_at is not None and not deleted):
        abort(404)
    topic, creator_and_last_poster = found
    authored = reads.post_stream(topic.id, deleted)
    stream = [post_id for post_id, _ in authored]
    # The first chunk of the stream: the same posts, in the same order.
    viewer_id = viewer.id if viewer is not None else None
    first = reads.posts_page(topic.id, 0, POSTS_CHUNK, include_deleted=deleted, viewer_id=viewer_id)
    # Every card the answer shows comes with a query it runs anyway.
    people = cards_from(creator_and_last_poster) | authors(first)
    posts = _posts_json(topic, viewer, first, people)
    return json_response(
        {
            "post_stream": {"posts": posts, "stream": stream},
            "timeline_lookup": [],
            "suggested_topics": [],
            "tags": [],
            "tags_descriptions": {},
            "id": topic.id,
            "title": topic.title,
            "fancy_title": escape(topic.title),  # HTML, as Discourse clients render it
            "posts_count": topic.posts_count,
            "created_at": iso(topic.created_at),
            "views": topic.views,
            "reply_count": topic.reply_count,
            "like_count": topic.like_count,
            "last_posted_at": iso(topic.last_posted_at),
            "visible": True,
            "closed": topic.closed,
            "archived": False,
            "has_summary": False,
            "archetype": "regular",
            "slug": topic.slug,
            "category_id": topic.category_id,
            "word_count": None,
            "deleted_at": iso(topic.deleted_at),
            "user_id": topic.user_id,
            "featured_link": None,
            "pinned_globally": False,
            "pinned_at": None,
            "pinned_until": None,
            "image_url": None,
            "slow_mode_seconds": 0,
            "draft": None,
            "draft_key": f"topic_{topic.id}",
            "draft_sequence": 0,
            "unpinned": None,
            "pinned": False,
            "highest_post_number": topic.highest_post_number,
            "deleted_by": None,
            "has_deleted": False,
            "actions_summary": [],
            "chunk_size": POSTS_CHUNK,
            "bookmarked": False,
            "bookmarks": [],
            "topic_timer": None,
            "message_bus_last_id": 0,
            "participant_count": len({user_id for _, user_id in authored}),
            "show_read_indicator": False,
            "thumbnails": None,
            "slow_mode_enabled_until": None,
            "details": {
                "can_edit": bool(viewer and (viewer.is_staff or viewer.id == topic.user_id)),
                "notification_level": 1,
                "can_move_posts": False,
                "can_delete": bool(viewer and viewer.is_staff),
                "can_remove_allowed_users": False,
                "can_create_post": bool(viewer and (not topic.closed or viewer.is_staff)),
                "can_reply_as_new_topic": viewer is not None,
                "can_convert_topic": False,
                "can_review_topic": False,
                "can_close_topic": bool(viewer and viewer.is_staff),
                "can_archive_topic": False,
                "can_split_merge_topic": False,
                "can_edit_staff_notes": False,
                "can_toggle_topic_visibility": False,
                "can_pin_unpin_topic": False,
                "can_moderate_category": bool(viewer and viewer.is_staff),
                "can_remove_self_id": 0,
                "created_by": people[topic.user_id].basic(),
                "last_poster": people[topic.last_post_user_id].basic(),
            },
        }
    )
