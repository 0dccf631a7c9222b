"""Replies and new topics check first and write last (`forum.db.reads_first`).

On SQLite the database's write lock is then held for the writes alone, not through the
checks and the Markdown; the writes check the topic again in their own statement, so a
topic closed or deleted in between takes no reply, on either database.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, request
from sqlalchemy import event, update
from sqlalchemy import exc as sa_exc

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


def write_a_post(
    route: str, member: Any, topic_id: int, category_id: int, expect: tuple[int, ...] = (200, 303)
) -> Any:
    """A reply to `topic_id`, or a new topic, through the API or the pages."""
    if route == "api reply":
        r = member.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    elif route == "page reply":
        r = member.client.post(
            f"/t/{topic_id}/reply", data={"authenticity_token": member.csrf, "raw": BODY}
        )
    elif route == "page topic":
        r = member.client.post(
            "/new-topic",
            data={
                "authenticity_token": member.csrf,
                "title": "Another topic for the write phase",
                "category": str(category_id),
                "raw": BODY,
            },
        )
    else:
        title = "Another topic for the write phase"
        r = member.post("/posts.json", json={"title": title, "raw": BODY, "category": category_id})
    assert r.status_code in expect, r.get_data(as_text=True)
    return r


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
    write_a_post(route, alice, topic_id, category_id)
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

    def beginning() -> None:  # the last moment another writer can get in, on SQLite
        then()
        begin_writes()

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
        made = post_url(*args, **kwargs)  # counts the posts before it, for its page
        free.append(another_writer_can_begin(path))
        return made

    monkeypatch.setattr(writing, "post_url", url)
    r = alice.client.post(
        f"/t/{topic_id}/reply", data={"authenticity_token": alice.csrf, "raw": BODY}
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    assert free == [True]


@contextmanager
def timeline(app: Flask) -> Iterator[list[str]]:
    """Record the app's statements, with BEGIN and COMMIT as SQLAlchemy sends them (on
    SQLite, what the driver is sent: `forum.db` begins on it directly)."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []
    traced: list[Any] = []

    def on_checkout(dbapi_conn: Any, *_: Any) -> None:
        dbapi_conn.set_trace_callback(seen.append)
        traced.append(dbapi_conn)

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    listeners: list[tuple[str, Any]] = (
        [("checkout", on_checkout)]
        if engine.dialect.name == "sqlite"
        else [
            ("before_cursor_execute", on_execute),
            ("commit", lambda _c: seen.append("COMMIT")),
            ("begin", lambda _c: seen.append("BEGIN")),
        ]
    )
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
        for dbapi_conn in traced:
            dbapi_conn.set_trace_callback(None)


def _kind(statement: str) -> str:
    """SELECT, INSERT, BEGIN, ...; WRITE for a WITH query that writes (PostgreSQL's reply)."""
    kind = statement.split(None, 1)[0].upper()
    if kind == "WITH" and any(w in statement.upper() for w in ("INSERT ", "UPDATE ", "DELETE ")):
        return "WRITE"
    return kind


