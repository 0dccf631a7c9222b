"""Rate limits (issue 9, part 1): each limited action answers 429 at the right count, in
Discourse's shape, per member and per client address; young accounts wait longer; the
JSON route and the page route of an action share one counter; limits off means no 429.

Every test runs twice: on in-memory storage and on the Redis at 127.0.0.1:6379 (keys under
a prefix of this run, deleted afterwards). Limits are on only in the apps these tests
build; the `testing` configuration keeps them off everywhere else. Time is moved with a
clock that the limiter reads (`time.time`), never waited for.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import Member, make_user
from flask import Flask
from helpers import JSON_TYPE, at

from config import ConfigError
from forum.content import posting
from forum.db import db
from forum.ratelimits import ACTIONS, TAG, rules, time_left
from forum.timeutil import utcnow
from forum.users.models import User

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_PREFIX = f"parlor-test-{uuid.uuid4().hex[:12]}"
RAW = "Enough words here to make a post that the forum accepts."
HOME = "198.51.100.7"
AWAY = "203.0.113.9"

# What must be limited, and by which action. A route added for one of these actions
# belongs here too, so that its counter is the one the other route uses.
LIMITED_ENDPOINTS = {
    "auth.login": {"signin"},
    "auth.callback": {"signin"},
    "api.create_post": {"topic", "post"},
    "api.update_post": {"edit"},
    "api.like_post": {"like"},
    "api.export_zip": {"export"},
    "api.post_ip": {"staff_lookup"},
    "api.user_ips": {"staff_lookup"},
    "api.ip_lookup": {"staff_lookup"},
    "api.shared_ips": {"staff_lookup"},
    "api.audit_log": {"staff_lookup"},
    "web.new_topic": {"topic"},
    "web.reply": {"post"},
    "web.edit_post": {"edit"},
    "web.like_post": {"like"},
    "web.post_ip": {"staff_lookup"},
    "web.ip_lookup": {"staff_lookup"},
    "web.staff_user": {"staff_lookup"},
    "web.audit_log": {"staff_lookup"},
}


def _redis_client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)


@pytest.fixture(scope="module", params=["memory", "redis"])
def storage_uri(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    client = _redis_client()
    try:
        client.ping()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is not reachable in CI: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable ({exc}); .ci/run starts one")
    yield REDIS_URL
    # Whatever this run wrote, and nothing another run wrote.
    keys = list(client.scan_iter(match=f"*{RUN_PREFIX}*", count=1000))
    if keys:
        client.delete(*keys)
    assert not list(client.scan_iter(match=f"*{RUN_PREFIX}*"))
    client.close()


@pytest.fixture
def limited_app(
    app: Flask, make_app: Callable[..., Flask], storage_uri: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Flask]]:
    """An app with limits on; each one counts under keys of its own."""
    made: list[Flask] = []
    test_name = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)  # no glob characters

    def factory(**overrides: Any) -> Flask:
        settings: dict[str, Any] = {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage_uri,
            "RATELIMIT_KEY_PREFIX": f"{RUN_PREFIX}-{test_name}-{len(made)}",
            # A busy test machine can stall Redis for longer than production's 2 s bound;
            # then the limiter would fall back to memory and lose a count.
            "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 15},
        }
        settings.update(overrides)
        made.append(make_app(**settings))
        return made[-1]

    yield factory
    for each in made:
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


class Clock:
    """`time.time` moved forward on request: the limiter's windows pass without waiting."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def _age(app: Flask, user_ids: list[int], days: int = 30) -> None:
    with app.app_context():
        for user_id in user_ids:
            user = db.session.get(User, user_id)
            assert user is not None
            user.created_at = utcnow() - timedelta(days=days)
        db.session.commit()


@pytest.fixture
def veterans(app: Flask, users: dict[str, int]) -> dict[str, int]:
    """The members of `users`, with accounts a month old (so the regular limits apply)."""
    _age(app, list(users.values()))
    return users


def _member(app: Flask, user_id: int) -> Member:
    return Member(app, user_id)


def _topic(app: Flask, author_id: int, category_id: int, title: str = "") -> int:
    """A topic made by the services (not through the limited routes)."""
    with app.app_context():
        author = db.session.get(User, author_id)
        assert author is not None
        post = posting.create_topic(
            author,
            title or f"A topic to reply to, {uuid.uuid4().hex[:6]}",
            RAW,
            category_id,
            ipaddress.ip_address("192.0.2.1"),
        )
        db.session.commit()
        return post.topic_id


