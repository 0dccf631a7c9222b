"""Who may see what (issue 4 §8): every staff route, in every method and format, refuses
visitors and members; moderators cannot read the audit log or the screened IPs; and a
walk over every GET route as a member finds no IP address and no e-mail address of
anyone else in any response."""

from __future__ import annotations

import io
import ipaddress
import itertools
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import make_user
from helpers import at, ok
from PIL import Image
from sqlalchemy import func, select
from werkzeug.routing import Rule

from forum.content.models import Category, Post, Topic
from forum.db import db
from forum.moderation.models import AuditEntry, ScreenedIP
from forum.net import parse_ip
from forum.users.models import Avatar, SignInEvent, User

RAW = "A post that is long enough to be accepted by the forum."
WRITES = ("PUT", "POST", "DELETE", "PATCH")
ADMIN_ONLY = ("/admin/audit-log", "/admin/screened-ips")
# Every staff route issue 4 names: the walk below must find each of them.
STAFF_ENDPOINTS = {
    "api.post_ip",
    "api.user_ips",
    "api.ip_lookup",
    "api.shared_ips",
    "api.audit_log",
    "api.list_screened",
    "api.add_screened",
    "api.remove_screened",
    "api.hide_post_route",
    "api.unhide_post",
    "api.topic_status",
    "api.suspend_user",
    "api.unsuspend_user",
}

ALICE_IPS = ("203.0.113.5", "198.51.100.20", "192.0.2.50")
CAROL_IPS = ("2001:db8:c::1", "2001:db8:c::2")
MIA_IPS = ("192.0.2.200",)
BOB_IPS = ("192.0.2.77", "2001:db8:b0b::7")
EMAILS = {
    "alice": "alice.private@example.com",
    "bob": "bob.private@example.net",
    "carol": "carol.private@example.org",
    "mia": "mia.private@example.com",
    "ada": "ada.private@example.com",
}


@pytest.fixture
def people(app) -> dict[str, int]:
    with app.app_context():
        made = {
            "alice": make_user("alice", email=EMAILS["alice"]),
            "bob": make_user("bob", email=EMAILS["bob"]),
            "carol": make_user("carol", email=EMAILS["carol"]),
            "mia": make_user("mia", "moderator", email=EMAILS["mia"]),
            "ada": make_user("ada", "admin", email=EMAILS["ada"]),
        }
        return {name: u.id for name, u in made.items()}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def scene(app, people, member, category_id) -> dict[str, Any]:
    """alice, carol, mia and bob posted from known addresses; alice edited, bob liked,
    mia hid carol's second post and looked alice up; alice has a picture and sign-ins;
    one address is screened."""
    alice, bob, carol, mia = (member(people[n]) for n in ("alice", "bob", "carol", "mia"))
    ada = member(people["ada"])
    first = ok(
        alice.post(
            "/posts.json",
            json={"title": "Who moderates the moderators?", "raw": RAW, "category": category_id},
            **at(ALICE_IPS[0]),
        )
    )
    topic_id = first["topic_id"]

    def reply(who: Any, ip: str) -> int:
        return ok(who.post("/posts.json", json={"topic_id": topic_id, "raw": RAW}, **at(ip)))["id"]

    posts = [first["id"], reply(carol, CAROL_IPS[0]), reply(carol, CAROL_IPS[1])]
    posts += [reply(mia, MIA_IPS[0]), reply(bob, BOB_IPS[0]), reply(bob, BOB_IPS[1])]
    ok(
        alice.put(
            f"/posts/{first['id']}.json",
            json={"post": {"raw": RAW + " Edited."}},
            **at(ALICE_IPS[1]),
        )
    )
    ok(bob.post("/post_actions.json", json={"id": first["id"], "post_action_type_id": 2}))
    ok(mia.put(f"/admin/posts/{posts[2]}/hide.json", **at(MIA_IPS[0])))
    ok(mia.get("/admin/users/alice/ips.json", **at(MIA_IPS[0])))
    screened = ok(
        ada.post(
            "/admin/screened-ips.json", data={"ip_address": "100.64.0.0/10", "reason": "cgnat"}
        )
    )["screened_ip"]["id"]
    with app.app_context():
        db.session.add(
            Avatar(user_id=people["alice"], content_type="image/png", data=png(), version="v1a")
        )
        for name, ip in (("alice", ALICE_IPS[2]), ("bob", BOB_IPS[0])):
            db.session.add(SignInEvent(user_id=people[name], ip=parse_ip(ip), user_agent="x"))
        db.session.commit()
        slug = db.session.get(Topic, topic_id).slug
        category_slug = db.session.get(Category, category_id).slug
    return {
        "topic": topic_id,
        "slug": slug,
        "category": category_id,
        "category_slug": category_slug,
        "posts": posts,
        "people": people,
        "screened": screened,
        "avatar_version": "v1a",
    }


