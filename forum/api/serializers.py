"""Rows to Discourse's JSON shapes (`../shared/discourse-api/openapi.json`).

Serializers take what the route loaded in a fixed number of queries and never query
themselves, so a page costs the same number of queries however many posts it shows.
Nothing here ever includes an IP or an e-mail address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any, NamedTuple

from flask import url_for
from sqlalchemy import bindparam, select

from forum.content import permissions
from forum.content.likes import LIKE
from forum.content.models import Category
from forum.content.reads import AnyPost, AnyTopic, PostRow
from forum.db import db
from forum.moderation.hide import PLACEHOLDER as HIDDEN_PLACEHOLDER
from forum.moderation.hide import can_see_hidden
from forum.timeutil import iso
from forum.urls import built_once
from forum.users.avatars import avatar_template
from forum.users.models import Avatar, User


class Card(NamedTuple):
    """What other people may see of a member. (A tuple: a page builds a few dozen, and a
    frozen dataclass's constructor costs several times as much.)"""

    id: int
    username: str
    name: str
    avatar_template: str
    role: str

    def basic(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "avatar_template": self.avatar_template,
        }


_U, _A = User.__table__.c, Avatar.__table__.c
# Built once, on the tables' columns (ORM attributes would take the ORM's slower path).
_CARDS = (
    select(_U.id, _U.username, _U.first_name, _U.last_name, _U.role, _A.version)
    .outerjoin(Avatar.__table__, _A.user_id == _U.id)
    .where(_U.id.in_(bindparam("user_ids", expanding=True)))
)


def cards(user_ids: set[int]) -> dict[int, Card]:
    """Cards for these members, with their avatars, in one query.

    Only the card's columns, as plain rows: a page of 20 authors as full ORM objects
    (every column, identity map, change tracking) cost a third of a topic's time."""
    if not user_ids:
        return {}
    return cards_from(db.session.execute(_CARDS, {"user_ids": list(user_ids)}).all())


def authors(posts: Iterable[PostRow]) -> dict[int, Card]:
    """The cards of these posts' authors, from the columns the posts were read with."""
    return cards_from(
        (p.user_id, p.author_username, p.author_first_name, p.author_last_name,
         p.author_role, p.author_avatar_version)
        for p in posts
    )  # fmt: skip


def cards_from(rows: Iterable[Sequence[Any]]) -> dict[int, Card]:
    """(id, username, first name, last name, role, avatar version) rows as cards."""
    avatars = _AvatarTemplates()
    # Unpacked and built positionally: a page builds a few dozen cards.
    return {
        user_id: Card(
            user_id,
            username,
            # As User.name: the parts that are set.
            f"{first} {last}" if first and last else first or last,
            avatars(username, version),
            role,
        )
        for user_id, username, first, last, role, version in rows
    }


def card(user: User, avatar_version: str | None) -> Card:
    return Card(
        id=user.id,
        username=user.username,
        name=user.name,
        avatar_template=avatar_template(user.username, avatar_version),
        role=user.role,
    )


class _AvatarTemplates:
    """`avatar_template()` for a page of members: URL building runs once per kind of
    avatar (and mount point), and each member's name and version are put into that
    pattern. Names or versions that URL quoting could change take the slow path, so the
    result is the same."""

    _NAME, _VERSION = "~name~", "~version~"
    _PLAIN = re.compile(r"[A-Za-z0-9_.-]+")

    def __init__(self) -> None:
        self._picture, self._letter = built_once(
            "avatar patterns",
            lambda: (
                avatar_template(self._NAME, self._VERSION),
                avatar_template(self._NAME, None),
            ),
        )

    def __call__(self, username: str, version: str | None) -> str:
        name = username.lower()
        if not self._PLAIN.fullmatch(name) or (version and not self._PLAIN.fullmatch(version)):
            return avatar_template(username, version)
        if version:
            return self._picture.replace(self._NAME, name).replace(self._VERSION, version)
        return self._letter.replace(self._NAME, name)


def post_json(
    post: AnyPost,
    topic: AnyTopic,
    author: Card,
    viewer: User | None,
    liked: bool,
    *,
    include_raw: bool = False,
    in_topic_view: bool = False,
    path: str | None = None,
) -> dict[str, Any]:
    """A post as Discourse shows it; `path` is `topic_path(topic)`, which a page of posts
    of one topic builds once."""
    yours = viewer is not None and viewer.id == post.user_id
    staff = author.role in ("moderator", "admin")
    hidden = post.hidden_at is not None
    readable = not hidden or can_see_hidden(viewer, post)
    created_at, updated_at = post.created_at, post.updated_at
    created = iso(created_at)
    data: dict[str, Any] = {
        "id": post.id,
        "name": author.name,
        "username": author.username,
        "avatar_template": author.avatar_template,
        "created_at": created,
        "cooked": post.cooked if readable else HIDDEN_PLACEHOLDER,
        "post_number": post.post_number,
        "post_type": 1,
        "posts_count": topic.posts_count,
        # Most posts were never edited: the same time, formatted once.
        "updated_at": created if updated_at == created_at else iso(updated_at),
        "reply_count": 0,
        "reply_to_post_number": post.reply_to_post_number,
        "quote_count": 0,
        "incoming_link_count": 0,
        "reads": 0,
        "readers_count": 0,
        "score": 0,
        "yours": yours,
        "topic_id": topic.id,
        "topic_slug": topic.slug,
        "topic_title": topic.title,
        "display_username": author.name or author.username,
        "primary_group_name": None,
        "flair_name": None,
        "flair_url": None,
        "flair_bg_color": None,
        "flair_color": None,
        "version": post.version,
        "can_edit": permissions.can_edit(viewer, post, topic),
        "can_delete": permissions.can_delete(viewer, post),
        "can_recover": False,
        "can_wiki": False,
        "read": True,
        "user_title": None,
        "bookmarked": False,
        "like_count": post.like_count,
        "actions_summary": [
            {
                "id": LIKE,
                "count": post.like_count,
                "acted": liked,
                "can_act": not liked and permissions.can_like(viewer, post),
                "can_undo": liked,
            }
        ],
        "moderator": author.role == "moderator",
        "admin": author.role == "admin",
        "staff": staff,
        "user_id": author.id,
        "hidden": hidden,
        "can_see_hidden_post": bool(viewer and viewer.is_staff),
        "trust_level": 1,
        "deleted_at": iso(post.deleted_at),
        "user_deleted": False,
        "edit_reason": None,
        "can_view_edit_history": True,
        "wiki": False,
        # As Discourse: 0 (nothing to review) in a topic's posts, null elsewhere.
        "reviewable_id": 0 if in_topic_view else None,
        "reviewable_score_count": 0,
        "reviewable_score_pending_count": 0,
        "post_url": f"{path or topic_path(topic)}/{post.post_number}",
    }
    if include_raw and readable:
        data["raw"] = post.raw
    return data


def topic_path(topic: AnyTopic) -> str:
    return url_for("web.topic", slug=topic.slug, topic_id=topic.id)


def topic_list_item(
    topic: AnyTopic, people: dict[int, Card], liked: bool = False
) -> dict[str, Any]:
    last_poster = people.get(topic.last_post_user_id)
    return {
        "id": topic.id,
        "title": topic.title,
        "fancy_title": escape(topic.title),  # HTML, as Discourse clients render it
        "slug": topic.slug,
        "posts_count": topic.posts_count,
        "reply_count": topic.reply_count,
        "highest_post_number": topic.highest_post_number,
        "image_url": None,
        "created_at": iso(topic.created_at),
        "last_posted_at": iso(topic.last_posted_at),
        "bumped": True,
        "bumped_at": iso(topic.bumped_at),
        "archetype": "regular",
        "unseen": False,
        "pinned": False,
        "unpinned": None,
        "excerpt": "",
        "visible": True,
        "closed": topic.closed,
        "archived": False,
        "bookmarked": None,
        "liked": liked,
        "views": topic.views,
        "like_count": topic.like_count,
        "has_summary": False,
        "last_poster_username": last_poster.username if last_poster else "",
        "category_id": topic.category_id,
        "pinned_globally": False,
        "featured_link": None,
        "posters": _posters(topic),
    }


def _posters(topic: AnyTopic) -> list[dict[str, Any]]:
    posters = [
        {
            "extras": "latest single" if topic.user_id == topic.last_post_user_id else "",
            "description": "Original Poster, Most Recent Poster"
            if topic.user_id == topic.last_post_user_id
            else "Original Poster",
            "user_id": topic.user_id,
            "primary_group_id": None,
        }
    ]
    if topic.last_post_user_id != topic.user_id:
        posters.append(
            {
                "extras": "latest",
                "description": "Most Recent Poster",
                "user_id": topic.last_post_user_id,
                "primary_group_id": None,
            }
        )
    return posters


def topic_list_json(
    topics: Sequence[AnyTopic],
    viewer: User | None,
    per_page: int,
    more_url: str | None,
) -> dict[str, Any]:
    people = cards({t.user_id for t in topics} | {t.last_post_user_id for t in topics})
    topic_list: dict[str, Any] = {
        "can_create_topic": viewer is not None,
        "per_page": per_page,
        "topics": [topic_list_item(t, people) for t in topics],
    }
    if more_url:
        topic_list["more_topics_url"] = more_url
    return {
        "users": [c.basic() for c in people.values()],
        "primary_groups": [],
        "topic_list": topic_list,
    }


def category_json(category: Category, viewer: User | None) -> dict[str, Any]:
    return {
        "id": category.id,
        "name": category.name,
        "color": category.color,
        "text_color": category.text_color,
        "style_type": "square",
        "emoji": None,
        "icon": None,
        "slug": category.slug,
        "topic_count": category.topic_count,
        "post_count": category.post_count,
        "position": category.position,
        # Discourse clients render `description` and its excerpt as HTML; the text is plain.
        "description": escape(category.description) or None,
        "description_text": category.description or None,
        "description_excerpt": escape(category.description) or None,
        "topic_url": None,
        "read_restricted": False,
        "permission": 1 if viewer is not None else None,
        "notification_level": 1,
        "can_edit": bool(viewer and viewer.is_admin),
        "topic_template": None,
        "topic_title_placeholder": None,
        "has_children": False,
        "subcategory_count": None,
        "sort_order": None,
        "sort_ascending": None,
        "show_subcategory_list": False,
        "num_featured_topics": 3,
        "default_view": None,
        "subcategory_list_style": "rows_with_featured_topics",
        "default_top_period": "all",
        "default_list_filter": "all",
        "minimum_required_tags": 0,
        "navigate_to_first_post_after_read": False,
        "topics_day": 0,
        "topics_week": 0,
        "topics_month": 0,
        "topics_year": 0,
        "topics_all_time": category.topic_count,
        "is_uncategorized": False,
        "subcategory_ids": [],
        "uploaded_logo": None,
        "uploaded_logo_dark": None,
        "uploaded_background": None,
        "uploaded_background_dark": None,
    }


def current_user_json(user: User, avatar_version: str | None) -> dict[str, Any]:
    c = card(user, avatar_version)
    return {
        **c.basic(),
        "admin": user.is_admin,
        "moderator": user.role == "moderator",
        "staff": user.is_staff,
        "trust_level": 1,
        "can_create_topic": True,
    }