def _posts(app: Flask, author_id: int, topic_id: int, count: int) -> list[int]:
    with app.app_context():
        author = db.session.get(User, author_id)
        assert author is not None
        made = [
            posting.create_reply(
                author, topic_id, f"{RAW} Number {i}.", ipaddress.ip_address("192.0.2.1")
            )
            for i in range(count)
        ]
        db.session.commit()
        return [p.id for p in made]


_counter = iter(range(1_000_000))


def new_topic(who: Member, category_id: int, ip: str = HOME) -> Any:
    n = next(_counter)
    return who.post(
        "/posts.json",
        json={"title": f"A new topic title, number {n}", "raw": RAW, "category": category_id},
        **at(ip),
    )


def reply(who: Member, topic_id: int, ip: str = HOME) -> Any:
    raw = f"{RAW} Reply {next(_counter)}."
    return who.post("/posts.json", json={"topic_id": topic_id, "raw": raw}, **at(ip))


def refused(response: Any, says: str = "") -> int:
    """A Discourse 429: errors, error_type rate_limit, extras.wait_seconds = Retry-After."""
    assert response.status_code == 429, response.get_data(as_text=True)[:300]
    assert response.content_type == JSON_TYPE
    body = response.get_json()
    assert body["error_type"] == "rate_limit"
    assert len(body["errors"]) == 1 and says in body["errors"][0]
    wait = body["extras"]["wait_seconds"]
    assert isinstance(wait, int) and wait >= 1
    assert response.headers["Retry-After"] == str(wait)
    return wait


def accepted(response: Any) -> Any:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response


# -- topics and replies ------------------------------------------------------------------


def test_one_topic_per_15_seconds(limited_app, veterans, category_id, clock):
    app = limited_app()
    alice = _member(app, veterans["alice"])
    accepted(new_topic(alice, category_id))
    too_soon = new_topic(alice, category_id)
    wait = refused(too_soon, "creating new topics too quickly")
    assert 1 <= wait <= 15
    assert f"Please wait {time_left(wait)} before" in too_soon.get_json()["errors"][0]
    clock.advance(14)
    refused(new_topic(alice, category_id))
    clock.advance(1.5)
    accepted(new_topic(alice, category_id))


def test_one_reply_per_5_seconds_counted_apart_from_topics(
    limited_app, veterans, category_id, clock
):
    app = limited_app()
    topic_id = _topic(app, veterans["bob"], category_id)
    alice = _member(app, veterans["alice"])
    accepted(reply(alice, topic_id))
    assert refused(reply(alice, topic_id), "replying too quickly") <= 5
    accepted(new_topic(alice, category_id))  # a topic is another action
    clock.advance(5.5)
    accepted(reply(alice, topic_id))


def test_refused_writes_do_not_count(limited_app, veterans, category_id):
    app = limited_app()
    topic_id = _topic(app, veterans["bob"], category_id)
    alice = _member(app, veterans["alice"])
    for _ in range(3):  # too short: 422, and the member may try again at once
        short = alice.post("/posts.json", json={"topic_id": topic_id, "raw": "no"}, **at(HOME))
        assert short.status_code == 422
    accepted(reply(alice, topic_id))


def test_accounts_younger_than_a_day_wait_longer(limited_app, app, veterans, category_id, clock):
    limits = limited_app()
    topic_id = _topic(limits, veterans["bob"], category_id)
    with app.app_context():
        newbie_id = make_user("newbie").id  # signed up just now
    newbie = _member(limits, newbie_id)
    accepted(reply(newbie, topic_id))
    clock.advance(6)  # enough for a month-old account, not for a new one
    assert 6 < refused(reply(newbie, topic_id), "replying too quickly") <= 24
    clock.advance(25)
    accepted(reply(newbie, topic_id))

    # Topics: one per 2 minutes, three on the first day.
    for _ in range(3):
        accepted(new_topic(newbie, category_id))
        refused(new_topic(newbie, category_id))
        clock.advance(121)
    wait = refused(new_topic(newbie, category_id), "creating new topics too quickly")
    assert wait > 23 * 3600
    assert "wait 24 hours" in new_topic(newbie, category_id).get_json()["errors"][0]


