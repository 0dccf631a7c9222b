"""Schemathesis against `/openapi.json` on a live Parlor under gunicorn (`pytest -m fuzz`).

Every operation the document describes is called with generated requests, valid and
invalid, as the demo admin (so staff and member routes run their real code rather than
stopping at 403): JSON routes through an all-users API key, as Discourse clients call
them; pages, sign-in and avatars with the admin's session cookie and CSRF token, as a
browser would. Nothing may answer 5xx. The JSON API's answers must conform to the
document: a documented status code, the documented content type, and a body that
validates against the schema. Pages (HTML for browsers) are held to "no 5xx" only: their
error pages are not described one by one.

Bounded for CI: examples and fuzzing, FUZZ_EXAMPLES (10) per operation. FUZZ_COVERAGE=1
adds Schemathesis' coverage phase (every boundary and invalid value each schema implies),
a run of several minutes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from served import gunicorn, scratch_database, server_settings, session_cookie
from sqlalchemy import select

from forum.db import db
from forum.users.models import User

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# Answered by gunicorn before Parlor sees the request (a generated query string can pass
# its 4 KiB request-line limit), in gunicorn's HTML, as nginx would in production.
SERVER_LIMITS = {414, 431}
API_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class Target:
    base: str
    api_key: str  # an all-users key of hubot's, the demo admin
    cookie: str  # hubot's session
    csrf: str


@pytest.fixture(scope="module")
def fuzz_target(
    make_app: Any, db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """Parlor on a seeded demo database of its own, under gunicorn."""
    workdir = tmp_path_factory.mktemp("fuzz")
    with scratch_database(db_url, workdir, "fuzz") as url:
        settings_ = server_settings(url, workdir)
        app = make_app(**settings_)
        key = _seed(app)
        with app.app_context():
            hubot = db.session.scalar(select(User.id).where(User.username == "hubot"))
        cookie, csrf = session_cookie(app, hubot)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with gunicorn(settings_, workers=2, threads=4, log=workdir / "gunicorn.log") as base:
            target = Target(base, key, cookie, csrf)
            for headers in (_headers(target, json_api=True), _headers(target, json_api=False)):
                me = requests.get(f"{base}/session/current.json", headers=headers, timeout=30)
                assert me.json()["current_user"]["username"] == "hubot", me.text
            yield target
        log = (workdir / "gunicorn.log").read_text(errors="replace")
        assert "Traceback" not in log, log[-5000:]


def _headers(target: Target, json_api: bool) -> dict[str, str]:
    if json_api:
        return {"Api-Key": target.api_key, "Api-Username": "hubot"}
    return {"Cookie": f"session={target.cookie}", "X-CSRF-Token": target.csrf}


def _seed(app: Flask) -> str:
    from auth.api_keys import create_key
    from forum.demo import seed_demo

    with app.app_context():
        db.create_all()
        seed_demo()
        key = create_key("hubot", "schemathesis", all_users=True).key
        db.session.commit()
    return key


def _document() -> dict[str, Any]:
    """The description, built from the app's route table as /openapi.json builds it; the
    served one is checked to be the same (see `test_the_served_description_is_this_one`)."""
    from forum import create_app
    from forum.api.openapi import document

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_ENABLED": False})
    return document(app)


DOCUMENT = _document()
# The coverage phase sends some hundreds of requests per operation with a large body.
COVERAGE = os.environ.get("FUZZ_COVERAGE", "") == "1"
CONFIG = SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": COVERAGE, "unexpected-methods": []}}}
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def test_the_served_description_is_this_one(fuzz_target: Target) -> None:
    served = requests.get(f"{fuzz_target.base}/openapi.json", timeout=30).json()
    assert {k: v for k, v in served.items() if k != "servers"} == {
        k: v for k, v in DOCUMENT.items() if k != "servers"
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_holds_to_its_description(case: Any, fuzz_target: Target) -> None:
    json_api = str(case.operation.definition.raw.get("operationId", "")).startswith("api.")
    headers = _headers(fuzz_target, json_api)
    response = case.call(base_url=fuzz_target.base, headers=headers, timeout=30)
    if response.status_code in SERVER_LIMITS:
        return  # gunicorn's own answer to a request line or headers past its limits
    case.validate_response(response, checks=API_CHECKS if json_api else [not_a_server_error])
