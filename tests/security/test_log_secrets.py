"""No secret is ever written to a log: with the access log and the error log in files,
every Python logger captured at DEBUG and stderr captured, a member signs in through
GitHub (code, state, PKCE verifier, access token), uses the CSRF token, API keys, the
unsubscribe link and the session and remember-me cookies, and the app fails twice on
purpose with all of those in the request (and one in an SQL parameter). Then every line
of every log is searched for every secret."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from forum.db import db

from .conftest import EMULATOR_SECRET, authorize, through_emulator
from .world import world as fresh_world

# The emulator is GitHub: its server's request log (logger "werkzeug", in this process only
# because the emulator runs in a thread here) is GitHub's log, not Parlor's.
NOT_OURS = {"werkzeug"}


@pytest.fixture
def logged_app(
    app: Flask, make_app: Callable[..., Flask], emulator: tuple[str, Flask], tmp_path: Path
) -> Flask:
    base, _emu = emulator
    return make_app(
        **through_emulator(base),
        ACCESS_LOG=str(tmp_path / "access.log"),
        ERROR_LOG=str(tmp_path / "error.log"),
    )


def pending_verifier(app: Flask, client: Any) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    return str(data["_github_oauth"]["verifier"])


def test_no_secret_is_written_to_any_log(
    logged_app: Flask,
    emulator: tuple[str, Flask],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    parlor, (_base, emu) = logged_app, emulator
    w = fresh_world(parlor)
    secrets: dict[str, str] = {
        "GitHub client secret": EMULATOR_SECRET,
        "SECRET_KEY": parlor.config["SECRET_KEY"],
        "unsubscribe token": w.unsubscribe_token,
        **{f"{name}'s API key": key for name, key in w.api_keys.items()},
    }

    # Sign-in through GitHub, asking to be remembered.
    browser = parlor.test_client()
    # The browser's own visit to GitHub is not Parlor's doing: its urllib3 lines are muted.
    quiet = logging.getLogger("urllib3.connectionpool")
    quiet.disabled = True
    try:
        callback, code, state = authorize(browser, "octocat", remember="1")
    finally:
        quiet.disabled = False
    secrets.update(
        {
            "OAuth code": code,
            "OAuth state": state,
            "PKCE verifier": pending_verifier(parlor, browser),
        }
    )
    assert browser.get(callback).status_code == 302
    store = emu.extensions["github_emulator"]
    secrets.update({f"GitHub token {i}": t for i, t in enumerate(store._tokens)})
    assert browser.get(callback).status_code >= 400  # a replay: logged as a failure, if at all
    secrets["session cookie"] = browser.get_cookie("session").value
    secrets["remember-me cookie"] = browser.get_cookie("remember_token").value
    csrf = browser.get("/session/csrf.json").get_json()["csrf"]
    secrets["CSRF token"] = csrf

    # The secrets in use: cookie writes with the token, API keys, the unsubscribe link.
    alice = w.member("alice")
    secrets["alice's CSRF token"] = alice.csrf
    raw = "A reply long enough to be accepted, sent with the CSRF token."
    assert alice.post("/posts.json", data={"topic_id": w.topic_id, "raw": raw}).status_code == 200
    form = {"raw": raw, "authenticity_token": alice.csrf}
    assert alice.client.post(f"/t/{w.topic_id}/reply", data=form).status_code == 303
    api = {"Api-Key": w.api_keys["ada"], "Api-Username": "ada"}
    assert parlor.test_client().get("/admin/audit-log.json", headers=api).status_code == 200
    assert (
        parlor.test_client().get("/latest.json", headers={**api, "Api-Key": "0" * 64}).status_code
        == 403
    )
    visitor = parlor.test_client()
    assert (
        visitor.get(
            "/newsletter/unsubscribe", query_string={"token": w.unsubscribe_token}
        ).status_code
        == 200
    )
    assert (
        visitor.post("/newsletter/unsubscribe", data={"token": w.unsubscribe_token}).status_code
        == 200
    )

    # Two failures on purpose, carrying every secret: in the query, the form, the
    # headers and the cookies; and a failing SQL statement with a secret parameter.
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("induced for the log test")

    def bad_sql(*_args: Any, **_kwargs: Any) -> Any:
        db.session.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": code})

    monkeypatch.setitem(parlor.view_functions, "api.latest", broken)
    monkeypatch.setitem(parlor.view_functions, "web.latest", bad_sql)
    query = {
        "token": w.unsubscribe_token,
        "code": code,
        "state": state,
        "api_key": w.api_keys["bob"],
    }
    api_headers = {"X-CSRF-Token": csrf, "Api-Key": w.api_keys["bob"], "Api-Username": "bob"}
    r = browser.get("/latest.json", query_string=query, headers=api_headers)
    assert r.status_code == 500
    page_headers = {"X-CSRF-Token": csrf, "Authorization": f"Bearer {code}"}
    r = browser.get("/latest", query_string=query, headers=page_headers)
    assert r.status_code in (500, 503)  # a database error may be answered as unavailable
    form = {"authenticity_token": csrf, "token": code}
    r = browser.post("/latest", data=form, query_string=query, headers=page_headers)
    assert r.status_code == 405

    logs = {
        "access log": (tmp_path / "access.log").read_text(),
        "error log": (tmp_path / "error.log").read_text(),
        "Python loggers": "\n".join(
            f"{r.name} {r.getMessage()} {r.exc_text or ''}"
            for r in caplog.records
            if r.name not in NOT_OURS
        ),
        "stderr and stdout": "".join(capsys.readouterr()),
    }
    # Both failures reached the error log, so searching it below means something.
    assert "induced for the log test" in logs["error log"]
    assert "no_such_table" in logs["error log"]
    assert logs["access log"].count("\n") >= 10
    leaks = [
        f"{what} in the {where}: ...{content[max(content.index(secret) - 200, 0) :][:300]}"
        for what, secret in secrets.items()
        for where, content in logs.items()
        if secret and secret in content
    ]
    assert leaks == [], "\n\n".join(leaks)
