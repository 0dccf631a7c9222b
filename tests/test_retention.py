"""Retention (issue 4 §6): post and edit IPs older than POST_IP_RETENTION_DAYS are erased,
sign-in events older than SIGNIN_RETENTION_DAYS deleted, by `forum.privacy.retention.purge`
and the `flask forum purge` command; tested with a moving clock on the real database."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from forum.content import posting
from forum.content.models import Post, PostEdit
from forum.db import db, ip_to_bytes
from forum.privacy.retention import purge
from forum.users.models import SignInEvent, User

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TITLE = "A topic with posts of every age"
RAW = "A post that is long enough to be accepted by the forum."
AGES = (200, 91, 45, 31, 29, 10, 1)  # days before NOW


def ip_for(age: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(f"192.0.2.{age}" if age % 2 else f"2001:db8::{age}")


@pytest.fixture
def aged(app, users, category_id) -> dict[str, dict[int, int]]:
    """For each age in AGES: one post, one edit and one sign-in event that old, each from
    its own address."""
    posts, edits, signins = {}, {}, {}
    with app.app_context():
        alice = db.session.get(User, users["alice"])
        first = posting.create_topic(alice, TITLE, RAW, category_id, ip_for(AGES[0]))
        made = {AGES[0]: first}
        for age in AGES[1:]:
            made[age] = posting.create_reply(alice, first.topic_id, f"{RAW} {age}", ip_for(age))
        for age, post in made.items():
            posting.edit_post(alice, post, f"{RAW} {age}, edited.", ip_for(age))
        db.session.flush()
        for age, post in made.items():
            when = NOW - timedelta(days=age)
            post.created_at = when
            edit = db.session.scalar(select(PostEdit).where(PostEdit.post_id == post.id))
            edit.created_at = when + timedelta(minutes=5)
            event = SignInEvent(user_id=alice.id, ip=ip_for(age), created_at=when, user_agent="x")
            db.session.add(event)
            db.session.flush()
            posts[age], edits[age], signins[age] = post.id, edit.id, event.id
        db.session.commit()
    return {"posts": posts, "edits": edits, "signins": signins}


def state(app: Any, aged: dict[str, dict[int, int]]) -> dict[str, dict[int, Any]]:
    """Per age: the post's IP, the edit's IP, and whether the sign-in event still exists."""
    with app.app_context():
        post_ips = dict(db.session.execute(select(Post.id, Post.ip)).all())
        edit_ips = dict(db.session.execute(select(PostEdit.id, PostEdit.ip)).all())
        events = set(db.session.scalars(select(SignInEvent.id)))
        raws = dict(db.session.execute(select(Post.id, Post.raw)).all())
    return {
        "post": {age: post_ips[pid] for age, pid in aged["posts"].items()},
        "edit": {age: edit_ips[eid] for age, eid in aged["edits"].items()},
        "signin": {age: eid in events for age, eid in aged["signins"].items()},
        "raw": {age: raws[pid] for age, pid in aged["posts"].items()},
    }


def run(app: Any, now: datetime, post_ip_days: int, sign_in_days: int) -> Any:
    with app.app_context():
        return purge(now, post_ip_days, sign_in_days)


def test_ips_older_than_the_cutoff_are_erased_and_newer_kept(app, aged):
    done = run(app, NOW, 30, 90)
    s = state(app, aged)
    for age in AGES:
        if age > 30:
            assert s["post"][age] is None, age
            assert s["edit"][age] is None, age
        else:
            assert s["post"][age] == ip_for(age), age
            assert s["edit"][age] == ip_for(age), age
        assert s["signin"][age] is (age <= 90), age
        assert s["raw"][age] == f"{RAW} {age}, edited.", age  # the text is kept
    assert (done.post_ips, done.edit_ips, done.sign_ins) == (4, 4, 2)


def test_a_moving_clock_erases_a_little_more_each_day(app, aged):
    # Each run sees the clock further on; each erases what has since aged past the cutoff.
    expected_counts = [
        (NOW, (4, 4, 2)),  # posts 200, 91, 45, 31 days old; sign-ins 200, 91
        (NOW + timedelta(days=1), (0, 0, 0)),  # the 29-day-old post is exactly 30: kept
        (NOW + timedelta(days=2), (1, 1, 0)),  # now it is 31
        (NOW + timedelta(days=21), (1, 1, 0)),  # the 10-day-old one is 31
        (NOW + timedelta(days=29), (0, 0, 0)),
        (NOW + timedelta(days=30, seconds=1), (1, 1, 0)),  # the last one
        (NOW + timedelta(days=46), (0, 0, 1)),  # the 45-day-old sign-in is now 91
        (NOW + timedelta(days=100), (0, 0, 4)),
    ]
    for now, counts in expected_counts:
        done = run(app, now, 30, 90)
        assert (done.post_ips, done.edit_ips, done.sign_ins) == counts, now
        s = state(app, aged)
        for age in AGES:
            created = NOW - timedelta(days=age)
            post_expired = created < now - timedelta(days=30)
            edit_expired = created + timedelta(minutes=5) < now - timedelta(days=30)
            assert (s["post"][age] is None) is post_expired, (now, age)
            assert (s["edit"][age] is None) is edit_expired, (now, age)
            assert s["signin"][age] is not (created < now - timedelta(days=90)), (now, age)
    final = state(app, aged)
    assert all(ip is None for ip in final["post"].values())
    assert all(ip is None for ip in final["edit"].values())
    assert not any(final["signin"].values())


def test_zero_days_keeps_everything(app, aged):
    before = state(app, aged)
    done = run(app, NOW + timedelta(days=10_000), 0, 0)
    assert (done.post_ips, done.edit_ips, done.sign_ins) == (0, 0, 0)
    assert state(app, aged) == before


def test_each_retention_applies_on_its_own(app, aged):
    run(app, NOW, 0, 30)
    s = state(app, aged)
    assert all(s["post"][age] == ip_for(age) for age in AGES)  # post IPs kept
    assert {age for age, kept in s["signin"].items() if kept} == {29, 10, 1}
    run(app, NOW, 30, 0)
    s = state(app, aged)
    assert {age for age, ip in s["post"].items() if ip is not None} == {29, 10, 1}
    assert {age for age, kept in s["signin"].items() if kept} == {29, 10, 1}


def test_the_cutoff_itself_is_kept(app, aged):
    # "Older than 30 days": a post exactly 30 days old keeps its IP.
    with app.app_context():
        db.session.execute(
            update(Post)
            .where(Post.id == aged["posts"][29])
            .values(created_at=NOW - timedelta(days=30))
        )
        db.session.commit()
    run(app, NOW, 30, 90)
    assert state(app, aged)["post"][29] == ip_for(29)
    run(app, NOW + timedelta(microseconds=1), 30, 90)
    assert state(app, aged)["post"][29] is None


def test_purged_ips_are_gone_from_the_moderators_views(app, aged, users, member):
    mia = member(users["mia"])
    old_ip = str(ip_for(45))

    def lookup() -> dict[str, Any]:
        return mia.get(f"/admin/ip-lookup.json?q={old_ip}").get_json()

    assert [p["id"] for p in lookup()["posts"]] == [aged["posts"][45]]
    run(app, NOW, 30, 90)
    assert lookup()["posts"] == [] and lookup()["accounts"] == []
    report = mia.get("/admin/users/alice/ips.json").get_json()
    assert {row["ip"] for row in report["ips"]} == {str(ip_for(a)) for a in (29, 10, 1)}
    assert {row["ip"] for row in report["sign_in_ips"]} == {str(ip_for(a)) for a in AGES if a <= 90}
    shown = mia.get(f"/admin/posts/{aged['posts'][45]}/ip.json").get_json()
    assert shown["ip"] is None and [e["ip"] for e in shown["edits"]] == [None]


# --- the command ----------------------------------------------------------------------------


def test_flask_forum_purge_uses_the_configured_retention(app, make_app, aged, tmp_path):
    """`flask forum purge` with POST_IP_RETENTION_DAYS=30 and SIGNIN_RETENTION_DAYS=90:
    the clock is the real one, so the rows are made old relative to now."""
    real_now = datetime.now(UTC)
    with app.app_context():
        for age in AGES:
            shift = real_now - timedelta(days=age)
            db.session.execute(
                update(Post).where(Post.id == aged["posts"][age]).values(created_at=shift)
            )
            db.session.execute(
                update(PostEdit).where(PostEdit.id == aged["edits"][age]).values(created_at=shift)
            )
            db.session.execute(
                update(SignInEvent)
                .where(SignInEvent.id == aged["signins"][age])
                .values(created_at=shift)
            )
        db.session.commit()
    configured = make_app(
        POST_IP_RETENTION_DAYS=30, SIGNIN_RETENTION_DAYS=90, BACKUP_DIR=str(tmp_path)
    )
    try:
        result = configured.test_cli_runner().invoke(args=["forum", "purge"])
        assert result.exit_code == 0, result.output
        assert "Erased 4 post IPs and 4 edit IPs; deleted 2 sign-in events" in result.output
        s = state(app, aged)
        assert {age for age, ip in s["post"].items() if ip is not None} == {29, 10, 1}
        assert {age for age, ip in s["edit"].items() if ip is not None} == {29, 10, 1}
        assert {age for age, kept in s["signin"].items() if kept} == {45, 31, 29, 10, 1}
        # Run again: nothing more to do.
        again = configured.test_cli_runner().invoke(args=["forum", "purge"])
        assert "Erased 0 post IPs and 0 edit IPs; deleted 0 sign-in events" in again.output
    finally:
        with configured.app_context():
            db.session.remove()
            db.engine.dispose()


def test_flask_forum_purge_by_default_keeps_post_ips(app, make_app, aged, tmp_path):
    # POST_IP_RETENTION_DAYS defaults to 0 (keep while the account exists);
    # SIGNIN_RETENTION_DAYS to 90.
    real_now = datetime.now(UTC)
    with app.app_context():
        for age in AGES:
            db.session.execute(
                update(SignInEvent)
                .where(SignInEvent.id == aged["signins"][age])
                .values(created_at=real_now - timedelta(days=age))
            )
            db.session.execute(
                update(Post)
                .where(Post.id == aged["posts"][age])
                .values(created_at=real_now - timedelta(days=age))
            )
        db.session.commit()
    defaults = make_app(BACKUP_DIR=str(tmp_path))  # the command also prunes backups there
    assert defaults.config["POST_IP_RETENTION_DAYS"] == 0
    assert defaults.config["SIGNIN_RETENTION_DAYS"] == 90
    try:
        result = defaults.test_cli_runner().invoke(args=["forum", "purge"])
        assert result.exit_code == 0, result.output
        assert "Erased 0 post IPs and 0 edit IPs; deleted 2 sign-in events" in result.output
        s = state(app, aged)
        assert all(s["post"][age] == ip_for(age) for age in AGES)
        assert {age for age, kept in s["signin"].items() if not kept} == {200, 91}
    finally:
        with defaults.app_context():
            db.session.remove()
            db.engine.dispose()


def test_on_sqlite_the_erased_ips_leave_no_bytes_behind(app, aged):
    """The purge ends with a WAL checkpoint: with secure_delete, the erased addresses are
    neither in the database file nor in its write-ahead log."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's files only")
        path = db.engine.url.database
    erased = [ip_to_bytes(ip_for(age)) for age in AGES if age > 30]
    kept = [ip_to_bytes(ip_for(age)) for age in AGES if age <= 30]
    run(app, NOW, 30, 30)  # the sign-in events share the addresses: they go too
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    data = Path(path).read_bytes()
    for raw in kept:
        assert raw in data  # the search would find them
    for raw in erased:
        assert raw not in data
