"""The pages a person reads in a browser (P4): latest topics, categories, a category, a
topic, a member's public profile and search. All work signed out; each runs a fixed number
of queries, however many posts a page shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from auth.sessions import current_member
from forum.api.serializers import authors, cards
from forum.api.user_routes import user_payload
from forum.content import permissions, posting, reads
from forum.content import search as content_search
from forum.content.errors import ContentError
from forum.content.models import Category, Post, Topic
from forum.content.reads import AnyTopic, PostRow, TopicRow
from forum.db import db
from forum.moderation.hide import PLACEHOLDER, can_see_hidden
from forum.moderation.suspend import suspension_message
from forum.users.roles import find_user
from forum.web.blueprint import bp
from forum.web.forms import (
    POSTS_PER_PAGE,
    Form,
    last_page,
    page_arg,
    page_of,
    topic_url,
)

TOPICS_PER_PAGE = 30
PROFILE_POSTS = 20
EXCERPT_CHARS = 240


@bp.app_template_filter("utc_minutes")
def utc_minutes(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def excerpt(cooked: str) -> str:
    """Plain text from a post's HTML, cut at a word: for lists of results."""
    # Only to strip the tags: the result is plain text, escaped again where it is shown.
    text = Markup(cooked).striptags()  # noqa: S704
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"


# -- lists of topics ---------------------------------------------------------------------


def _topic_list(category_id: int | None, page: int) -> tuple[list[TopicRow], bool]:
    topics = reads.topic_list(category_id, (page - 1) * TOPICS_PER_PAGE, TOPICS_PER_PAGE + 1)
    if not topics and page > 1:
        abort(404, description="There is no such page of topics.")
    return topics[:TOPICS_PER_PAGE], len(topics) > TOPICS_PER_PAGE


def _categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


@bp.get("/")
@bp.get("/latest", endpoint="latest")
def home() -> str:
    """The latest topics, most recently active first."""
    page = page_arg(request.args.get("page"))
    topics, more = _topic_list(None, page)
    return render_template(
        "parlor/home.html",
        topics=topics,
        categories={c.id: c for c in _categories()},
        people=cards({t.last_post_user_id for t in topics}),
        page=page,
        more=more,
        endpoint="web.latest",
        endpoint_args={},
    )


@bp.get("/categories")
def categories() -> str:
    """Every category, with its description and how many topics it holds."""
    return render_template("parlor/categories.html", categories=_categories())


@bp.get("/c/<slug>/<int:category_id>")
def category(slug: str, category_id: int) -> str:
    """A category's topics, most recently active first."""
    found = db.session.get(Category, category_id)
    if found is None:
        abort(404, description="There is no such category.")
    page = page_arg(request.args.get("page"))
    topics, more = _topic_list(found.id, page)
    return render_template(
        "parlor/category.html",
        category=found,
        topics=topics,
        categories={found.id: found},
        people=cards({t.last_post_user_id for t in topics}),
        page=page,
        more=more,
        endpoint="web.category",
        endpoint_args={"slug": found.slug, "category_id": found.id},
    )


# -- a topic -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PostView:
    """One post as this viewer sees it, and what they may do with it."""

    post: PostRow
    html: str
    hidden: bool
    readable: bool  # hidden, but this viewer may read it (staff, the author)
    can_like: bool
    can_unlike: bool
    can_edit: bool
    can_delete: bool


def _visible_topic(topic_id: int) -> TopicRow:
    found = reads.topic(topic_id)
    if found is None or found.deleted_at is not None:
        abort(404, description="There is no such topic, or it was deleted.")
    return found


@bp.get("/t/<int:topic_id>")
def topic_by_id(topic_id: int) -> Any:
    """A topic by its number alone: redirects to its address with the slug."""
    found = _visible_topic(topic_id)
    return redirect(topic_url(found, page_arg(request.args.get("page"))))


@bp.get("/t/<slug>/<int:topic_id>/<int:post_number>")
def topic_post(slug: str, topic_id: int, post_number: int) -> Any:
    """A post by its number in the topic: redirects to the page it is on."""
    found = _visible_topic(topic_id)
    return redirect(topic_url(found, page_of(found.id, post_number), _anchor=f"post_{post_number}"))


@bp.get("/t/<slug>/<int:topic_id>")
def topic(slug: str, topic_id: int) -> Any:
    """A topic and its posts, 20 a page; members can reply at the bottom."""
    found = _visible_topic(topic_id)
    page = page_arg(request.args.get("page"))
    return render_topic(found, page, missing_page_is_404=True)


# Names that URL quoting leaves as they are: their profile URL is the pattern's prefix + name.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.~-]+")