# --- building a URL for every rule ---------------------------------------------------------

PLACEHOLDER = re.compile(r"<(?:([a-zA-Z_]+)(?:\([^)]*\))?:)?([a-zA-Z_]+)>")


def fill(rule: Rule, values: dict[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda m: str(values[m.group(2)]), rule.rule)


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def staff_rules(app: Any) -> list[Rule]:
    # The API's staff routes. The staff pages (web.*) answer forms with redirects and
    # form errors, so tests/test_pages_staff.py walks them with its own expectations.
    return [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("api.")
        and (r.rule.startswith("/admin") or r.rule == "/t/<int:topic_id>/status.json")
    ]


def staff_requests(app: Any, scene: dict[str, Any]) -> Iterator[tuple[Rule, str, str, dict]]:
    """(rule, method, url, request kwargs) for every staff rule, method and format, with
    parameters that would succeed for someone allowed."""
    values = {
        "post_id": scene["posts"][0],
        "topic_id": scene["topic"],
        "user_id": scene["people"]["alice"],
        "username": "alice",
        "entry_id": scene["screened"],
    }
    body = {
        "suspend_until": "2031-01-02T03:04:00Z",
        "reason": "walked into",
        "status": "closed",
        "enabled": "true",
        "ip_address": "192.0.2.0/24",
        "id": scene["screened"],
    }
    for rule in staff_rules(app):
        formats = ["json", "csv"] if "fmt" in rule.arguments else [None]
        for method, fmt in itertools.product(methods(rule), formats):
            args = {name: values.get(name, 1) for name in rule.arguments}
            if fmt:
                args["fmt"] = fmt
            query = {"q": ALICE_IPS[0]} if "ip-lookup" in rule.rule else {}
            if method == "DELETE":
                query["id"] = scene["screened"]
            kwargs: dict[str, Any] = {"query_string": query}
            if method in WRITES:
                kwargs["data"] = body
            yield rule, method, fill(rule, args), kwargs


def send(who: Any, method: str, url: str, kwargs: dict[str, Any]) -> Any:
    return getattr(who, method.lower())(url, **kwargs)


def state(app: Any, scene: dict[str, Any]) -> tuple[Any, ...]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(AuditEntry.id))),
            sorted(db.session.scalars(select(ScreenedIP.cidr))),
            [u.suspended_until for u in db.session.scalars(select(User).order_by(User.id))],
            [u.role for u in db.session.scalars(select(User).order_by(User.id))],
            db.session.get(Topic, scene["topic"]).closed,
            [p.hidden_at is not None for p in db.session.scalars(select(Post).order_by(Post.id))],
        )


def every_ip() -> list[str]:
    return [*ALICE_IPS, *CAROL_IPS, *MIA_IPS, *BOB_IPS]


