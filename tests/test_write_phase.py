"""Replies and new topics check first and write last (`forum.db.reads_first`).

On SQLite the database's write lock is then held for the writes alone, not through the
checks and the Markdown; the writes check the topic again in their own statement, so a
topic closed or deleted in between takes no reply, on either database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import exc as sa_exc
from sqlalchemy import update

from forum.content import posting
from forum.content.models import Category, Post, Topic
from forum.db import db, ip_to_bytes

BODY = "A reply that is long enough to be accepted."


def topic_of(member: Any, category_id: int) -> int:
    made = member.post(
        "/posts.json",
        json={"title": "A topic for the write phase", "raw": BODY, "category": category_id},
    )
    assert made.status_code == 200, made.get_data(as_text=True)
    return int(made.get_json()["topic_id"])


def counts(app: Flask, topic_id: int) -> tuple[int, int, int]:
    """(posts in the topic, its posts_count, its category's post_count)"""
    with app.app_context():
        topic = db.session.get(Topic, topic_id)
        assert topic is not None
        category = db.session.get(Category, topic.category_id)
        assert category is not None
        posts = db.session.query(Post).filter_by(topic_id=topic_id).count()
        return posts, topic.posts_count, category.post_count


def sqlite_path(app: Flask) -> str:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's database-wide write lock")
        path = db.engine.url.database
    assert path
    return path


def another_writer_can_begin(path: str) -> bool:
    """Whether a second connection gets the write lock at once (no busy wait)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def while_rendering(monkeypatch: pytest.MonkeyPatch, then: Callable[[], None]) -> list[bool]:
    """Run `then` in the middle of the request (while its Markdown renders); returns a list
    that holds True once it ran."""
    ran: list[bool] = []
    render = posting.render

    def rendering(raw: str) -> str:
        then()
        ran.append(True)
        return render(raw)

    monkeypatch.setattr(posting, "render", rendering)
    return ran


@pytest.mark.parametrize("route", ["api reply", "page reply", "api topic"])
def test_sqlite_write_lock_is_free_while_a_post_is_checked_and_rendered(
    app: Flask, alice: Any, category_id: int, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    path = sqlite_path(app)
    topic_id = topic_of(alice, category_id)
    free: list[bool] = []
    ran = while_rendering(monkeypatch, lambda: free.append(another_writer_can_begin(path)))
    if route == "api reply":
        r = alice.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    elif route == "page reply":
        r = alice.client.post(
            f"/t/{topic_id}/reply", data={"authenticity_token": alice.csrf, "raw": BODY}
        )
    else:
        title = "Another topic for the write phase"
        r = alice.post("/posts.json", json={"title": title, "raw": BODY, "category": category_id})
    assert r.status_code in (200, 303), r.get_data(as_text=True)
    assert ran and free == [True]
    assert counts(app, topic_id)[0] == (2 if route != "api topic" else 1)


def test_other_writes_still_hold_the_lock_from_their_first_statement(
    app: Flask, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routes not marked `reads_first` keep the whole request in one write transaction."""
    path = sqlite_path(app)
    from forum.privacy import routes

    seen: list[bool] = []
    update_profile = routes.update_profile

    def updating(*args: Any, **kwargs: Any) -> Any:
        seen.append(another_writer_can_begin(path))
        return update_profile(*args, **kwargs)

    monkeypatch.setattr(routes, "update_profile", updating)
    assert alice.put("/u/alice.json", json={"first_name": "Alicia"}).status_code == 200
    assert seen == [False]


def _meanwhile(app: Flask, topic_id: int, **values: Any) -> Callable[[], None]:
    """Another writer changing the topic, committed on a connection of its own."""

    def change() -> None:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(update(Topic).where(Topic.id == topic_id).values(**values))

    return change


def between_checks_and_writes(monkeypatch: pytest.MonkeyPatch, then: Callable[[], None]) -> None:
    begin_writes = posting.begin_writes

    def beginning() -> None:
        begin_writes()
        then()

    monkeypatch.setattr(posting, "begin_writes", beginning)


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"closed": True}, 403, "closed"),
        ({"deleted_at": posting.utcnow()}, 422, "Topic is not valid"),
    ],
)
def test_a_topic_changed_between_the_checks_and_the_writes_takes_no_reply(
    app: Flask,
    alice: Any,
    bob: Any,
    category_id: int,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, Any],
    status: int,
    message: str,
) -> None:
    topic_id = topic_of(alice, category_id)
    before = counts(app, topic_id)
    between_checks_and_writes(monkeypatch, _meanwhile(app, topic_id, **change))
    r = bob.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    assert r.status_code == status, r.get_data(as_text=True)
    assert message in r.get_json()["errors"][0]
    assert counts(app, topic_id) == before  # no post, no counter moved