@pytest.mark.parametrize("route", ["api reply", "api topic", "page reply"])
def test_a_post_is_written_in_one_transaction_and_nothing_is_read_after_it(
    app: Flask, alice: Any, category_id: int, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writes run together between one BEGIN and one COMMIT, a reply's in one statement
    on PostgreSQL; the answer (the new post's JSON) is built after the commit, from what was
    written, with no statement after."""
    from forum.api import post_routes

    topic_id = topic_of(alice, category_id)
    with timeline(app) as seen:
        payload = post_routes.post_payload

        def answering(*args: Any, **kwargs: Any) -> Any:
            seen.append("ANSWER")
            return payload(*args, **kwargs)

        monkeypatch.setattr(post_routes, "post_payload", answering)
        write_a_post(route, alice, topic_id, category_id)
    kinds = [_kind(s) for s in seen if not s.upper().startswith("PRAGMA")]
    commit = kinds.index("COMMIT")
    after = kinds[commit + 1 :]
    if route == "page reply":  # its redirect counts the posts before it, for its page
        assert set(after) <= {"BEGIN", "SELECT", "ROLLBACK"}, kinds
    else:
        assert after == ["ANSWER"], kinds
    kinds, seen[:] = kinds[: commit + 1], seen[: seen.index("COMMIT") + 1]
    writes = [k for k in kinds if k in ("INSERT", "UPDATE", "DELETE", "WRITE")]
    begins = [i for i, k in enumerate(kinds) if k == "BEGIN"]
    assert len(begins) == 1 and begins[0] < kinds.index(writes[0]), kinds
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:  # the checks took no lock: they ran before the one BEGIN, which is IMMEDIATE
        assert [s for s in seen if _kind(s) == "BEGIN"] == ["BEGIN IMMEDIATE"]
        assert set(kinds[: begins[0]]) == {"SELECT"}, kinds
    if route != "api topic":  # the topic, its category, the post, the address's use
        assert writes == (["UPDATE", "UPDATE", "INSERT", "INSERT"] if sqlite else ["WRITE"])


def test_a_change_made_while_checking_is_written_in_the_write_transaction(
    app: Flask, alice: Any, category_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a check ever change a row through the ORM, its flush begins the writes
    (IMMEDIATE on SQLite), instead of writing outside any transaction."""
    from forum.users.models import User

    topic_id = topic_of(alice, category_id)

    def checking() -> None:
        member = db.session.scalars(db.select(User).filter_by(username="alice")).one()
        member.first_name = "Checked"
        db.session.flush()

    ran = while_rendering(monkeypatch, checking)
    with timeline(app) as seen:
        r = alice.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    assert r.status_code == 200 and ran, r.get_data(as_text=True)
    kinds = [_kind(s) for s in seen if not s.upper().startswith("PRAGMA")]
    first_update = kinds.index("UPDATE")
    assert "BEGIN" in kinds[:first_update] and kinds.count("COMMIT") == 1, kinds
    with app.app_context():
        assert (
            db.session.scalars(db.select(User.first_name).filter_by(username="alice")).one()
            == "Checked"
        )


def test_an_error_after_the_commit_says_the_post_was_saved(
    app: Flask, alice: Any, category_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is built after the commit: should it fail, the member is told the post
    was saved (so as not to send it twice), not that nothing was."""
    from forum.api import post_routes

    topic_id = topic_of(alice, category_id)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug in the answer")

    monkeypatch.setattr(post_routes, "post_payload", broken)
    r = alice.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    assert r.status_code == 500
    assert "saved" in r.get_json()["errors"][0] and "nothing" not in r.get_json()["errors"][0]
    assert counts(app, topic_id)[:2] == (2, 2)
    # Before any commit, the same error still says that nothing was saved.
    monkeypatch.setattr(posting, "render", broken)
    r = alice.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    assert r.status_code == 500 and "nothing was saved" in r.get_json()["errors"][0]
    assert counts(app, topic_id)[:2] == (2, 2)


def test_a_write_on_the_tables_before_begin_writes_is_refused(
    app: Flask, alice: Any, category_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the checks' connection has no transaction: a write there would commit on
    its own, so it is refused (a bug to fix), and nothing is written."""
    sqlite_path(app)
    topic_id = topic_of(alice, category_id)
    refused: list[str] = []

    def write_while_checking() -> None:
        try:
            db.session.execute(update(Topic).where(Topic.id == topic_id).values(views=99))
        except RuntimeError as exc:
            refused.append(str(exc))
            raise

    while_rendering(monkeypatch, write_while_checking)
    r = alice.post("/posts.json", json={"topic_id": topic_id, "raw": BODY})
    assert r.status_code == 500 and refused and "begin_writes" in refused[0]
    with app.app_context():
        topic = db.session.get(Topic, topic_id)
        assert topic is not None and topic.views == 0
    assert counts(app, topic_id)[:2] == (1, 1)


def test_begin_writes_ends_a_read_transaction_it_did_not_begin(
    app: Flask, alice: Any, category_id: int
) -> None:
    """A connection that is not the checks' own (taken before Parlor's hooks ran) reads in
    a transaction: `begin_writes()` ends it, and the writes begin IMMEDIATE, holding the
    lock, instead of upgrading a read that a concurrent writer may have made stale."""
    from forum.db import begin_writes

    path = sqlite_path(app)
    topic_id = topic_of(alice, category_id)
    with app.test_request_context("/posts.json", method="POST"):
        assert request.endpoint == "api.create_post"  # a reads_first route
        assert db.session.get(Topic, topic_id) is not None  # a read, in a deferred BEGIN
        driver = db.session.connection().connection.driver_connection
        assert driver.in_transaction and another_writer_can_begin(path)
        begin_writes()
        assert not driver.in_transaction  # the read ended
        db.session.execute(update(Topic).where(Topic.id == topic_id).values(views=1))
        assert not another_writer_can_begin(path)
        db.session.rollback()


def test_a_stale_read_is_not_waited_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """BEGIN IMMEDIATE on a connection still reading an older snapshot fails at once
    (SQLITE_BUSY_SNAPSHOT): no wait can end that, so none is tried."""
    import forum.db
    from forum.db import _begin_immediate

    path = sqlite_path(app)
    reader = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None)
    slept: list[float] = []
    monkeypatch.setattr(forum.db.time, "sleep", slept.append)
    version = other.execute("PRAGMA user_version").fetchone()[0]
    try:
        reader.execute("PRAGMA busy_timeout = 5000")
        pending = reader.execute("SELECT name FROM sqlite_master UNION ALL VALUES (0), (0)")
        pending.fetchone()  # a statement still open: its read snapshot stays
        other.execute(f"PRAGMA user_version = {version + 1}")  # a commit after it
        with pytest.raises(sqlite3.OperationalError) as failed:
            _begin_immediate(reader)
        assert failed.value.sqlite_errorcode == sqlite3.SQLITE_BUSY | (2 << 8)
        assert slept == []
    finally:
        reader.close()
        other.execute(f"PRAGMA user_version = {version}")
        other.close()


def block_the_test_client(app: Flask) -> None:
    """Block the test client's address (127.0.0.1), committed on a connection of its own."""
    from forum.moderation.models import ScreenedIP

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            ScreenedIP.__table__.insert().values(
                cidr="127.0.0.1/32", first_ip="127.0.0.1", last_ip="127.0.0.1",
                action="block", reason="", match_count=0,
            )
        )  # fmt: skip


@pytest.mark.parametrize("route", ["api reply", "api topic", "page reply", "page topic"])
def test_an_address_blocked_between_the_checks_and_the_writes_posts_nothing(
    app: Flask, alice: Any, category_id: int, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """The post's write itself checks the address: blocked meanwhile, it writes nothing (a
    new topic's row neither), and the refusal is counted, as any other."""
    from forum.moderation.models import ScreenedIP

    topic_id = topic_of(alice, category_id)
    with app.app_context():
        topics = db.session.query(Topic).count()

    before = counts(app, topic_id)
    between_checks_and_writes(monkeypatch, lambda: block_the_test_client(app))
    r = write_a_post(route, alice, topic_id, category_id, expect=(403,))
    assert "blocked" in r.get_data(as_text=True)
    assert counts(app, topic_id) == before
    with app.app_context():
        assert db.session.query(Topic).count() == topics
        assert db.session.scalars(db.select(ScreenedIP.match_count)).one() == 1


def test_a_refused_reply_keeps_the_callers_other_work(
    app: Flask, alice: Any, category_id: int
) -> None:
    """Outside a request (a command, the demo's seed), a reply the topic refuses leaves
    the rest of the caller's transaction as it was: only a blocked address rolls back."""
    from forum.content.categories import create_category
    from forum.users.models import User

    topic_id = topic_of(alice, category_id)
    with app.app_context():
        db.session.execute(update(Topic).where(Topic.id == topic_id).values(closed=True))
        db.session.commit()
        member = db.session.scalars(db.select(User).filter_by(username="alice")).one()
        create_category("Pending", "Not committed yet.")
        with pytest.raises(posting.Forbidden, match="closed"):
            posting.create_reply(member, topic_id, BODY, ipaddress.ip_address("192.0.2.1"))
        db.session.commit()
        names = set(db.session.scalars(db.select(Category.name)))
    assert "Pending" in names


def test_a_blocked_posts_count_does_not_make_a_later_error_say_saved(
    app: Flask, alice: Any, category_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block's match count is committed, but it is not the member's change: an error
    later in the same request still says that nothing was saved."""
    from forum.moderation.models import ScreenedIP
    from forum.web import writing

    topic_id = topic_of(alice, category_id)
    block_the_test_client(app)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug in the page")

    monkeypatch.setattr(writing, "render_topic", broken)
    r = write_a_post("page reply", alice, topic_id, category_id, expect=(500,))
    assert "nothing was saved" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(db.select(ScreenedIP.match_count)).one() == 1


def test_a_flush_on_another_connection_stays_in_the_writes_transaction(
    app: Flask, alice: Any, category_id: int
) -> None:
    """On a connection that is not the checks' own, a flush during the checks makes its
    read transaction the writes' one: `begin_writes()` then must not commit it."""
    from forum.db import begin_writes

    sqlite_path(app)
    topic_id = topic_of(alice, category_id)
    with app.test_request_context("/posts.json", method="POST"):
        topic = db.session.get(Topic, topic_id)  # a read, in a deferred BEGIN
        assert topic is not None
        topic.views = 7
        db.session.flush()
        begin_writes()
        db.session.rollback()
    with app.app_context():
        topic = db.session.get(Topic, topic_id)
        assert topic is not None and topic.views == 0
