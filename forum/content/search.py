"""Search (Discourse's /search.json): posts, topics and members matching every word.

A plain case-insensitive substring match over titles, post text and usernames; fine for a
small forum. A large one wants PostgreSQL full-text search or SQLite FTS5 behind the same
function.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select

from forum.content.errors import ContentError
from forum.content.models import Post, Topic
from forum.db import db
from forum.users.models import User

PAGE_SIZE = 50
MIN_TERM, MAX_TERM = 2, 200


@dataclass(frozen=True)
class Found:
    posts: list[Post]
    topics: list[Topic]
    users: list[User]
    more_posts: bool


def _words(term: object) -> list[str]:
    if not isinstance(term, str) or len(term.strip()) < MIN_TERM:
        raise ContentError(f"Search terms must be at least {MIN_TERM} characters")
    if len(term) > MAX_TERM:
        raise ContentError(f"Search terms must be at most {MAX_TERM} characters")
    return [w.lower() for w in term.split()][:10]


def search(term: object, page: int = 1) -> Found:
    words = _words(term)

    def matches(col: object) -> object:
        return and_(*(func.lower(col).contains(w, autoescape=True) for w in words))

    visible = (Post.deleted_at.is_(None), Post.hidden_at.is_(None), Topic.deleted_at.is_(None))
    posts = list(
        db.session.scalars(
            select(Post)
            .join(Topic, Topic.id == Post.topic_id)
            .where(*visible, matches(Post.raw) | matches(Topic.title))
            .order_by(Post.created_at.desc(), Post.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    topic_ids = {p.topic_id for p in posts[:PAGE_SIZE]}
    topics = (
        list(db.session.scalars(select(Topic).where(Topic.id.in_(topic_ids)))) if topic_ids else []
    )
    users = list(
        db.session.scalars(
            select(User)
            .where(User.github_id.is_not(None), matches(User.username))
            .order_by(User.username_lower)
            .limit(PAGE_SIZE)
        )
    )
    return Found(posts[:PAGE_SIZE], topics, users, len(posts) > PAGE_SIZE)