def test_staff_reply_to_a_topic_closed_meanwhile(
    app: Flask, alice: Any, mia: Any, category_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff may reply to a closed topic: closing it meanwhile changes nothing for them."""
    topic_id = topic_of(alice, category_id)
    between_checks_and_writes(monkeypatch, _meanwhile(app, topic_id, closed=True))
    r = mia.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert counts(app, topic_id)[:2] == (2, 2)


def test_a_reply_saved_before_the_database_failed_says_it_was_saved(
    app: Flask, alice: Any, category_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply's writes go to the tables (no ORM flush), and still count as saved."""
    from forum import events

    topic_id = topic_of(alice, category_id)

    def gone(*_: Any, **__: Any) -> Any:
        raise sa_exc.OperationalError("SELECT 1", {}, ConnectionError("closed"))

    monkeypatch.setattr(events.post_created, "send", gone)
    r = alice.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    assert r.status_code == 500, r.get_data(as_text=True)
    assert "saved" in r.get_json()["errors"][0] and "Retry-After" not in r.headers
    assert counts(app, topic_id)[:2] == (2, 2)


def test_the_new_post_is_as_the_database_has_it(app: Flask, alice: Any, category_id: int) -> None:
    """The post written on the table and handed to the answer equals the row."""
    topic_id = topic_of(alice, category_id)
    r = alice.post(
        "/posts.json",
        json={"topic_id": topic_id, "raw": BODY, "reply_to_post_number": 1},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    data = r.get_json()
    with app.app_context():
        post = db.session.get(Post, data["id"])
        assert post is not None
        assert (post.post_number, post.reply_to_post_number, post.raw) == (2, 1, BODY)
        assert ip_to_bytes(post.ip) == ip_to_bytes("203.0.113.9")  # type: ignore[arg-type]
        assert data["cooked"] == post.cooked and data["version"] == post.version == 1
        assert data["created_at"].startswith(post.created_at.strftime("%Y-%m-%dT%H:%M:%S"))


@pytest.mark.parametrize("with_picture", [True, False])
def test_the_answer_to_a_reply_shows_its_authors_card_without_a_query(
    app: Flask,
    alice: Any,
    users: dict[str, int],
    category_id: int,
    count_queries: Any,
    with_picture: bool,
) -> None:
    """The member's avatar version comes with the member (the session's loader), so the
    card of the new post's author needs no statement of its own."""
    from forum.users.models import Avatar

    if with_picture:
        with app.app_context():
            db.session.add(
                Avatar(user_id=users["alice"], content_type="image/png", data=b"png", version="v7")
            )
            db.session.commit()
    topic_id = topic_of(alice, category_id)
    with count_queries() as q:
        r = alice.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    assert r.status_code == 200, r.get_data(as_text=True)
    expected = (
        "/user_avatar/alice/{size}/v7.png" if with_picture else "/letter_avatar/alice/{size}.svg"
    )
    assert r.get_json()["avatar_template"] == expected
    assert sum("avatars" in s for s in q.statements) == 1  # the loader's, nothing after


def _held_lock(path: str) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_writer_waits_for_sqlites_lock_and_takes_it_once_freed(app: Flask) -> None:
    """The wait in short steps (`_begin_immediate`, instead of the busy handler's growing
    sleeps) still waits: the lock comes only after its holder let go."""
    import threading

    from forum.db import _begin_immediate

    path = sqlite_path(app)
    holder = _held_lock(path)
    waiter = sqlite3.connect(path, isolation_level=None)
    waiter.execute("PRAGMA busy_timeout = 30000")
    let_go = threading.Event()

    def release() -> None:
        let_go.set()
        holder.execute("ROLLBACK")

    releasing = threading.Timer(0.3, release)
    releasing.start()
    try:
        _begin_immediate(waiter)
        assert let_go.is_set() and waiter.in_transaction
        assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 30000  # as it was
    finally:
        releasing.join()
        waiter.execute("ROLLBACK")
        waiter.close()
        holder.close()


def test_a_writer_gives_up_at_the_busy_timeout(app: Flask) -> None:
    from forum.db import _begin_immediate

    path = sqlite_path(app)
    holder = _held_lock(path)
    waiter = sqlite3.connect(path, isolation_level=None)
    waiter.execute("PRAGMA busy_timeout = 200")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _begin_immediate(waiter)
        assert not waiter.in_transaction
        assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 200
    finally:
        holder.execute("ROLLBACK")
        waiter.close()
        holder.close()


def test_other_errors_are_not_waited_on_and_the_timeout_is_restored() -> None:
    """Only "busy" is worth another try: anything else is raised at once."""
    from forum.db import _begin_immediate

    class Refusing:
        """A driver connection whose BEGIN fails as a read-only database's would."""

        def __init__(self) -> None:
            self.begins, self.timeout = 0, 1234

        def execute(self, sql: str) -> Any:
            if sql == "PRAGMA busy_timeout":
                return sqlite3.connect(":memory:").execute(f"SELECT {self.timeout}")
            if sql.startswith("PRAGMA busy_timeout = "):
                self.timeout = int(sql.rsplit(" ", 1)[1])
                return None
            self.begins += 1
            raise sqlite3.OperationalError("attempt to write a readonly database")

    driver = Refusing()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        _begin_immediate(driver)  # type: ignore[arg-type]
    assert driver.begins == 1 and driver.timeout == 1234


def test_a_page_reply_reads_its_redirect_without_the_write_lock(
    app: Flask, alice: Any, category_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the writes commit, what the request still reads takes no write lock."""
    from forum.web import writing

    path = sqlite_path(app)
    topic_id = topic_of(alice, category_id)
    free: list[bool] = []
    post_url = writing.post_url

    def url(*args: Any, **kwargs: Any) -> str:
        made = post_url(*args, **kwargs)  # reads the topic again (the commit expired it)
        free.append(another_writer_can_begin(path))
        return made

    monkeypatch.setattr(writing, "post_url", url)
    r = alice.client.post(
        f"/t/{topic_id}/reply", data={"authenticity_token": alice.csrf, "raw": BODY}
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    assert free == [True]