def test_staff_are_not_slowed_down_writing(limited_app, veterans, category_id):
    app = limited_app()
    topic_id = _topic(app, veterans["bob"], category_id)
    mia = _member(app, veterans["mia"])
    for _ in range(4):
        accepted(reply(mia, topic_id))


# -- per member and per address ----------------------------------------------------------


def test_two_members_behind_one_address_are_counted_apart(limited_app, veterans, category_id):
    app = limited_app()
    topic_id = _topic(app, veterans["mia"], category_id)
    alice, bob = _member(app, veterans["alice"]), _member(app, veterans["bob"])
    accepted(reply(alice, topic_id, ip=HOME))
    refused(reply(alice, topic_id, ip=HOME))
    accepted(reply(bob, topic_id, ip=HOME))
    refused(reply(bob, topic_id, ip=HOME))


def test_one_member_from_two_addresses_is_one_member(limited_app, veterans, category_id):
    app = limited_app()
    topic_id = _topic(app, veterans["mia"], category_id)
    alice = _member(app, veterans["alice"])
    accepted(reply(alice, topic_id, ip=HOME))
    refused(reply(alice, topic_id, ip=AWAY))


def test_one_address_is_limited_across_members(limited_app, app, veterans, category_id):
    limits = limited_app(
        RATELIMIT_RULES='{"post": {"ip": "2 per minute", "member": "", "new_member": ""}}'
    )
    topic_id = _topic(limits, veterans["mia"], category_id)
    with app.app_context():
        carol_id = make_user("carol").id
    alice, bob = _member(limits, veterans["alice"]), _member(limits, veterans["bob"])
    carol = _member(limits, carol_id)
    accepted(reply(alice, topic_id, ip=HOME))
    accepted(reply(bob, topic_id, ip=HOME))
    refused(reply(carol, topic_id, ip=HOME), "replying too quickly")
    accepted(reply(carol, topic_id, ip=AWAY))
    # An IPv6 subscriber gets a /64: walking through its addresses is one address.
    accepted(reply(alice, topic_id, ip="2001:db8:1:2::1"))
    accepted(reply(bob, topic_id, ip="2001:db8:1:2::ffff"))
    refused(reply(carol, topic_id, ip="2001:db8:1:2:abcd::5"))
    accepted(reply(carol, topic_id, ip="2001:db8:1:3::1"))


def test_the_address_is_the_client_ip_behind_trusted_proxies(limited_app, veterans, category_id):
    limits = limited_app(
        TRUSTED_PROXIES="10.0.0.0/8",
        RATELIMIT_RULES='{"post": {"ip": "1 per minute", "member": ""}}',
    )
    topic_id = _topic(limits, veterans["mia"], category_id)
    alice, bob = _member(limits, veterans["alice"]), _member(limits, veterans["bob"])

    def via_proxy(who: Member, client: str) -> Any:
        return who.post(
            "/posts.json",
            json={"topic_id": topic_id, "raw": f"{RAW} {next(_counter)}"},
            headers={"X-Forwarded-For": client},
            **at("10.1.2.3"),
        )

    # Two clients behind one proxy: two addresses, not the proxy's one.
    accepted(via_proxy(alice, HOME))
    accepted(via_proxy(bob, AWAY))
    refused(via_proxy(bob, AWAY))
    # A client that forges X-Forwarded-For is still counted at its own address.
    forged = bob.post(
        "/posts.json",
        json={"topic_id": topic_id, "raw": f"{RAW} {next(_counter)}"},
        headers={"X-Forwarded-For": "192.0.2.200"},
        **at(AWAY),
    )
    refused(forged)


# -- the other actions, at their default counts ------------------------------------------


def test_edits_30_a_day(limited_app, veterans, category_id):
    app = limited_app()
    topic_id = _topic(app, veterans["alice"], category_id)
    (post_id,) = _posts(app, veterans["alice"], topic_id, 1)
    alice = _member(app, veterans["alice"])

    def edit(n: int) -> Any:
        return alice.put(f"/posts/{post_id}.json", json={"post": {"raw": f"{RAW} v{n}"}})

    for n in range(30):
        accepted(edit(n))
    assert refused(edit(30), "edited too many times") > 23 * 3600


