"""The database layer: SQLite set-up on every connection, the privacy registry, and
migrations that build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from served import scratch_database

from forum.db import db, write_transaction
from forum.privacy.registry import Privacy, privacy_of, undeclared


def test_every_column_declares_its_privacy_class(app):
    assert undeclared(list(db.metadata.sorted_tables)) == []


def test_undeclared_column_is_caught():
    from sqlalchemy import Column, Integer, MetaData, Table

    table = Table("t", MetaData(), Column("id", Integer, info={"privacy": "internal"}),
                  Column("secret_sauce", Integer))  # fmt: skip
    assert undeclared([table]) == ["t.secret_sauce"]


def test_registry_classifies_what_the_policy_names(app):
    users = db.metadata.tables["users"]
    for name in ("email", "first_name", "last_name", "github_id"):
        assert privacy_of(users.c[name]) is Privacy.PERSONAL
    assert privacy_of(db.metadata.tables["posts"].c.ip) is Privacy.PERSONAL
    assert privacy_of(db.metadata.tables["post_edits"].c.ip) is Privacy.PERSONAL
    assert privacy_of(db.metadata.tables["sign_in_events"].c.ip) is Privacy.PERSONAL
    assert privacy_of(users.c.session_token) is Privacy.SECRET


def test_sqlite_connections_are_set_up(app, ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("secure_delete") == 1
        assert pragma("busy_timeout") >= 5000


def _autocommit() -> bool:
    return bool(db.session.connection().connection.driver_connection.autocommit)


def test_postgresql_reads_run_outside_a_transaction(app, make_host):
    """GETs skip BEGIN and ROLLBACK; writes, on a GET too, stay in a transaction; a host
    application's own routes keep their transactions."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
    with app.test_request_context("/latest.json"):
        app.preprocess_request()
        assert _autocommit()
        with write_transaction():
            assert not _autocommit()
    with app.test_request_context("/posts.json", method="POST"):
        app.preprocess_request()
        assert not _autocommit()
    # Files need no database: no connection taken (and no 503 while it is down).
    statics = [r.rule for r in app.url_map.iter_rules() if r.endpoint.endswith("static")]
    assert statics
    for rule in statics:
        with app.test_request_context(rule.replace("<path:filename>", "parlor.css")):
            app.preprocess_request()
            assert not db.session().in_transaction(), rule

    host = make_host(lambda h: h.add_url_rule("/report", "report", lambda: "report"))
    for path, outside in (("/report", False), ("/forum/latest.json", True)):
        with host.test_request_context(path):
            host.preprocess_request()
            assert _autocommit() is outside, path


@pytest.fixture
def empty_database(db_url, tmp_path) -> Iterator[str]:
    """A new, empty database of the same kind as the test database."""
    with scratch_database(db_url, tmp_path, "mig") as url:
        yield url


def test_migrations_build_the_models_schema(make_app, empty_database):
    fresh = make_app(SQLALCHEMY_DATABASE_URI=empty_database)
    with fresh.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    assert diff == []