def test_the_walk_finds_every_staff_route(app):
    found = {r.endpoint for r in staff_rules(app)}
    assert found >= STAFF_ENDPOINTS, STAFF_ENDPOINTS - found


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_visitors_and_members_get_403_or_404_from_every_staff_route(app, scene, member, who):
    client = app.test_client() if who == "visitor" else member(scene["people"]["bob"])
    before = state(app, scene)
    seen = 0
    for _rule, method, url, kwargs in staff_requests(app, scene):
        response = send(client, method, url, kwargs)
        assert response.status_code in (403, 404), (method, url, response.status_code)
        body = response.get_data(as_text=True)
        for ip in every_ip():
            assert ip not in body, (method, url)
        assert "alice" not in body.lower() or response.status_code == 404, (method, url, body)
        seen += 1
    assert seen >= 20
    assert state(app, scene) == before


def test_members_cannot_reach_staff_routes_even_with_an_api_style_accept(app, scene, member):
    bob = member(scene["people"]["bob"])
    for _rule, method, url, kwargs in staff_requests(app, scene):
        response = send(bob, method, url, {**kwargs, "headers": {"Accept": "application/json"}})
        assert response.status_code in (403, 404), (method, url)


def test_staff_reach_every_staff_route_with_the_same_requests(app, scene, member):
    """The refusals above are about who asks: the same requests succeed for staff."""
    mia, ada = member(scene["people"]["mia"]), member(scene["people"]["ada"])
    for rule, method, url, kwargs in staff_requests(app, scene):
        admin_only = rule.rule.startswith(ADMIN_ONLY)
        if method == "DELETE":
            # Each removal needs an entry to remove; put the walked one back first.
            with app.app_context():
                if db.session.get(ScreenedIP, scene["screened"]) is None:
                    net = ipaddress.ip_network("100.64.0.0/10")
                    db.session.add(
                        ScreenedIP(
                            id=scene["screened"],
                            cidr=str(net),
                            first_ip=net.network_address,
                            last_ip=net.broadcast_address,
                            reason="cgnat",
                        )
                    )
                    db.session.commit()
        response = send(ada if admin_only else mia, method, url, kwargs)
        assert response.status_code == 200, (method, url, response.get_data(as_text=True))
        if admin_only:
            refused = send(mia, method, url, kwargs)
            assert refused.status_code == 403, (method, url, refused.status_code)


def test_a_moderator_cannot_read_the_audit_log_or_touch_screened_ips(app, scene, member):
    mia = member(scene["people"]["mia"])
    before = state(app, scene)
    checked = set()
    for rule, method, url, kwargs in staff_requests(app, scene):
        if not rule.rule.startswith(ADMIN_ONLY):
            continue
        response = send(mia, method, url, kwargs)
        assert response.status_code == 403, (method, url, response.status_code)
        assert "cgnat" not in response.get_data(as_text=True)
        checked.add((rule.endpoint, method, url.rsplit(".", 1)[-1]))
    assert {
        ("api.audit_log", "GET", "json"),
        ("api.audit_log", "GET", "csv"),
        ("api.list_screened", "GET", "json"),
        ("api.list_screened", "GET", "csv"),
        ("api.add_screened", "POST", "json"),
        ("api.remove_screened", "DELETE", "json"),
    } <= checked
    assert state(app, scene) == before


# --- no IP and no e-mail of anyone else, anywhere ------------------------------------------------

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def ip_spellings(ip: str) -> set[str]:
    address = ipaddress.ip_address(ip)
    spellings = {str(address), address.exploded}
    if address.version == 4:
        spellings.add(f"::ffff:{address}")
    return spellings


def get_rules(app: Any) -> list[Rule]:
    return [
        r
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or set())
        and not any(c.__class__.__name__ == "PathConverter" for c in r._converters.values())
    ]


