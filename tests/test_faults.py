"""Faults (issue 9, §5): GitHub failing at each step of sign-in, the database going away,
and a backup that cannot be written.

GitHub here is a small HTTP server on a real socket (not a mock of `requests`), so slow
answers meet the real timeouts, dropped connections the real socket errors. Unit-level
failures of the GitHub client are in test_github_client.py; this module drives the whole
callback route and checks what is left behind: a page that says what happened, and no
account, no avatar, no sign-in record and no session.
"""

from __future__ import annotations

import errno
import io
import ipaddress
import json
import os
import socketserver
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from served import free_port, scratch_database, session_cookie
from sqlalchemy import create_engine, event, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy import text as sql_text

from forum.content.categories import create_category
from forum.content.models import Post
from forum.content.posting import create_topic
from forum.db import db
from forum.users.models import Avatar, SignInEvent, User

TIMEOUT = 0.5  # GITHUB_TIMEOUT_SECONDS in these tests; "slow" answers take longer
SLOW = 2.0

# -- a GitHub on a real socket ------------------------------------------------------------

STEPS = {
    "token": ("POST", "/login/oauth/access_token"),
    "user": ("GET", "/user"),
    "emails": ("GET", "/user/emails"),
    "avatar": ("GET", "/avatars/octocat.png"),
}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _answer(
    status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}", "Connection: close"]  # fmt: skip
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> bytes:
    return _answer(status, json.dumps(data).encode(), "application/json", headers)


def _truncated() -> bytes:
    """Headers promising 900 bytes, then 10 of them, then the connection closes."""
    return _answer(200, b"x" * 900, "application/json")[:-890]


# What each fault sends instead of the right answer (None: close without a word).
WRONG_SHAPES = {
    "token": [{"access_token": "gho_x"}],  # a list
    "user": [{"id": 583231, "login": "octocat"}],
    "emails": {"email": "octocat@example.com", "primary": True, "verified": True},
    "avatar": {"not": "an image"},
}
FAULTS: dict[str, Callable[[str], bytes | None]] = {
    "reset": lambda step: None,
    "truncated": lambda step: _truncated(),
    "html": lambda step: _answer(200, b"<html><body>Unicorn!</body></html>", "text/html"),
    "empty": lambda step: _answer(200, b"", "application/json"),
    "not-json": lambda step: _answer(200, b"{oops", "application/json"),
    "bad-utf8": lambda step: _answer(200, b'{"login": "\xff\xfe"}', "application/json"),
    "wrong-shape": lambda step: _json(200, WRONG_SHAPES[step]),
    "500": lambda step: _answer(500, b"Internal error", "text/plain"),
    "502": lambda step: _answer(502, b"<html>Bad gateway</html>", "text/html"),
    "503": lambda step: _json(503, {"message": "Service unavailable"}),
    "429": lambda step: _json(429, {"message": "Too many"}, {"Retry-After": "30"}),
    "403-limit": lambda step: _json(
        403,
        {"message": "API rate limit exceeded"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 40)},
    ),
    "slow": lambda step: b"SLOW",
}


class FakeGitHub(socketserver.ThreadingTCPServer):
    """GitHub's three sign-in calls and the avatar, one of them answering `fault`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fault: tuple[str, str] | None = None  # (step, fault)
        self.calls: list[str] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def good(self, step: str) -> bytes:
        if step == "token":
            return _json(200, {"access_token": "gho_fault_test", "token_type": "bearer"})
        if step == "user":
            return _json(200, {"login": "octocat", "id": 583231, "name": "The Octocat",
                               "avatar_url": f"{self.url}/avatars/octocat.png"})  # fmt: skip
        if step == "emails":
            return _json(200, [{"email": "octocat@example.com", "primary": True, "verified": True}])
        return _answer(200, _png(), "image/png")


class _Handler(socketserver.StreamRequestHandler):
    server: FakeGitHub

    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1").split()
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        self.rfile.read(length)
        method, path = request_line[0], urlsplit(request_line[1]).path
        step = next(s for s, (m, p) in STEPS.items() if (m, p) == (method, path))
        self.server.calls.append(step)
        answer = self.server.good(step)
        if self.server.fault and self.server.fault[0] == step:
            answer = FAULTS[self.server.fault[1]](step)
            if answer == b"SLOW":
                time.sleep(SLOW)
                answer = self.server.good(step)
        if answer is not None:
            self.wfile.write(answer)
            self.wfile.flush()


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    server = FakeGitHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def signin_app(app: Flask, make_app: Callable[..., Flask], github: FakeGitHub) -> Flask:
    github.fault, github.calls[:] = None, []
    return make_app(GITHUB_URL=github.url, GITHUB_API_URL=github.url,
                    GITHUB_TIMEOUT_SECONDS=TIMEOUT)  # fmt: skip


def _sign_in(client: FlaskClient) -> tuple[Any, str]:
    """Start signing in, come back from "GitHub" approved: the callback's answer, and its URL."""
    r = client.get("/auth/github/login")
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    state = parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]
    callback = f"/auth/github/callback?code=fault-test-code&state={state}"
    return client.get(callback), callback


