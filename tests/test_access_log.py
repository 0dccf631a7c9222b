"""P7: one JSON line per request with the client IP, secrets redacted, rotated daily and
kept ACCESS_LOG_RETENTION_DAYS."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from forum.accesslog import make_handler, redact_query


def _lines(path: Path) -> list[dict]:
    for handler in logging.getLogger("parlor.access.parlor").handlers:
        handler.flush()
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_one_json_line_per_request(app, make_app, tmp_path, users, member):
    log = tmp_path / "access.log"
    logged = make_app(ACCESS_LOG=str(log))
    client = logged.test_client()
    client.get("/latest.json", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    client.get("/t/999.json", environ_base={"REMOTE_ADDR": "2001:db8::5"})
    entries = _lines(log)
    assert [e["path"] for e in entries] == ["/latest.json", "/t/999.json"]
    first, second = entries
    assert first["ip"] == "203.0.113.9" and second["ip"] == "2001:db8::5"
    assert first["method"] == "GET" and first["status"] == 200 and second["status"] == 404
    assert first["user_id"] is None
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert first["time"].endswith("Z")


def test_signed_in_requests_carry_the_user_id(app, make_app, tmp_path, users):
    log = tmp_path / "access.log"
    logged = make_app(ACCESS_LOG=str(log))
    client = logged.test_client()
    with logged.app_context():
        from forum.db import db
        from forum.users.models import User

        session_id = db.session.get(User, users["bob"]).get_id()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
    client.get("/session/current.json")
    client.get("/categories.json")
    assert [e["user_id"] for e in _lines(log)] == [users["bob"], users["bob"]]


def test_tokens_in_query_strings_are_redacted(app, make_app, tmp_path):
    log = tmp_path / "access.log"
    logged = make_app(ACCESS_LOG=str(log))
    client = logged.test_client()
    client.get("/auth/github/callback?code=SECRETCODE123&state=SECRETSTATE456")
    client.get("/newsletter/unsubscribe?token=SECRETTOKEN789&x=1")
    text = log.read_text()
    for secret in ("SECRETCODE123", "SECRETSTATE456", "SECRETTOKEN789"):
        assert secret not in text
    assert "code=%5Bredacted%5D" in text and "x=1" in text


def test_redact_query_keeps_the_rest():
    assert redact_query("page=2&q=hello") == "page=2&q=hello"
    assert redact_query("code=abc&next=%2Ft%2F1") == "code=%5Bredacted%5D&next=%2Ft%2F1"


def test_files_rotate_daily_and_old_ones_are_deleted(tmp_path):
    log = tmp_path / "access.log"
    handler = make_handler(str(log), retention_days=14)
    assert handler.when == "MIDNIGHT" and handler.backupCount == 14
    # Twenty days of rotated files, as a server running for three weeks leaves them.
    day = 86400
    now = time.time()
    for n in range(1, 21):
        rotated = tmp_path / f"access.log.{time.strftime('%Y-%m-%d', time.gmtime(now - n * day))}"
        rotated.write_text("{}\n")
        os.utime(rotated, (now - n * day, now - n * day))
    handler.emit(logging.makeLogRecord({"msg": "{}"}))
    handler.doRollover()
    handler.close()
    kept = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("access.log."))
    assert len(kept) == 14
    newest = time.strftime("%Y-%m-%d", time.gmtime(now - day))
    assert f"access.log.{newest}" in kept or any(k.endswith(newest) for k in kept)


def test_plugin_logs_only_the_forums_requests(app, db_url, tmp_path):
    from flask import Flask

    import forum

    log = tmp_path / "access.log"
    host = Flask("hostapp")
    host.config.update(SECRET_KEY="k", SQLALCHEMY_DATABASE_URI=db_url, ACCESS_LOG=str(log))

    @host.get("/mine")
    def mine():
        return "host"

    forum.init_app(host, url_prefix="/forum")
    client = host.test_client()
    client.get("/mine")
    client.get("/forum/latest.json")
    for handler in logging.getLogger("parlor.access.hostapp").handlers:
        handler.flush()
    paths = [json.loads(line)["path"] for line in log.read_text().splitlines()]
    assert paths == ["/forum/latest.json"]