def candidates(name: str, rule: Rule, scene: dict[str, Any]) -> list[Any]:
    people = scene["people"]
    by_name: dict[str, list[Any]] = {
        "username": list(people),
        "user_id": list(people.values()),
        "topic_id": [scene["topic"]],
        "post_id": scene["posts"],
        "category_id": [scene["category"]],
        "slug": [scene["category_slug"]] if rule.rule.startswith("/c/") else [scene["slug"]],
        "fmt": ["json", "csv"],
        "size": [45],
        "version": [scene["avatar_version"]],
        "entry_id": [scene["screened"]],
    }
    return by_name.get(name, [1] if "int" in str(rule._converters.get(name)).lower() else ["x"])


def walk(app: Any, client: Any, scene: dict[str, Any]) -> Iterator[tuple[str, dict, Any]]:
    """Every GET route, with every plausible value for its placeholders."""
    query = {"q": "moderators", "post_ids[]": scene["posts"], "page": "0"}
    for rule in get_rules(app):
        names = sorted(rule.arguments)
        for combo in itertools.product(*(candidates(n, rule, scene) for n in names)):
            values = dict(zip(names, combo, strict=True))
            url = fill(rule, values)
            yield url, values, client.get(url, query_string=query)


def readable(response: Any) -> str:
    """The body as text; a ZIP download (the member's own export) is read file by file."""
    data = response.get_data()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
            )
    return data.decode("utf-8", "replace")


def json_route(url: str) -> bool:
    return url.endswith(".json")


def test_a_member_walking_every_get_route_sees_no_ip_and_no_email_of_anyone_else(
    app, scene, member
):
    bob = member(scene["people"]["bob"])
    others_ips = {s for ip in [*ALICE_IPS, *CAROL_IPS, *MIA_IPS] for s in ip_spellings(ip)}
    bobs_ips = {s for ip in BOB_IPS for s in ip_spellings(ip)}
    others_emails = {e for name, e in EMAILS.items() if name != "bob"}
    json_bodies = 0
    for url, values, response in walk(app, bob, scene):
        assert response.status_code < 500, (url, response.get_data(as_text=True))
        body = readable(response)
        for ip in others_ips:
            assert ip not in body, (url, ip)
        for email in others_emails:
            assert email not in body, (url, email)
        for found in EMAIL.findall(body):
            assert found == EMAILS["bob"], (url, found)
            own = values.get("username") == "bob" or values.get("user_id") == scene["people"]["bob"]
            assert own or url.startswith("/session/"), (url, "bob's e-mail outside his own data")
        for found in IPV4.findall(body):
            if all(0 <= int(part) <= 255 for part in found.split(".")):
                assert found in bobs_ips, (url, found)
        if json_route(url) and response.status_code == 200:
            json_bodies += 1
    # The walk read real pages, not only refusals.
    assert json_bodies >= 10


def test_a_visitor_walking_every_get_route_sees_no_ip_and_no_email_at_all(app, scene, client):
    every = {s for ip in every_ip() for s in ip_spellings(ip)}
    json_bodies = 0
    for url, _values, response in walk(app, client, scene):
        assert response.status_code < 500, (url, response.get_data(as_text=True))
        body = readable(response)
        for ip in every:
            assert ip not in body, (url, ip)
        assert not EMAIL.findall(body), (url, EMAIL.findall(body))
        for found in IPV4.findall(body):
            assert not all(0 <= int(part) <= 255 for part in found.split(".")), (url, found)
        if json_route(url) and response.status_code == 200:
            json_bodies += 1
    assert json_bodies >= 10


def test_the_hidden_post_is_not_leaked_by_any_route(app, scene, member):
    # carol's second post is hidden: its author's text never reaches bob, on any route.
    with app.app_context():
        hidden = db.session.get(Post, scene["posts"][2])
        hidden.raw = "The secret words are purple giraffe, forty."
        hidden.cooked = "<p>The secret words are purple giraffe.</p>"
        db.session.commit()
    bob = member(scene["people"]["bob"])
    for url, _values, response in walk(app, bob, scene):
        assert b"purple giraffe" not in response.get_data(), url
