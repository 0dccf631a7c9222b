"""Cross-site request forgery, walked over every write: a member's browser sends the
session cookie with any request another site makes it send, so every cookie-authenticated
write needs the session's token (the `X-CSRF-Token` header, or the `authenticity_token`
form field on pages). Without it, with a made-up one, with another session's real one or
with the right one in the query string, the answer is 403 and the database is untouched;
with it, the same request succeeds. API clients (`Api-Key`) need no token. Reads change
nothing, except the few listed that record what they did."""

from __future__ import annotations

import pytest

from .conftest import changes, send, snapshot
from .routes import (
    ADMIN,
    GET_WRITES,
    MEMBER,
    OWNER,
    ROUTES,
    STAFF,
    TOKEN,
    UNSAFE,
    calls_for,
    key,
    pair_id,
    pairs,
)
from .world import user_row

# Routes whose answer is a picture or a static file: member text may embed those.
PICTURES = {"avatars.picture", "avatars.letter", "web.static"}

CLASSIFIED = [(r, m) for r, m in pairs() if key(m, r.endpoint) in ROUTES]
WRITES = [
    (r, m) for r, m in CLASSIFIED if m in UNSAFE and ROUTES[key(m, r.endpoint)].access != TOKEN
]
API_WRITES = [
    (r, m)
    for r, m in WRITES
    if not r.endpoint.startswith("web.")
    and ROUTES[key(m, r.endpoint)].access in (MEMBER, OWNER, STAFF, ADMIN)
]


def test_the_listed_reads_that_write_are_routes() -> None:
    endpoints = {r.endpoint for r, m in CLASSIFIED if m == "GET"}
    assert set(GET_WRITES) <= endpoints


def test_the_walk_finds_the_writes() -> None:
    assert len(WRITES) >= 35
    assert any(r.endpoint.startswith("web.") for r, _m in WRITES)
    assert len(API_WRITES) >= 20


@pytest.mark.parametrize("pair", WRITES, ids=pair_id)
def test_a_cookie_write_without_the_sessions_token_is_refused(app, world, pair) -> None:
    rule, method = pair
    route = ROUTES[key(method, rule.endpoint)]
    who = route.actor or "alice"
    for call in calls_for(rule, method, world):
        before = snapshot(app)
        for csrf in ("none", "wrong", "other", "query"):
            r = send(world, who, call, csrf)
            assert r.status_code == 403, (csrf, str(call), r.status_code, r.text[:300])
            assert changes(before, snapshot(app)) == {}, (csrf, str(call))
        # Still signed in (a refusal does not end the session), and the token works.
        assert world.member(who).get("/session/current.json").status_code == 200
        r = send(world, who, call, "right")
        assert r.status_code < 400, (str(call), r.status_code, r.text[:500])


@pytest.mark.parametrize("pair", API_WRITES, ids=pair_id)
def test_api_key_writes_need_no_token(app, world, pair) -> None:
    rule, method = pair
    route = ROUTES[key(method, rule.endpoint)]
    for call in calls_for(rule, method, world):
        r = send(world, None, call, "none", api_key=route.actor)
        assert r.status_code < 400, (str(call), r.status_code, r.text[:500])


@pytest.mark.parametrize("pair", API_WRITES, ids=pair_id)
def test_a_wrong_api_key_writes_nothing(app, world, pair) -> None:
    rule, method = pair
    route = ROUTES[key(method, rule.endpoint)]
    before = snapshot(app)
    for call in calls_for(rule, method, world):
        forged = {"Api-Key": "0" * 64, "Api-Username": route.actor}
        r = send(world, None, call, "none", headers=forged)
        assert r.status_code == 403, (str(call), r.status_code)
        assert r.get_json()["error_type"] == "invalid_access"
    assert changes(before, snapshot(app)) == {}


def test_the_unsubscribe_link_needs_its_own_token(app, world) -> None:
    """The one write without a session: its token is the secret, the session is not."""
    before = snapshot(app)
    for form in ({}, {"token": "forged"}, {"token": world.unsubscribe_token + "x"}):
        r = world.member("alice").client.post("/newsletter/unsubscribe", data=form)
        assert r.status_code == 400, form
    # Following the link (a GET, as mail scanners do) only asks to confirm.
    r = app.test_client().get(
        "/newsletter/unsubscribe", query_string={"token": world.unsubscribe_token}
    )
    assert r.status_code == 200
    assert changes(before, snapshot(app)) == {}
    r = app.test_client().post("/newsletter/unsubscribe", data={"token": world.unsubscribe_token})
    assert r.status_code == 200
    assert user_row(app, "alice").newsletter is False


def test_reads_write_nothing_but_what_they_record(app, world) -> None:
    """A cross-site GET (a link, an image) carries the cookie without any token: a GET
    route must not change anything, except the listed records of what was looked at."""
    before = snapshot(app)
    for rule, method in CLASSIFIED:
        if method != "GET":
            continue
        route = ROUTES[key(method, rule.endpoint)]
        for call in calls_for(rule, method, world):
            r = send(world, route.actor, call, "none")
            assert r.status_code < 500, str(call)
            after = snapshot(app)
            changed = set(changes(before, after))
            allowed = GET_WRITES.get(rule.endpoint, set())
            assert changed <= allowed, (str(call), changed)
            before = after


def test_member_text_cannot_make_a_readers_browser_call_a_route(app, world) -> None:
    """An image in a post is fetched by every reader's browser, with their cookies and no
    token: a staff lookup embedded so would be audited as the moderator's own. Only the
    picture routes may be embedded; every other GET route, however spelled, is not."""
    from forum.content.markdown import render

    embedded_pictures = 0
    for rule, method in CLASSIFIED:
        if method != "GET":
            continue
        for call in calls_for(rule, method, world):
            query = "&".join(f"{k}={v}" for k, v in call.query.items())
            url = call.url + (f"?{query}" if query else "")
            spellings = [url, "/user_avatar/..%2F.." + url, "/parlor-static/../.." + url]
            for src in spellings:
                for raw in (f"![x]({src})", f'<img src="{src}" alt="x">'):
                    cooked = render(raw)
                    embedded = "src=" in cooked
                    allowed = rule.endpoint in PICTURES and src == url
                    assert allowed or not embedded, (raw, cooked)
                    embedded_pictures += embedded
    assert embedded_pictures >= 4  # the pictures themselves still show