def _left_behind(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (User, SignInEvent, Avatar)
        )


def _signed_in(app: Flask, client: FlaskClient) -> bool:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    data: dict[str, Any] = {}
    if cookie is not None:
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        data = serializer.loads(cookie.value)
    return "_user_id" in data or client.get("/session/current.json").status_code != 404


# The page each fault must give: status and what it says. Rate limits also say when.
UNAVAILABLE = (502, "not available")
UNREADABLE = (502, "could not read")
EXPECTED = {
    "slow": (504, "did not answer in time"),
    "reset": UNAVAILABLE,
    "truncated": UNAVAILABLE,
    "html": UNREADABLE,
    "empty": UNREADABLE,
    "not-json": UNREADABLE,
    "bad-utf8": UNREADABLE,
    "wrong-shape": UNREADABLE,
    "500": UNAVAILABLE,
    "502": UNAVAILABLE,
    "503": UNAVAILABLE,
    "429": (503, "limiting"),
    "403-limit": (503, "limiting"),
}


def _assert_clear_failure(r: Any, status: int, phrase: str) -> str:
    text = r.get_data(as_text=True)
    assert r.status_code == status, text[:600]
    assert r.mimetype == "text/html"
    assert phrase.lower() in text.lower(), text[:2000]
    assert "nothing was stored" in text.lower()
    for leak in ("Traceback", "gho_fault_test", "fault-test-code", "Exception"):
        assert leak not in text
    return text


@pytest.mark.parametrize("fault", list(EXPECTED))
@pytest.mark.parametrize("step", ["token", "user", "emails"])
def test_github_failing_at_any_step_leaves_nothing(
    signin_app: Flask, github: FakeGitHub, step: str, fault: str
) -> None:
    github.fault = (step, fault)
    client = signin_app.test_client()
    r, callback = _sign_in(client)
    status, phrase = EXPECTED[fault]
    if (step, fault) == ("token", "bad-utf8"):
        status, phrase = 502, "did not work"  # read as Latin-1: an answer without a token
    _assert_clear_failure(r, status, phrase)
    if status == 503:
        assert 0 < int(r.headers["Retry-After"]) <= 60
    # The failing step was reached and sign-in went no further (the shapes of /user and
    # /user/emails are checked once both are in).
    assert step in github.calls and "avatar" not in github.calls
    assert _left_behind(signin_app) == (0, 0, 0)
    assert not _signed_in(signin_app, client)
    # The failed attempt used up its state: the same callback cannot be replayed.
    github.fault = None
    _assert_clear_failure(client.get(callback), 400, "expired or was already used")
    assert _left_behind(signin_app) == (0, 0, 0)


