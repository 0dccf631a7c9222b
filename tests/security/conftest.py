"""Fixtures of the security suite: the world, requests built from the route table, a
snapshot of every row to prove a refused request changed nothing, and the GitHub
emulator on a real port for sign-in."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from live import free_port
from sqlalchemy import select
from werkzeug.serving import make_server

from auth.emulator.app import create_app as create_emulator
from forum.db import db

from .routes import Call
from .world import World
from .world import world as fresh_world

EMULATOR_ID, EMULATOR_SECRET = "parlor-security", "parlor-security-secret"


@pytest.fixture
def world(app: Flask) -> World:
    return fresh_world(app)


# -- sending the sample requests ---------------------------------------------------------


def send(
    world: World,
    who: str | None,
    call: Call,
    csrf: str = "right",
    *,
    client: FlaskClient | None = None,
    api_key: str | None = None,
    remote_addr: str = "192.0.2.99",
    headers: dict[str, str] | None = None,
    app: Flask | None = None,
) -> Any:
    """`call` as `who` (None: a visitor) in their browser, with the CSRF token `right`,
    `wrong` or `none`; the token goes where the route's own client puts it (a header for
    the JSON API, the `authenticity_token` field for page forms); `other` sends another
    member's real token, `query` the right one in the query string. With `api_key` (a
    member's name), the request carries that member's API key and no cookie instead."""
    app = app or world.app
    sent_headers = dict(headers or {})
    form = dict(call.form)
    if api_key is not None:
        client = app.test_client()
        sent_headers.update({"Api-Key": world.api_keys[api_key], "Api-Username": api_key})
    elif client is None:
        client = app.test_client() if who is None else world.member(who).client
    signed_in = who is not None and api_key is None
    other = "bob" if who != "bob" else "alice"
    token = {
        "right": world.member(who).csrf if signed_in else None,
        "query": world.member(who).csrf if signed_in else None,
        "other": world.member(other).csrf,  # a real token, of another member's session
        "wrong": secrets.token_urlsafe(32),
        "none": None,
    }[csrf]
    query = dict(call.query)
    if token is not None and call.method not in ("GET", "HEAD", "OPTIONS"):
        if csrf == "query":
            query["authenticity_token"] = token
        elif call.blueprint == "web":
            form["authenticity_token"] = token
        else:
            sent_headers["X-CSRF-Token"] = token
    kwargs: dict[str, Any] = {
        "method": call.method,
        "query_string": query,
        "headers": sent_headers,
        "environ_base": {"REMOTE_ADDR": remote_addr},
    }
    if form:
        kwargs["data"] = form
    return client.open(call.url, **kwargs)


# -- what the database holds -------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value).hex()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(app: Flask) -> dict[str, list[str]]:
    """Every row of every table, in a form that compares equal when nothing changed."""
    with app.app_context():
        state = {
            table.name: sorted(
                repr(tuple(_plain(v) for v in row))
                for row in db.session.execute(select(table)).all()
            )
            for table in db.metadata.sorted_tables
        }
        db.session.rollback()
    return state


def changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, Any]:
    """The rows that appeared or went, per table: empty when nothing changed."""
    diff = {}
    for table in before:
        gone = set(before[table]) - set(after[table])
        new = set(after[table]) - set(before[table])
        if gone or new:
            diff[table] = {"gone": sorted(gone)[:3], "new": sorted(new)[:3]}
    return diff


# -- the GitHub emulator, over real HTTP ---------------------------------------------------


@pytest.fixture(scope="session")
def emulator() -> Iterator[tuple[str, Flask]]:
    """The emulator app served on a free port in a thread; (base URL, its app)."""
    emu = create_emulator(
        {"AUTO_APPROVE": True, "CLIENT_ID": EMULATOR_ID, "CLIENT_SECRET": EMULATOR_SECRET}
    )
    port = free_port()
    server = make_server("127.0.0.1", port, emu, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", emu
    finally:
        server.shutdown()
        thread.join(timeout=10)


def through_emulator(base: str) -> dict[str, str]:
    """The settings that make Parlor sign in through the emulator at `base`."""
    return {
        "GITHUB_URL": base,
        "GITHUB_API_URL": base,
        "GITHUB_CLIENT_ID": EMULATOR_ID,
        "GITHUB_CLIENT_SECRET": EMULATOR_SECRET,
    }


@pytest.fixture
def github_app(app: Flask, make_app: Callable[..., Flask], emulator: tuple[str, Flask]) -> Flask:
    """Parlor signing in through the emulator (on the same test database as `app`)."""
    base, _emu = emulator
    return make_app(**through_emulator(base))


def authorize(client: FlaskClient, login: str, **params: str) -> tuple[str, str, str]:
    """Start sign-in in `client` and approve it at the emulator as `login`: (the callback
    path with its query, the code, the state). The callback is not called yet."""
    start = client.get("/auth/github/login", query_string={"login": login, **params})
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text[:300]
    url = urlsplit(back.headers["Location"])
    query = dict(pair.split("=", 1) for pair in url.query.split("&"))
    return f"{url.path}?{url.query}", query["code"], query["state"]


def sign_in(client: FlaskClient, login: str, ip: str = "203.0.113.77", **params: str) -> Any:
    """The whole sign-in: the callback's answer (302 home when it worked)."""
    callback, _code, _state = authorize(client, login, **params)
    return client.get(callback, environ_base={"REMOTE_ADDR": ip})
