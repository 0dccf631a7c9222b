"""More of Discourse's routes: latest posts, search, and admins' category writes."""

from __future__ import annotations

from html import escape
from typing import Any

from flask import request
from sqlalchemy import select

from auth.sessions import admin_required, current_member
from forum.api.blueprint import bp
from forum.api.params import int_param, params
from forum.api.responses import json_response
from forum.api.serializers import cards, category_json, post_json, topic_list_item
from forum.content.categories import create_category, update_category
from forum.content.errors import ContentError, NotFound
from forum.content.likes import liked_post_ids
from forum.content.models import Category, Post, Topic
from forum.content.search import search
from forum.db import db

LATEST_POSTS = 50


@bp.get("/posts.json")
def latest_posts() -> Any:
    """The latest posts across the forum, newest first; `before=<post id>` pages back."""
    viewer = current_member()
    before = int_param(dict(request.args), "before", required=False)
    query = (
        select(Post, Topic)
        .join(Topic, Topic.id == Post.topic_id)
        .where(Post.deleted_at.is_(None), Topic.deleted_at.is_(None))
    )
    if before is not None:
        query = query.where(Post.id < before)
    rows = db.session.execute(query.order_by(Post.id.desc()).limit(LATEST_POSTS)).all()
    people = cards({post.user_id for post, _ in rows})
    liked = liked_post_ids(viewer, [post.id for post, _ in rows])
    latest = []
    for post, topic in rows:
        data = post_json(
            post, topic, people[post.user_id], viewer, post.id in liked, include_raw=True
        )
        data.update(
            topic_html_title=escape(topic.title),
            category_id=topic.category_id,
            excerpt=_excerpt(data.get("raw", "")),
            truncated=len(data.get("raw", "")) > 200,
            badges_granted=[],
            flair_group_id=None,
        )
        latest.append(data)
    return json_response({"latest_posts": latest})


def _excerpt(raw: str) -> str:
    """The start of a post's Markdown as HTML text: Discourse clients render `excerpt` and
    `blurb` as HTML, so the member's text is escaped (after the cut, not inside an entity)."""
    text = " ".join(raw.split())
    return escape(text if len(text) <= 200 else text[:199] + "…")


@bp.get("/search.json")
def search_route() -> Any:
    """Posts, topics and members matching `q` (every word), as Discourse groups them."""
    viewer = current_member()
    term = request.args.get("q") or request.args.get("term")
    page = int_param(dict(request.args), "page", required=False) or 1
    if page < 1:
        raise ContentError("page must be 1 or more")
    found = search(term, page)
    topics = {t.id: t for t in found.topics}
    people = cards(
        {p.user_id for p in found.posts}
        | {u.id for u in found.users}
        | {t.user_id for t in found.topics}
        | {t.last_post_user_id for t in found.topics}
    )
    liked = liked_post_ids(viewer, [p.id for p in found.posts])
    posts = []
    for post in found.posts:
        data = post_json(
            post, topics[post.topic_id], people[post.user_id], viewer, post.id in liked
        )
        data["blurb"] = _excerpt(post.raw)
        posts.append(data)
    return json_response(
        {
            "posts": posts,
            "topics": [topic_list_item(t, people) for t in found.topics],
            "users": [people[u.id].basic() for u in found.users],
            "categories": [],
            "tags": [],
            "groups": [],
            "grouped_search_result": {
                "more_posts": found.more_posts or None,
                "more_users": None,
                "more_categories": None,
                "term": term,
                "search_log_id": 0,
                "more_full_page_results": found.more_posts or None,
                "can_create_topic": viewer is not None,
                "error": None,
                "post_ids": [p.id for p in found.posts],
                "user_ids": [u.id for u in found.users],
                "category_ids": [],
                "tag_ids": [],
                "group_ids": [],
            },
        }
    )


@bp.post("/categories.json")
@admin_required
def create_category_route() -> Any:
    data = params()
    category = create_category(
        data.get("name"), _text(data, "description"), _colour(data.get("color", "0088CC"))
    )
    db.session.commit()
    return json_response({"category": _full(category)})


@bp.put("/categories/<int:category_id>.json")
@admin_required
def update_category_route(category_id: int) -> Any:
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFound("The requested URL or resource could not be found.")
    data = params()
    update_category(
        category,
        name=data.get("name", category.name),
        description=_text(data, "description", category.description),
        color=_colour(data.get("color", category.color)),
        slug=data.get("slug"),
    )
    db.session.commit()
    return json_response({"success": "OK", "category": _full(category)})


def _text(data: dict[str, Any], name: str, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 1000:
        raise ContentError(f"{name} must be text of at most 1000 characters")
    return value


def _colour(value: object) -> str:
    if not isinstance(value, str) or len(value) != 6:
        raise ContentError("color must be 6 hexadecimal digits, such as 0088CC")
    try:
        int(value, 16)
    except ValueError:
        raise ContentError("color must be 6 hexadecimal digits, such as 0088CC") from None
    return value.upper()


def _full(category: Category) -> dict[str, Any]:
    data = category_json(category, current_member())
    data.update(
        custom_fields={},
        required_tag_groups=[],
        read_only_banner=None,
        available_groups=[],
        auto_close_hours=None,
        auto_close_based_on_last_post=False,
        allow_unlimited_owner_edits_on_first_post=False,
        default_slow_mode_seconds=None,
        group_permissions=[],
        email_in=None,
        email_in_allow_strangers=False,
        mailinglist_mirror=False,
        all_topics_wiki=False,
        can_delete=category.topic_count == 0,
        allow_badges=True,
        topic_featured_link_allowed=True,
        search_priority=0,
        topic_posting_review_group_ids=[],
        reply_posting_review_group_ids=[],
        form_template_ids=[],
    )
    return data