def test_likes_10_a_minute(limited_app, veterans, category_id, clock):
    app = limited_app()
    topic_id = _topic(app, veterans["bob"], category_id)
    post_ids = _posts(app, veterans["bob"], topic_id, 12)
    alice = _member(app, veterans["alice"])

    def like(post_id: int) -> Any:
        return alice.post("/post_actions.json", json={"id": post_id, "post_action_type_id": 2})

    for post_id in post_ids[:10]:
        accepted(like(post_id))
    assert refused(like(post_ids[10]), "sharing a lot of love") <= 60
    clock.advance(61)
    accepted(like(post_ids[10]))


def test_exports_10_an_hour_and_the_pace_answers_alike(limited_app, veterans):
    unpaced = limited_app(EXPORT_INTERVAL_MINUTES=0)
    alice = _member(unpaced, veterans["alice"])
    for _ in range(10):
        assert alice.get("/u/alice/export.zip").status_code == 200
    assert refused(alice.get("/u/alice/export.zip"), "downloaded data too often") > 3000

    # With the default pace the second download is refused by the pace, in the same shape.
    paced = limited_app()
    bob = _member(paced, veterans["bob"])
    assert bob.get("/u/bob/export.zip").status_code == 200
    refused(bob.get("/u/bob/export.zip"), "try again in 10 minutes")


def test_staff_lookups_30_a_minute(limited_app, veterans):
    app = limited_app()
    mia = _member(app, veterans["mia"])
    lookups = ["/admin/ip-lookup.json?q=192.0.2.0/24", "/admin/users/alice/ips.json"]
    for n in range(30):
        accepted(mia.get(lookups[n % 2]))
    refused(mia.get("/admin/users/alice/shared-ips.json"))  # one counter for every lookup
    refused(mia.get("/admin/ip-lookup.csv?q=192.0.2.0/24"))
    accepted(_member(app, veterans["ada"]).get("/admin/audit-log.json"))  # another member


def test_sign_in_attempts_per_address(limited_app, app):
    limits = limited_app()
    client = limits.test_client()
    for n in range(12):  # the start and GitHub's redirect back both count
        path = "/auth/github/login" if n % 2 == 0 else "/auth/github/callback?state=x&code=y"
        assert client.get(path, **at(HOME)).status_code in (302, 400)
    page = client.get("/auth/github/login", **at(HOME))
    assert page.status_code == 429
    assert page.mimetype == "text/html"
    assert "Too many sign-in attempts" in page.get_data(as_text=True)
    assert 1 <= int(page.headers["Retry-After"]) <= 60
    assert client.get("/auth/github/callback", **at(HOME)).status_code == 429
    # Another address signs in as usual.
    assert client.get("/auth/github/login", **at(AWAY)).status_code == 302


# -- pages share the counters ------------------------------------------------------------


def test_limited_routes_are_the_ones_listed(limited_app):
    """Every route of a limited action carries it (the page and the JSON route alike)."""
    app = limited_app()
    tagged = {
        endpoint: {action for action, _ in getattr(view, TAG, ())}
        for endpoint, view in app.view_functions.items()
        if getattr(view, TAG, None)
    }
    assert tagged == LIMITED_ENDPOINTS


def page_refused(response: Any, says: str) -> None:
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert says in response.get_data(as_text=True).replace("&#39;", "'")
    assert int(response.headers["Retry-After"]) >= 1


def test_reply_page_and_json_share_one_counter(limited_app, veterans, category_id, clock):
    app = limited_app()
    topic_id = _topic(app, veterans["bob"], category_id)
    alice = _member(app, veterans["alice"])

    def page_reply() -> Any:
        raw = f"{RAW} Page reply {next(_counter)}."
        return alice.post(f"/t/{topic_id}/reply", data={"raw": raw}, **at(HOME))

    assert page_reply().status_code == 303
    refused(reply(alice, topic_id), "replying too quickly")
    clock.advance(6)
    accepted(reply(alice, topic_id))
    page_refused(page_reply(), "replying too quickly")


