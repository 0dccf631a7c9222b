"""The pages a member writes with (P5, P6): new topic, reply, edit, delete, like.

Each form POSTs with `authenticity_token` (checked by the blueprint) and works without
JavaScript. The rules are the services' (forum.content.posting, likes, permissions) and the
API's (a suspended member or a screened address may not write); a refusal re-renders the
form with the member's text and the reason beside it, a success redirects to the post.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from auth.sessions import current_member
from forum import events
from forum.api.post_routes import writer, writer_ip
from forum.content import likes, permissions, posting
from forum.content.errors import ContentError, NotFound
from forum.content.models import Category, Post, Topic
from forum.db import commit_as_written, db, reads_first
from forum.moderation.suspend import suspension_message
from forum.net import request_ip
from forum.ratelimits import limited
from forum.users.models import User
from forum.web.access import page_requires
from forum.web.blueprint import bp
from forum.web.forms import Form, last_page, post_url, refused, topic_url
from forum.web.reading import render_topic

NOT_YOURS = "You are not permitted to edit this post."
# The services' limits, for the forms' hints.
LIMITS = {
    "title_min": posting.TITLE_MIN,
    "title_max": posting.TITLE_MAX,
    "post_min": posting.POST_MIN,
    "reason_max": posting.EDIT_REASON_MAX,
}


def _me() -> User:
    user = current_member()
    assert user is not None  # page_requires has checked
    return user


def _form_int(name: str) -> int:
    """A whole number from the form; 0 (no such row) for anything else."""
    raw = request.form.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0


def _post_or_404(post_id: int) -> tuple[Post, Topic]:
    try:
        post = posting.get_post(post_id, current_member())
    except NotFound:
        abort(404, description="There is no such post, or it was deleted.")
    topic = db.session.get(Topic, post.topic_id)
    assert topic is not None
    return post, topic


# -- new topic ---------------------------------------------------------------------------


@bp.route("/new-topic", methods=["GET", "POST"])
@reads_first
@limited("topic")
@page_requires("member")
def new_topic() -> Any:
    """Start a topic: the form (GET), or post it (POST: title, category, raw)."""
    user = _me()
    categories = list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))
    if request.method == "GET":
        if user.is_suspended:
            return refused(403, suspension_message(user))
        form = Form(values={"category": request.args.get("category", "")})
        return render_template("parlor/new_topic.html", form=form, categories=categories, **LIMITS)

    form = Form(values={k: request.form.get(k, "") for k in ("title", "raw", "category")})
    try:
        author = writer()
        post = posting.create_topic(
            author, form.value("title"), form.value("raw"), _form_int("category"), request_ip()
        )
        commit_as_written()
    except ContentError as exc:
        db.session.rollback()
        return (
            render_template(
                "parlor/new_topic.html", form=form.fail(exc), categories=categories, **LIMITS
            ),
            exc.status,
        )
    events.post_created.send(current_app._get_current_object(), post=post)
    flash("Your topic is posted.", "success")
    topic = db.session.get(Topic, post.topic_id)
    assert topic is not None
    return redirect(topic_url(topic, _anchor="post_1"), 303)


# -- reply, edit, delete ------------------------------------------------------------------


@bp.post("/t/<int:topic_id>/reply")
@reads_first
@limited("post")
@page_requires("member")
def reply(topic_id: int) -> Any:
    """Reply to a topic (raw); back on the topic's last page if something is wrong."""
    topic = db.session.get(Topic, topic_id)
    if topic is None or topic.deleted_at is not None:
        return refused(404, "There is no such topic, or it was deleted.")
    form = Form(values={"raw": request.form.get("raw", "")})
    try:
        post = posting.create_reply(writer(), topic.id, form.value("raw"), request_ip())
        commit_as_written()
    except ContentError as exc:
        db.session.rollback()
        topic = db.session.get(Topic, topic_id)
        assert topic is not None
        return render_topic(topic, last_page(topic), reply=form.fail(exc), status=exc.status)
    events.post_created.send(current_app._get_current_object(), post=post)
    flash("Your reply is posted.", "success")
    return redirect(post_url(topic, post.post_number), 303)


def _edit_refusal(user: User, post: Post, topic: Topic) -> tuple[str, int] | None:
    if user.is_suspended:
        return refused(403, suspension_message(user), topic_url(topic))
    if not permissions.can_edit(user, post, topic):
        return refused(403, NOT_YOURS, post_url(topic, post.post_number))
    return None


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@limited("edit")
@page_requires("member")
def edit_post(post_id: int) -> Any:
    """Edit a post: the form (GET), or save it (POST: raw, edit_reason)."""
    user = _me()
    post, topic = _post_or_404(post_id)
    refusal = _edit_refusal(user, post, topic)
    if refusal is not None:
        return refusal
    if request.method == "GET":
        form = Form(values={"raw": post.raw, "edit_reason": ""})
        return render_template("parlor/edit_post.html", form=form, post=post, topic=topic, **LIMITS)

    form = Form(values={k: request.form.get(k, "") for k in ("raw", "edit_reason")})
    try:
        posting.edit_post(writer(), post, form.value("raw"), writer_ip(), form.value("edit_reason"))
        db.session.commit()
    except ContentError as exc:
        db.session.rollback()
        post, topic = _post_or_404(post_id)
        return (
            render_template(
                "parlor/edit_post.html", form=form.fail(exc), post=post, topic=topic, **LIMITS
            ),
            exc.status,
        )
    events.post_edited.send(current_app._get_current_object(), post=post)
    flash("Your changes are saved.", "success")
    return redirect(post_url(topic, post.post_number), 303)


def _act(post_id: int, action: Callable[[User, Post], None], done: str) -> Any:
    """A one-button write on a post (like, unlike): a refusal as a page."""
    post, topic = _post_or_404(post_id)
    back = post_url(topic, post.post_number)
    try:
        action(writer(), post)
        db.session.commit()
    except ContentError as exc:
        db.session.rollback()
        return refused(exc.status, "; ".join(exc.messages), back)
    flash(done, "success")
    return redirect(back, 303)


@bp.post("/posts/<int:post_id>/delete")
@page_requires("member")
def delete_post(post_id: int) -> Any:
    """Delete a post; deleting a topic's first post deletes the topic."""
    post, topic = _post_or_404(post_id)
    try:
        posting.delete_post(writer(), post)
        db.session.commit()
    except ContentError as exc:
        db.session.rollback()
        return refused(exc.status, "; ".join(exc.messages), post_url(topic, post.post_number))
    if post.post_number == 1:
        flash("The topic is deleted.", "success")
        category = db.session.get(Category, topic.category_id)
        assert category is not None
        return redirect(url_for("web.category", slug=category.slug, category_id=category.id), 303)
    flash("The post is deleted.", "success")
    return redirect(post_url(topic, post.post_number), 303)


@bp.post("/posts/<int:post_id>/like")
@limited("like")
@page_requires("member")
def like_post(post_id: int) -> Any:
    """Like a post (not one's own)."""
    return _act(post_id, likes.like, "You liked the post.")


@bp.post("/posts/<int:post_id>/unlike")
@page_requires("member")
def unlike_post(post_id: int) -> Any:
    """Take a like back."""
    return _act(post_id, likes.unlike, "You no longer like the post.")
