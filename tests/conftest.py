"""Shared fixtures: an app on a real database (SQLite by default, PostgreSQL when
TEST_DATABASE_URL names one), a clean slate per test, and signed-in clients."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

os.environ["PARLOR_ENV"] = "testing"

from config import database_url
from forum import create_app
from forum.content.categories import create_category
from forum.db import db
from forum.users.models import User

GITHUB = "https://github.test"
GITHUB_API = "https://api.github.test"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'parlor-test.sqlite3'}"


@pytest.fixture(scope="session")
def ledger_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("ledger") / "erasure-ledger.jsonl")


@pytest.fixture(scope="session")
def make_app(db_url: str, ledger_file: str) -> Callable[..., Flask]:
    """Build a Parlor app on the test database; keyword arguments override settings."""

    def factory(**overrides: Any) -> Flask:
        settings = {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": "test-secret",
            "GITHUB_CLIENT_ID": "test-client",
            "GITHUB_CLIENT_SECRET": "test-secret-value",
            "GITHUB_URL": GITHUB,
            "GITHUB_API_URL": GITHUB_API,
            "GITHUB_TIMEOUT_SECONDS": 2.0,
            "TRUSTED_PROXIES": "",
            "PUBLIC_URL": "",
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": None,
            "ERASURE_LEDGER": ledger_file,
        }
        settings.update(overrides)
        return create_app(settings)

    return factory


@pytest.fixture(scope="session")
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        db.drop_all()
        db.create_all()  # tests only; the real schema comes from migrations
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_db(request: pytest.FixtureRequest) -> Iterator[None]:
    app: Flask | None = None
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
    yield
    if app is None or "parlor" not in app.extensions:  # no database, or the emulator's app
        return
    with app.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


_next_github_id = iter(range(10_000_000, 20_000_000))


def make_user(username: str, role: str = "member", email: str | None = None) -> User:
    """A member as sign-in would have created them (inside an app context)."""
    user = User(
        github_id=next(_next_github_id),
        username=username,
        username_lower=username.lower(),
        first_name=username.capitalize(),
        last_name="Tester",
        email=email or f"{username}@example.com",
        role=role,
    )
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def users(app: Flask) -> dict[str, int]:
    """alice and bob (members), mia (moderator), ada (admin); their ids."""
    with app.app_context():
        made = {
            "alice": make_user("alice"),
            "bob": make_user("bob"),
            "mia": make_user("mia", "moderator"),
            "ada": make_user("ada", "admin"),
        }
        return {name: u.id for name, u in made.items()}


@pytest.fixture
def category_id(app: Flask) -> int:
    with app.app_context():
        category = create_category("General", "Anything goes.")
        db.session.commit()
        return category.id


class Member:
    """A test client signed in as one member, sending the CSRF token like a browser would."""

    def __init__(self, app: Flask, user_id: int) -> None:
        self.client = app.test_client()
        with app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            session_id = user.get_id()
        with self.client.session_transaction() as sess:
            sess["_user_id"] = session_id
            sess["_fresh"] = True
        self.csrf = self.client.get("/session/csrf.json").get_json()["csrf"]

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("X-CSRF-Token", self.csrf)
        return headers

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.client.post(url, headers=self._headers(kwargs), **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.client.put(url, headers=self._headers(kwargs), **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kwargs), **kwargs)


@pytest.fixture
def member(app: Flask) -> Callable[[int], Member]:
    return lambda user_id: Member(app, user_id)


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """`with count_queries() as q: ...` then `q.count`: SQL statements run by the app."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        with app.app_context():
            engine = db.engine
        counter = QueryCounter()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting


# The members as signed-in clients, for tests that talk to one by name.
@pytest.fixture
def alice(users: dict[str, int], member: Callable[[int], Member]) -> Member:
    return member(users["alice"])


@pytest.fixture
def bob(users: dict[str, int], member: Callable[[int], Member]) -> Member:
    return member(users["bob"])


@pytest.fixture
def mia(users: dict[str, int], member: Callable[[int], Member]) -> Member:
    return member(users["mia"])


@pytest.fixture
def ada(users: dict[str, int], member: Callable[[int], Member]) -> Member:
    return member(users["ada"])


@pytest.fixture
def make_host(app: Flask, db_url: str) -> Iterator[Callable[..., Flask]]:
    """A host application mounting the forum under /forum: `make_host(setup, **config)`;
    `setup(host)` may add the host's own routes and handlers first."""
    hosts: list[Flask] = []

    def factory(setup: Callable[[Flask], None] | None = None, **overrides: Any) -> Flask:
        import forum

        host = Flask("host")
        host.config.update(
            SECRET_KEY="host-secret",
            SQLALCHEMY_DATABASE_URI=db_url,
            GITHUB_CLIENT_ID="test-client",
            GITHUB_CLIENT_SECRET="test-secret",
            GITHUB_URL=GITHUB,
            RATELIMIT_ENABLED=False,
            ERASURE_LEDGER=app.config["ERASURE_LEDGER"],
        )
        host.config.update(overrides)
        if setup is not None:
            setup(host)
        forum.init_app(host, url_prefix="/forum")
        hosts.append(host)
        return host

    yield factory
    for host in hosts:
        with host.app_context():
            db.session.remove()


@pytest.fixture
def host(make_host: Callable[..., Flask]) -> Flask:
    return make_host()