def test_new_topic_page_and_json_share_one_counter(limited_app, veterans, category_id, clock):
    app = limited_app()
    alice = _member(app, veterans["alice"])

    def page_topic() -> Any:
        title = f"A topic from the page, {next(_counter)}"
        form = {"title": title, "raw": RAW, "category": str(category_id)}
        return alice.post("/new-topic", data=form, **at(HOME))

    assert alice.get("/new-topic").status_code == 200  # the form itself is not counted
    accepted(new_topic(alice, category_id))
    page_refused(page_topic(), "creating new topics too quickly")
    assert alice.get("/new-topic").status_code == 200
    clock.advance(16)
    assert page_topic().status_code == 303
    refused(new_topic(alice, category_id))


# -- settings, storage, and the host application -----------------------------------------


def test_limits_off_means_no_429(app, veterans, category_id):
    """The `testing` configuration (the session app) keeps limits off."""
    assert app.config["RATELIMIT_ENABLED"] is False
    assert "parlor_limiter" not in app.extensions
    topic_id = _topic(app, veterans["bob"], category_id)
    alice = _member(app, veterans["alice"])
    for _ in range(4):
        accepted(reply(alice, topic_id))
        accepted(new_topic(alice, category_id))


def test_rules_are_settings_checked_at_start(limited_app):
    table = rules('{"post": {"member": "2 per 10 seconds", "ip": ""}}')
    assert table["post"].member == "2 per 10 seconds" and table["post"].ip == ""
    assert table["topic"] == ACTIONS["topic"]
    for bad in (
        "{not json",
        '["post"]',
        '{"posts": {"member": "1 per 5 seconds"}}',
        '{"post": {"members": "1 per 5 seconds"}}',
        '{"post": {"member": "often"}}',
        '{"post": {"member": 5}}',
    ):
        with pytest.raises(ConfigError):
            rules(bad)
    with pytest.raises(ConfigError, match="RATELIMIT_RULES"):
        limited_app(RATELIMIT_RULES='{"post": {"member": "often"}}')


def test_a_rule_from_the_settings_applies(limited_app, veterans, category_id):
    app = limited_app(RATELIMIT_RULES={"post": {"member": "2 per minute"}})
    topic_id = _topic(app, veterans["bob"], category_id)
    alice = _member(app, veterans["alice"])
    accepted(reply(alice, topic_id))
    accepted(reply(alice, topic_id))
    assert refused(reply(alice, topic_id)) <= 60


def test_counters_live_in_the_configured_storage(
    limited_app, storage_uri, veterans, category_id, caplog
):
    """On Redis the counts really are in Redis, under this app's prefix (no silent fallback)."""
    app = limited_app()
    topic_id = _topic(app, veterans["bob"], category_id)
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        accepted(reply(_member(app, veterans["alice"]), topic_id))
    assert "falling back" not in caplog.text
    if storage_uri == "memory://":
        return
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    keys = sorted(k.decode() for k in _redis_client().scan_iter(match=f"*{prefix}/*"))
    assert any(f"/member:{veterans['alice']}/post/" in k for k in keys), keys
    assert any("/ip:198.51.100.7/post/" in k for k in keys), keys


def test_unreachable_redis_falls_back_to_memory(limited_app, veterans, category_id, caplog):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = limited_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0")
    topic_id = _topic(app, veterans["bob"], category_id)
    alice = _member(app, veterans["alice"])
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        accepted(reply(alice, topic_id))
        refused(reply(alice, topic_id))  # still limited, per process
    assert "falling back to in-memory storage" in caplog.text


def test_a_host_applications_routes_are_not_limited(make_host):
    def hello_route(host: Flask) -> None:
        @host.get("/hello")
        def hello() -> str:
            return "hello"

    host = make_host(
        hello_route,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=f"{RUN_PREFIX}-host",
        RATELIMIT_DEFAULT="1 per minute",  # meant for a limiter of the host's own
    )
    client = host.test_client()
    for _ in range(5):
        assert client.get("/hello").status_code == 200
        assert client.get("/forum/latest.json").status_code == 200
    for _ in range(12):
        client.get("/forum/auth/github/login")
    assert client.get("/forum/auth/github/login").status_code == 429


def test_wait_wording_follows_discourse():
    assert time_left(1) == "1 second"
    assert time_left(59) == "59 seconds"
    assert time_left(60) == "1 minute"
    assert time_left(61) == "2 minutes"
    assert time_left(3600) == "1 hour"
    assert time_left(86000) == "24 hours"
