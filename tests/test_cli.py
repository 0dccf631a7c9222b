"""The operator's commands: seed-demo (twice), grant-role, category create."""

from __future__ import annotations

from sqlalchemy import func, select

from forum.content.models import Category, Post, Topic
from forum.db import db
from forum.users.models import User


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_is_idempotent(app, ctx):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["forum", "seed-demo"])
    assert first.exit_code == 0, first.output
    counts = [_count(m) for m in (User, Category, Topic, Post)]
    assert counts[0] == 3 and counts[1] >= 3 and counts[2] >= 3
    second = runner.invoke(args=["forum", "seed-demo"])
    assert second.exit_code == 0 and "nothing to do" in second.output
    assert [_count(m) for m in (User, Category, Topic, Post)] == counts
    roles = dict(db.session.execute(select(User.username, User.role)).all())
    assert roles == {"octocat": "member", "mona": "moderator", "hubot": "admin"}
    assert db.session.scalar(select(func.count()).where(Post.ip.is_(None))) == 0


def test_grant_role(app, ctx, users):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["forum", "grant-role", "alice", "moderator"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(User, users["alice"]).role == "moderator"
    result = runner.invoke(args=["forum", "grant-role", "nobody", "admin"])
    assert result.exit_code != 0 and "no member named" in result.output
    result = runner.invoke(args=["forum", "grant-role", "alice", "overlord"])
    assert result.exit_code != 0


def test_category_create(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["forum", "category", "create", "Show & Tell"])
    assert result.exit_code == 0, result.output
    category = db.session.scalar(select(Category).where(Category.name == "Show & Tell"))
    assert category.slug == "show-tell"
    again = runner.invoke(args=["forum", "category", "create", "show & tell"])
    assert again.exit_code != 0 and "already been taken" in again.output
    blank = runner.invoke(args=["forum", "category", "create", "   "])
    assert blank.exit_code != 0
