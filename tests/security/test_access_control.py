"""Who may call what, walked over every guarded route: visitors are refused every member
route; another member (bob) every route about alice's own things (profile, export,
erasure, her posts, her sessions, her preferences); members every staff route; moderators
every admin route. A refusal is a 403 or 404 and changes nothing in the database; the same
request then succeeds for the one it is meant for, so the refusal is about who asks.
The JSON routes refuse the same people when they come with their API keys."""

from __future__ import annotations

import pytest

from .conftest import changes, send, snapshot
from .routes import ADMIN, MEMBER, OWNER, ROUTES, STAFF, calls_for, key, pair_id, pairs

# Who must be refused, per class (None is a visitor).
REFUSED: dict[str, tuple[str | None, ...]] = {
    MEMBER: (None,),
    OWNER: (None, "bob"),
    STAFF: (None, "bob"),
    ADMIN: (None, "bob", "mia"),
}
GUARDED = [
    (rule, method)
    for rule, method in pairs()
    if key(method, rule.endpoint) in ROUTES and ROUTES[key(method, rule.endpoint)].access in REFUSED
]


def test_the_walk_covers_every_class() -> None:
    found = {ROUTES[key(m, r.endpoint)].access for r, m in GUARDED}
    assert found == set(REFUSED)
    assert len(GUARDED) >= 50


@pytest.mark.parametrize("pair", GUARDED, ids=pair_id)
def test_only_whom_the_route_is_for_gets_through(app, world, pair) -> None:
    rule, method = pair
    route = ROUTES[key(method, rule.endpoint)]
    for call in calls_for(rule, method, world):
        before = snapshot(app)
        for who in REFUSED[route.access]:
            r = send(world, who, call)
            body = r.get_data(as_text=True)
            assert r.status_code in (403, 404), (who, str(call), r.status_code, body[:300])
            assert changes(before, snapshot(app)) == {}, (who, str(call))
            assert "alice@example.com" not in body, (who, str(call))
            if who is not None and not rule.endpoint.startswith("web."):
                # The same member through an API key is no more allowed.
                r = send(world, None, call, "none", api_key=who)
                assert r.status_code in (403, 404), (f"{who}'s API key", str(call), r.status_code)
                changed = set(changes(before, snapshot(app))) - {"api_keys"}  # its last use
                assert changed == set(), (f"{who}'s API key", str(call), changed)
                before = snapshot(app)
        allowed = send(world, route.actor, call)
        assert allowed.status_code < 400, (
            route.actor,
            str(call),
            allowed.status_code,
            allowed.get_data(as_text=True)[:500],
        )
