"""What the forum's form pages share: a form's values and errors, the refusal page, and
the redirect after a write (post/redirect/get)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for
from sqlalchemy import func, select

from forum.content.errors import ContentError
from forum.content.models import Post
from forum.content.reads import AnyTopic
from forum.db import db
from forum.web.blueprint import error_page

POSTS_PER_PAGE = 20
MAX_PAGE = 100_000
# Where a service's message belongs, by its first word ("Title is too short ...").
_FIELD_OF = {"title": "title", "body": "raw", "category": "category", "edit_reason": "edit_reason"}


@dataclass
class Form:
    """A form as the member filled it in, and what was wrong with it, per field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def errors_for(self, name: str) -> list[str]:
        return self.errors.get(name, [])

    @property
    def general_errors(self) -> list[str]:
        """Errors that belong to no field (a closed topic, a suspension): shown on top."""
        return self.errors.get("", [])

    def fail(self, exc: ContentError) -> Form:
        for message in exc.messages:
            first = message.split(" ", 1)[0].lower()
            self.errors.setdefault(_FIELD_OF.get(first, ""), []).append(message)
        return self


def page_arg(raw: str | None) -> int:
    """`?page=` from 1; anything that is not a page number reads as the first page."""
    if not raw or not (raw.isascii() and raw.isdigit()):
        return 1
    if len(raw) > len(str(MAX_PAGE)):  # int() of a huge string would be slow or refused
        return MAX_PAGE
    return min(max(int(raw), 1), MAX_PAGE)


def page_of(topic_id: int, post_number: int) -> int:
    """The page of its topic a post appears on (deleted posts take no room): one query."""
    before = db.session.scalar(
        select(func.count(Post.id)).where(
            Post.topic_id == topic_id,
            Post.deleted_at.is_(None),
            Post.post_number < post_number,
        )
    )
    return (before or 0) // POSTS_PER_PAGE + 1


def last_page(topic: AnyTopic) -> int:
    """How many pages the topic has, from its counter of (undeleted) posts."""
    return max(-(-topic.posts_count // POSTS_PER_PAGE), 1)


def topic_url(topic: AnyTopic, page: int = 1, **kwargs: object) -> str:
    if page > 1:
        kwargs["page"] = page
    return url_for("web.topic", slug=topic.slug, topic_id=topic.id, **kwargs)


def post_url(topic: AnyTopic, post_number: int) -> str:
    """The page a post is on, scrolled to it."""
    return topic_url(topic, page_of(topic.id, post_number), _anchor=f"post_{post_number}")


def refused(status: int, message: str, back: str | None = None, title: str = "") -> tuple[str, int]:
    """A write the member may not make: what happened, and the way back."""
    titles = {403: "Not allowed", 404: "Not found", 422: "That did not work"}
    return error_page(status, message, title or titles.get(status, "That did not work"), back)