@pytest.mark.parametrize("step", ["token", "user"])
def test_github_down_gives_a_clear_page(
    app: Flask, make_app: Callable[..., Flask], github: FakeGitHub, step: str
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    urls = {"GITHUB_URL": closed if step == "token" else github.url,
            "GITHUB_API_URL": closed if step == "user" else github.url}  # fmt: skip
    parlor = make_app(GITHUB_TIMEOUT_SECONDS=TIMEOUT, **urls)
    client = parlor.test_client()
    _assert_clear_failure(_sign_in(client)[0], *UNAVAILABLE)
    assert _left_behind(parlor) == (0, 0, 0)
    assert not _signed_in(parlor, client)


@pytest.mark.parametrize("fault", ["slow", "reset", "truncated", "html", "wrong-shape", "503"])
def test_a_failing_avatar_download_still_signs_in_without_a_picture(
    signin_app: Flask, github: FakeGitHub, fault: str
) -> None:
    """The picture is not worth refusing sign-in over (a letter avatar stands in), so the
    account is complete, just without an avatar row; the download stays time-bounded."""
    github.fault = ("avatar", fault)
    client = signin_app.test_client()
    r, _ = _sign_in(client)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert _left_behind(signin_app) == (1, 1, 0)
    assert _signed_in(signin_app, client)
    me = client.get("/session/current.json").get_json()["current_user"]
    assert "letter_avatar" in me["avatar_template"]


def test_the_fake_github_signs_in_when_nothing_fails(signin_app: Flask, github: FakeGitHub) -> None:
    client = signin_app.test_client()
    assert _sign_in(client)[0].status_code == 302
    assert github.calls == ["token", "user", "emails", "avatar"]
    assert _left_behind(signin_app) == (1, 1, 1)
    assert _signed_in(signin_app, client)


# -- the database unavailable --------------------------------------------------------------

NO_LEAKS = ("Traceback", "sqlalchemy", "sqlite3", "psycopg", "OperationalError", "SELECT")


class Outage:
    """Take the app's database away and bring it back.

    SQLite: another connection holds an exclusive lock (locking_mode=EXCLUSIVE, so even
    readers of the WAL database are shut out) past the app's busy timeout. PostgreSQL: the
    database refuses new connections and the app's open ones are terminated.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            self.url = db.engine.url
        self.holder: sqlite3.Connection | None = None

    def begin(self) -> None:
        name = self.url.database or ""
        if self.url.get_backend_name() == "sqlite":
            with self.app.app_context():
                db.engine.dispose()  # idle pooled connections would keep the lock from us
            self.holder = sqlite3.connect(name, isolation_level=None)
            self.holder.execute("PRAGMA locking_mode=EXCLUSIVE")
            self.holder.execute("BEGIN EXCLUSIVE")
            return
        self._admin(
            f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false',
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = :name AND pid <> pg_backend_pid()",
            name=name,
        )

    def end(self) -> None:
        if self.holder is not None:
            self.holder.execute("ROLLBACK")
            self.holder.close()
            self.holder = None
            return
        self._admin(f'ALTER DATABASE "{self.url.database}" WITH ALLOW_CONNECTIONS true')

    def _admin(self, *statements: str, **params: str) -> None:
        admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(sql_text(statement), params)
        admin.dispose()


@pytest.fixture
def own_db(make_app: Callable[..., Flask], db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a database of its own (an outage must not reach other tests' database),
    with a member, a category and a topic. SQLite waits 0.2 s for a lock, not 10 s."""
    with scratch_database(db_url, tmp_path, "outage") as url:
        sqlite = url.startswith("sqlite")
        options = {"connect_args": {"timeout": 0.2}} if sqlite else {}
        parlor = make_app(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=options)
        with parlor.app_context():
            engine = db.engine
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect",
                             lambda conn, _: conn.execute("PRAGMA busy_timeout=200"))  # fmt: skip
            db.create_all()
            member = User(github_id=4242, username="writer", username_lower="writer",
                          email="writer@example.com")  # fmt: skip
            db.session.add(member)
            db.session.flush()
            category = create_category("General", "Anything goes.")
            create_topic(member, "A topic for the outage", "Its first post, long enough.",
                         category.id, ipaddress.ip_address("192.0.2.9"))  # fmt: skip
            db.session.commit()
            engine.dispose()
        yield parlor
        with parlor.app_context():
            db.session.remove()
            db.engine.dispose()


def _member_client(app: Flask) -> tuple[FlaskClient, str]:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "writer"))
    cookie, csrf = session_cookie(app, user_id)
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return client, csrf


def _topic_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(Post.topic_id))  # type: ignore[return-value]


def _post_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Post)) or 0


