"""Nothing lost under concurrent writers (issue 9, §4): Parlor under gunicorn with several
worker processes, rate limits off, on the test database's engine (a SQLite file, or a
scratch database on TEST_DATABASE_URL's PostgreSQL); members posting replies into the same
topics and liking the same posts, all at once, over real HTTP.

A bounded run (CONCURRENCY_CLIENTS x CONCURRENCY_REPLIES, 8 x 25 by default); the long one
is `bench/concurrency.py`. The figures are printed; nothing here asserts on time.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from concurrent_writers import Outcome, Plan, like_storm, prepare, problems, write_storm
from served import gunicorn, scratch_database, server_settings

from forum.db import db

pytestmark = pytest.mark.concurrency

PLAN = Plan(
    clients=int(os.environ.get("CONCURRENCY_CLIENTS", "8")),
    replies=int(os.environ.get("CONCURRENCY_REPLIES", "25")),
)


def test_concurrent_replies_and_likes_lose_nothing(
    make_app: Any, db_url: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with scratch_database(db_url, tmp_path, "concurrency") as url:
        settings = {**server_settings(url, tmp_path), "TRUSTED_PROXIES": "127.0.0.1/32, ::1/128"}
        app = make_app(**settings)
        with app.app_context():
            db.create_all()
        world = prepare(app, PLAN)
        out = Outcome()
        log = tmp_path / "gunicorn.log"
        with gunicorn(settings, workers=3, threads=4, log=log) as base:
            write_storm(base, world, PLAN, out)
            like_storm(base, app, world, PLAN, out)
        with capsys.disabled():
            print(f"\n[concurrency, {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}] "
                  f"{out.figures(PLAN)}")  # fmt: skip
        found = problems(app, world, PLAN, out)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        server_log = log.read_text(errors="replace")
        access = [json.loads(line) for line in (tmp_path / "access.log").open()]
    assert found == [], "\n".join(found[:40])
    # The access log kept up: one line per answered write, with its member and address.
    writes = [e for e in access if e["method"] != "GET"]
    assert len(writes) == sum(out.statuses.values())
    members = {str(m.ip): m.user_id for m in world.members}
    assert all(members[e["ip"]] == e["user_id"] for e in writes)
    assert len(out.accepted) == PLAN.clients * PLAN.replies, out.figures(PLAN)
    assert "Traceback" not in server_log, server_log[-5000:]
