"""The pages a person reads in a browser: the latest topics and a topic."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from auth.sessions import csrf_token, current_member
from forum.api.blueprint import ids_in_range
from forum.api.serializers import cards
from forum.content.models import Category, Post, Topic
from forum.db import db
from forum.moderation.hide import PLACEHOLDER, can_see_hidden

# Its own static path: a blueprint without a URL prefix would be shadowed by the app's /static.
POSTS_PER_PAGE = 20

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/parlor-static",
)


@bp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    ids_in_range(endpoint, values)


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"current_member": current_member, "csrf_token": csrf_token}


@bp.get("/")
def home() -> str:
    topics = list(
        db.session.scalars(
            select(Topic)
            .where(Topic.deleted_at.is_(None))
            .order_by(Topic.bumped_at.desc(), Topic.id.desc())
            .limit(30)
        )
    )
    categories = {c.id: c for c in db.session.scalars(select(Category))}
    people = cards({t.last_post_user_id for t in topics})
    return render_template("parlor/home.html", topics=topics, categories=categories, people=people)


@bp.get("/t/<slug>/<int:topic_id>")
def topic(slug: str, topic_id: int) -> str:
    topic = db.session.get(Topic, topic_id)
    if topic is None or topic.deleted_at is not None:
        abort(404)
    raw_page = request.args.get("page", "1")
    page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() else 1
    page = min(max(page, 1), 100_000)
    posts = list(
        db.session.scalars(
            select(Post)
            .where(Post.topic_id == topic.id, Post.deleted_at.is_(None))
            .order_by(Post.post_number)
            .offset((page - 1) * POSTS_PER_PAGE)
            .limit(POSTS_PER_PAGE + 1)
        )
    )
    more = len(posts) > POSTS_PER_PAGE
    posts = posts[:POSTS_PER_PAGE]
    people = cards({p.user_id for p in posts})
    viewer = current_member()
    shown = {
        p.id: p.cooked if p.hidden_at is None or can_see_hidden(viewer, p) else PLACEHOLDER
        for p in posts
    }
    return render_template(
        "parlor/topic.html",
        topic=topic,
        posts=posts,
        people=people,
        shown=shown,
        page=page,
        more=more,
    )


@bp.get("/srv/status")
def status() -> tuple[str, int, dict[str, str]]:
    db.session.execute(select(1))
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