def test_database_outage_gives_503_and_the_app_recovers(own_db: Flask) -> None:
    topic_id = _topic_id(own_db)
    member, csrf = _member_client(own_db)
    visitor = own_db.test_client()
    reply = {"topic_id": topic_id, "raw": "A reply written while the database was away."}

    def requests_() -> dict[str, Any]:
        return {
            "latest.json": visitor.get("/latest.json"),
            "topic.json": visitor.get(f"/t/{topic_id}.json"),
            "session.json": member.get("/session/current.json"),
            "reply.json": member.post("/posts.json", json=reply, headers={"X-CSRF-Token": csrf}),
            "home page": visitor.get("/"),
            "topic page": member.get(f"/t/outage/{topic_id}"),
            "sign-in": visitor.get("/auth/github/login"),
            "avatar": visitor.get("/user_avatar/writer/48/1.png"),
        }

    before = _post_count(own_db)
    outage = Outage(own_db)
    outage.begin()
    try:
        during = requests_()
    finally:
        outage.end()
    for name, r in during.items():
        body = r.get_data(as_text=True)
        assert r.status_code == 503, (name, r.status_code, body[:500])
        assert r.headers["Retry-After"] == "10", name
        assert not any(leak in body for leak in NO_LEAKS), (name, body)
        if name.endswith(".json"):
            assert r.content_type == "application/json; charset=utf-8", name
            assert r.get_json() == {
                "errors": ["The forum's database is not available right now. "
                           "Please try again in a moment."],
                "error_type": "service_unavailable",
            }  # fmt: skip
        else:
            assert r.mimetype == "text/html", name
            assert "Temporarily unavailable" in body, name
    assert _post_count(own_db) == before  # nothing half-written

    after = requests_()
    for name in ("latest.json", "topic.json", "session.json", "reply.json", "home page"):
        assert after[name].status_code == 200, (name, after[name].get_data(as_text=True)[:500])
    assert after["sign-in"].status_code == 302
    assert _post_count(own_db) == before + 1


# -- backups that cannot be written -------------------------------------------------------

EARLIER = "parlor-20240101T000000000000Z"


