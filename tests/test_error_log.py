"""Issue 9 §6: an unexpected error is one JSON line in the error log, with what helps to
debug it and nothing secret or personal; the answer itself shows no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

import forum.api.topic_routes
import forum.web.reading
from forum.db import db


def boom(*_args, **_kwargs):
    raise RuntimeError("the disk caught fire")


@pytest.fixture
def logged_app(make_app, tmp_path: Path):
    log = tmp_path / "errors.log"
    app = make_app(ERROR_LOG=str(log))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app, log
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_an_api_error_is_one_structured_line_and_a_plain_answer(logged_app, monkeypatch):
    app, log = logged_app
    monkeypatch.setattr(forum.api.topic_routes, "_topic_list", boom)
    r = app.test_client().get("/latest.json?token=s3cret-unsubscribe&page=1")
    assert r.status_code == 500
    assert r.get_json()["error_type"] == "server_error"
    assert "caught fire" not in r.get_data(as_text=True)  # no traceback for the client
    [entry] = lines(log)
    assert entry["level"] == "error" and entry["error"] == "RuntimeError"
    assert entry["endpoint"] == "api.latest" and entry["method"] == "GET"
    assert entry["path"] == "/latest.json?token=%5Bredacted%5D&page=1"
    assert "the disk caught fire" in entry["traceback"]
    assert "s3cret-unsubscribe" not in log.read_text()


def test_a_page_error_is_logged_the_same_way_and_shows_a_page(logged_app, monkeypatch):
    app, log = logged_app
    monkeypatch.setattr(forum.web.reading, "render_template", boom)
    r = app.test_client().get("/latest")
    assert r.status_code == 500 and r.mimetype == "text/html"
    assert "caught fire" not in r.get_data(as_text=True)
    [entry] = lines(log)
    assert entry["endpoint"] == "web.latest" and entry["error"] == "RuntimeError"


def test_statement_values_stay_out_of_database_errors(logged_app):
    app, _ = logged_app
    with app.app_context():
        try:
            db.session.execute(
                text("SELECT no_such_column FROM users WHERE email = :e"),
                {"e": "alice@example.com"},
            )
        except Exception as exc:  # the driver's error, as the error log would print it
            assert "alice@example.com" not in str(exc)
        else:
            raise AssertionError("the statement should fail")
        db.session.rollback()
