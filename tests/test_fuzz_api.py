"""Schemathesis against `/openapi.json` on a live Parlor under gunicorn (`pytest -m fuzz`).

Every operation the document describes is called with generated requests, valid and
invalid, as the demo admin through an all-users API key (so staff and member routes run
their real code rather than stopping at 403). Nothing may answer 5xx; the JSON API's
answers must conform to the document: a documented status code, the documented content
type, and a body that validates against the schema. Pages and redirects (HTML, for
browsers) are held to "no 5xx" only, since their error pages are not described one by one.

The number of examples per operation is bounded (FUZZ_EXAMPLES, 8 by default) so the run
fits in CI; raise it locally for a deeper search.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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
from served import gunicorn, scratch_database, server_settings

from forum.db import db

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


@pytest.fixture(scope="module")
def fuzz_target(
    make_app: Any, db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(base URL, API key): Parlor on a seeded demo database of its own, under gunicorn."""
    workdir = tmp_path_factory.mktemp("fuzz")
    with scratch_database(db_url, workdir, "fuzz") as url:
        settings_ = server_settings(url, workdir)
        key = _seed(make_app(**settings_))
        with gunicorn(settings_, workers=2, threads=4, log=workdir / "gunicorn.log") as base:
            yield base, key
        log = (workdir / "gunicorn.log").read_text(errors="replace")
        assert "Traceback" not in log, log[-5000:]


def _seed(app: Flask) -> str:
    from auth.api_keys import create_key
    from forum.demo import seed_demo

    with app.app_context():
        db.create_all()
        seed_demo()
        key = create_key("hubot", "schemathesis", all_users=True).key
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return key


def _document() -> dict[str, Any]:
    """The description, built from the app's route table as /openapi.json builds it; the
    served one is checked to be the same (see `test_the_served_description_is_this_one`)."""
    from forum import create_app
    from forum.api.openapi import document

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_ENABLED": False})
    return document(app)


DOCUMENT = _document()
# Examples and fuzzing (valid and invalid data, EXAMPLES per operation) by default. The
# coverage phase (every boundary and invalid value each schema implies, some hundreds of
# requests per operation with a large body) with FUZZ_COVERAGE=1, for a deeper run.
COVERAGE = os.environ.get("FUZZ_COVERAGE", "") == "1"
CONFIG = SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": COVERAGE, "unexpected-methods": []}}}
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def test_the_served_description_is_this_one(fuzz_target: tuple[str, str]) -> None:
    base, _key = fuzz_target
    served = requests.get(f"{base}/openapi.json", timeout=30).json()
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
def test_the_api_holds_to_its_description(case: Any, fuzz_target: tuple[str, str]) -> None:
    base, key = fuzz_target
    headers = {"Api-Key": key, "Api-Username": "hubot"}
    response = case.call(base_url=base, headers=headers, timeout=30)
    if response.status_code in SERVER_LIMITS:
        return  # gunicorn's own answer to a request line or headers past its limits
    json_api = str(case.operation.definition.raw.get("operationId", "")).startswith("api.")
    case.validate_response(response, checks=API_CHECKS if json_api else [not_a_server_error])