@pytest.fixture
def backup_app(make_app: Callable[..., Flask], db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a database of its own, with enough in it that no backup fits in 64 KiB."""
    with scratch_database(db_url, tmp_path, "backup") as url:
        parlor = make_app(SQLALCHEMY_DATABASE_URI=url, BACKUP_DIR=str(tmp_path / "unset"))
        with parlor.app_context():
            db.create_all()
            member = User(github_id=4343, username="filler", username_lower="filler",
                          email="filler@example.com")  # fmt: skip
            db.session.add(member)
            db.session.flush()
            category = create_category("General", "Anything goes.")
            for n in range(8):  # random text: compression cannot make it small
                create_topic(member, f"Filler topic number {n}", os.urandom(12_000).hex(),
                             category.id, ipaddress.ip_address("192.0.2.10"))  # fmt: skip
            db.session.commit()
        yield parlor
        with parlor.app_context():
            db.session.remove()
            db.engine.dispose()


def _plant_earlier_backup(directory: Path, sqlite: bool) -> tuple[Path, bytes]:
    earlier = directory / f"{EARLIER}.{'sqlite3' if sqlite else 'dump'}"
    content = b"an earlier backup, which must survive a failed one" * 20
    earlier.write_bytes(content)
    return earlier, content


def _backup_fails_cleanly(app: Flask, directory: Path, *reasons: str) -> None:
    """`forum backup` into `directory` fails with a clear message and a non-zero exit, the
    earlier backup stays as it was, and no partial file is left."""
    app.config["BACKUP_DIR"] = str(directory)
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
    earlier, content = (
        _plant_earlier_backup(directory, sqlite) if directory.is_dir() else (None, b"")
    )
    before = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    result = app.test_cli_runner().invoke(args=["forum", "backup"])
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert "earlier backups are untouched" in result.output, result.output
    assert any(reason in result.output for reason in reasons), result.output
    assert str(directory) in result.output
    if directory.is_dir():
        assert sorted(p.name for p in directory.iterdir()) == before  # no partial file
    if earlier is not None:
        assert earlier.read_bytes() == content


@contextmanager
def tmpfs(path: Path, size: str = "64k") -> Iterator[Path]:
    """A tiny filesystem of its own (root only; skips elsewhere)."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_backup_onto_a_full_disk(backup_app: Flask, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "tiny") as tiny:
        _backup_fails_cleanly(backup_app, tiny, "No space left on device",
                              "database or disk is full", "pg_dump failed")  # fmt: skip


def test_backup_into_a_read_only_folder(backup_app: Flask, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", size="1m") as folder:
        with backup_app.app_context():
            sqlite = db.engine.dialect.name == "sqlite"
        _plant_earlier_backup(folder, sqlite)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        backup_app.config["BACKUP_DIR"] = str(folder)
        result = backup_app.test_cli_runner().invoke(args=["forum", "backup"])
        assert result.exit_code != 0
        assert "Read-only file system" in result.output, result.output
        assert "earlier backups are untouched" in result.output
        assert [p.name for p in folder.iterdir()] == [
            f"{EARLIER}.{'sqlite3' if sqlite else 'dump'}"
        ]


def test_backup_into_a_folder_that_cannot_be_made(backup_app: Flask, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _backup_fails_cleanly(backup_app, blocker / "backups", "Not a directory")
    assert blocker.read_text() == "not a folder"


def test_backup_when_the_write_runs_out_of_space(
    backup_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, by injecting the error a full disk raises half-way through the write (for
    machines where no tiny filesystem can be mounted)."""
    from forum.privacy import backups

    def half_then_full(dest: Path, *_: Any) -> None:
        dest.write_bytes(b"SQLite format 3\0" + b"\0" * 4096)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def pg_dump_half_then_full(argv: list[str], **_: Any) -> Any:
        target = next(a.removeprefix("--file=") for a in argv if a.startswith("--file="))
        Path(target).write_bytes(b"PGDMP" + b"\0" * 4096)
        raise subprocess.CalledProcessError(1, argv)

    monkeypatch.setattr(backups, "_sqlite_snapshot", half_then_full)
    monkeypatch.setattr(backups.subprocess, "run", pg_dump_half_then_full)
    folder = tmp_path / "backups"
    folder.mkdir()
    _backup_fails_cleanly(backup_app, folder, "No space left on device", "pg_dump failed")


def test_a_backup_after_a_failed_one_works(backup_app: Flask, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    backup_app.config["BACKUP_DIR"] = str(blocked / "backups")
    assert backup_app.test_cli_runner().invoke(args=["forum", "backup"]).exit_code != 0
    backup_app.config["BACKUP_DIR"] = str(tmp_path / "good")
    result = backup_app.test_cli_runner().invoke(args=["forum", "backup"])
    assert result.exit_code == 0, result.output
    [written] = list((tmp_path / "good").iterdir())
    assert written.name.startswith("parlor-") and written.stat().st_size > 64 * 1024


def test_the_database_failing_after_a_save_says_it_was_saved(
    app: Flask, alice: Any, users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change committed, then the database gone while the answer is read: not 503 (a
    client would send the change again) but a 500 that says it was saved."""
    from forum.privacy import routes

    def gone(*_: Any) -> Any:
        raise sa_exc.OperationalError("SELECT users.id FROM users", {}, ConnectionError("closed"))

    monkeypatch.setattr(routes, "user_payload", gone)
    r = alice.put("/u/alice.json", json={"first_name": "Alicia"})
    assert r.status_code == 500, r.get_data(as_text=True)
    assert r.get_json()["error_type"] == "server_error"
    assert "saved" in r.get_json()["errors"][0] and "Retry-After" not in r.headers
    with app.app_context():
        assert db.session.get(User, users["alice"]).first_name == "Alicia"  # type: ignore[union-attr]

    # Before anything was saved, the same failure is a plain 503: sending it again is safe.
    monkeypatch.setattr(routes, "update_profile", gone)
    r = alice.put("/u/alice.json", json={"first_name": "Alison"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "10"


def test_the_503_answer_is_the_forums_own(app: Flask, db_url: str) -> None:
    """Mounted in a host site, Parlor answers 503 for its own routes only: the host's
    routes keep whatever the host does with a database error."""
    import forum

    host = Flask("host")
    host.config.update(SECRET_KEY="host-secret", SQLALCHEMY_DATABASE_URI=db_url,
                       GITHUB_CLIENT_ID="c", GITHUB_CLIENT_SECRET="s")  # fmt: skip

    @host.get("/report")
    def report() -> Any:
        raise sa_exc.OperationalError("SELECT 1", {}, ConnectionError("closed"))

    @host.errorhandler(500)
    def host_500(_exc: Any) -> Any:
        return "host's own 500 page", 500

    forum.init_app(host, url_prefix="/forum")
    host.config["PROPAGATE_EXCEPTIONS"] = False
    client = host.test_client()
    r = client.get("/report")
    assert (r.status_code, r.data) == (500, b"host's own 500 page")