def _post_urls(topic: AnyTopic, people: dict[int, Any]) -> tuple[str, dict[int, str]]:
    """The permalink prefix (+ post number) and each author's profile URL, built once per
    page: a `url_for` per post was a tenth of the page's time."""
    permalink = url_for("web.topic_post", slug=topic.slug, topic_id=topic.id, post_number=1)
    profile_prefix = url_for("web.user_profile", username="x")[:-1]
    profiles = {
        user_id: profile_prefix + who.username
        if _PLAIN_NAME.fullmatch(who.username)
        else url_for("web.user_profile", username=who.username)
        for user_id, who in people.items()
    }
    return permalink[:-1], profiles


def render_topic(
    topic: AnyTopic,
    page: int,
    reply: Form | None = None,
    status: int = 200,
    missing_page_is_404: bool = False,
) -> tuple[str, int]:
    """The topic page; `reply` is a reply form to show again, with its errors."""
    # Deleted posts are left out for everyone here; staff find them through the API.
    viewer = current_member()
    posts = reads.posts_page(
        topic.id,
        (page - 1) * POSTS_PER_PAGE,
        POSTS_PER_PAGE + 1,
        include_deleted=False,
        viewer_id=viewer.id if viewer is not None else None,
    )
    if missing_page_is_404 and not posts and page > 1:
        abort(404, description="This topic has no such page.")
    more = len(posts) > POSTS_PER_PAGE
    posts = posts[:POSTS_PER_PAGE]
    writer = viewer if viewer is not None and not viewer.is_suspended else None
    views = []
    for p in posts:
        hidden = p.hidden_at is not None
        readable = not hidden or can_see_hidden(viewer, p)
        views.append(
            PostView(
                post=p,
                html=p.cooked if readable else PLACEHOLDER,
                hidden=hidden,
                readable=readable,
                can_like=not p.liked and permissions.can_like(writer, p),
                can_unlike=p.liked and writer is not None,
                can_edit=permissions.can_edit(writer, p, topic),
                can_delete=permissions.can_delete(writer, p),
            )
        )
    people = authors(posts)
    permalink_prefix, profile_urls = _post_urls(topic, people)
    return (
        render_template(
            "parlor/topic.html",
            topic=topic,
            category=reads.category(topic.category_id),
            posts=views,
            people=people,
            permalink_prefix=permalink_prefix,
            profile_urls=profile_urls,
            page=page,
            last_page=max(last_page(topic), page + int(more)),
            more=more,
            can_reply=permissions.can_reply(writer, topic),
            suspended=suspension_message(viewer) if viewer and viewer.is_suspended else None,
            reply=reply or Form(),
            staff=viewer is not None and viewer.is_staff,
            post_min=posting.POST_MIN,
        ),
        status,
    )


# -- people and search -------------------------------------------------------------------


@bp.get("/u/<username>")
def user_profile(username: str) -> str:
    """A member's public profile: what /u/{username}.json shows to others, and recent posts."""
    user = find_user(username)
    if user is None:
        abort(404, description="There is no member with that name.")
    viewer = current_member()
    visible = [Post.user_id == user.id, Post.deleted_at.is_(None), Topic.deleted_at.is_(None)]
    if not (viewer is not None and (viewer.is_staff or viewer.id == user.id)):
        visible.append(Post.hidden_at.is_(None))
    recent = db.session.execute(
        select(Post, Topic)
        .join(Topic, Topic.id == Post.topic_id)
        .where(*visible)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(PROFILE_POSTS)
    ).all()
    return render_template(
        "parlor/profile.html",
        user=user,
        profile=user_payload(user, None),  # the public view, even of oneself
        recent=[(post, topic, excerpt(post.cooked)) for post, topic in recent],
    )


@bp.get("/search")
def search() -> tuple[str, int]:
    """Posts, topics and members matching every word of `q`."""
    term = request.args.get("q", "").strip()
    page = page_arg(request.args.get("page"))
    form = Form(values={"q": term})
    if not term:
        return render_template("parlor/search.html", form=form, found=None, page=page), 200
    try:
        found = content_search.search(term, page)
    except ContentError as exc:
        form.errors["q"] = exc.messages
        return render_template("parlor/search.html", form=form, found=None, page=page), 422
    topics = {t.id: t for t in found.topics}
    results = [(p, topics[p.topic_id], excerpt(p.cooked)) for p in found.posts]
    return (
        render_template(
            "parlor/search.html",
            form=form,
            found=found,
            results=results,
            people=cards({p.user_id for p in found.posts} | {u.id for u in found.users}),
            page=page,
        ),
        200,
    )


@bp.get("/srv/status")
def status() -> tuple[str, int, dict[str, str]]:
    db.session.execute(select(1))
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
