"""The moderator's IP views (issue 4 §2, §7; P8) through the Flask routes on the real
database: a post's IP and its edits', an account's IPs, the lookup by address or range,
the accounts sharing addresses, their CSV variants, and the query plans behind them."""

from __future__ import annotations

import csv
import io
import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import make_user
from helpers import JSON_TYPE, at, ok
from sqlalchemy import event, select, update

from forum.content import posting
from forum.content.models import Post, PostEdit
from forum.db import db
from forum.moderation.ip_uses import rebuild
from forum.users.models import SignInEvent, User

RAW = "A post that is long enough to be accepted by the forum."

A4 = "203.0.113.5"  # alice, twice
B4 = "203.0.113.9"  # bob, same /24 as alice
A6 = "2001:db8:1:2::a"  # alice over IPv6
B6 = "2001:db8:1:2::b"  # bob, same /64
C4 = "192.0.2.1"  # carol
SHARED = "198.51.100.20"  # alice's edit, bob's and carol's replies
SIGN_IN = "192.0.2.50"  # alice signs in from here, never posts from it
ELSEWHERE = "100.64.7.7"  # nobody posted from here

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def refused(response: Any, status: int) -> list[str]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == JSON_TYPE
    body = response.get_json()
    assert set(body) == {"errors", "error_type"}, body
    assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"])
    return body["errors"]


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/csv"), response.content_type
    assert "attachment" in response.headers.get("Content-Disposition", "")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def stamp(app: Any, model: Any, row_id: int, when: datetime) -> None:
    """Move a post or edit in time, behind the app's back; the per-address counts the app
    keeps as it writes are derived again from the rows, as `forum purge` does."""
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(created_at=when))
        rebuild()
        db.session.commit()


def hours(n: int) -> datetime:
    return T0 + timedelta(hours=n)


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def carol(app):
    with app.app_context():
        return make_user("carol", email="carol@example.org").id


@pytest.fixture
def scene(app, users, carol, member, category_id):
    """Who posted from where, through the API, with known times.

    alice: topic (A4, t0), reply (A6, t1), reply (A4, t4), edit of her topic (SHARED, t6)
    bob:   reply (B4, t2), reply (B6, t3), reply (SHARED, t5)
    carol: topic (C4, t7), reply in alice's topic (SHARED, t8)
    """
    alice, bob, carol_c = member(users["alice"]), member(users["bob"]), member(carol)
    ids: dict[str, int] = {}

    def post(who: Any, key: str, ip: str, when: int, **payload: Any) -> dict[str, Any]:
        data = ok(who.post("/posts.json", json={"raw": f"{RAW} ({key})", **payload}, **at(ip)))
        ids[key] = data["id"]
        stamp(app, Post, data["id"], hours(when))
        return data

    first = post(
        alice, "a_topic", A4, 0, title="Where do the moderators meet?", category=category_id
    )
    topic_id = first["topic_id"]
    post(alice, "a_reply6", A6, 1, topic_id=topic_id)
    post(bob, "b_reply4", B4, 2, topic_id=topic_id)
    post(bob, "b_reply6", B6, 3, topic_id=topic_id)
    post(alice, "a_reply4", A4, 4, topic_id=topic_id)
    post(bob, "b_shared", SHARED, 5, topic_id=topic_id)
    edited = alice.put(
        f"/posts/{ids['a_topic']}.json", json={"post": {"raw": f"{RAW} Edited."}}, **at(SHARED)
    )
    ok(edited)
    with app.app_context():
        edit_id = db.session.scalar(select(PostEdit.id).where(PostEdit.post_id == ids["a_topic"]))
    stamp(app, PostEdit, edit_id, hours(6))
    other = post(
        carol_c, "c_topic", C4, 7, title="Carol asks a separate question", category=category_id
    )
    post(carol_c, "c_shared", SHARED, 8, topic_id=topic_id)
    with app.app_context():
        for ip, when in ((SIGN_IN, 0), (SIGN_IN, 9), (A4, 3)):
            db.session.add(
                SignInEvent(
                    user_id=users["alice"],
                    ip=ipaddress.ip_address(ip),
                    created_at=hours(when) - timedelta(minutes=30),
                    user_agent="test",
                )
            )
        db.session.commit()
    return {
        "ids": ids,
        "topic": topic_id,
        "carol_topic": other["topic_id"],
        "users": {**users, "carol": carol},
    }


# --- a post's IP, on request ----------------------------------------------------------------


def test_post_ip_reveals_the_post_ip_and_each_edit_ip(scene, mia):
    ids = scene["ids"]
    data = ok(mia.get(f"/admin/posts/{ids['a_topic']}/ip.json", **at("192.0.2.200")))
    assert data["post_id"] == ids["a_topic"]
    assert data["ip"] == A4
    assert [(e["version"], e["ip"], e["username"]) for e in data["edits"]] == [(2, SHARED, "alice")]
    assert data["edits"][0]["edited_at"] == iso(hours(6))

    unedited = ok(mia.get(f"/admin/posts/{ids['b_reply6']}/ip.json"))
    assert unedited == {"post_id": ids["b_reply6"], "ip": B6, "edits": []}


def test_post_ip_of_a_missing_post_is_404(scene, mia):
    refused(mia.get("/admin/posts/987654/ip.json"), 404)


def test_post_ip_as_csv(scene, ada):
    ids = scene["ids"]
    rows = rows_of(ada.get(f"/admin/posts/{ids['a_topic']}/ip.csv"))
    assert rows[0] == ["kind", "version", "ip", "time"]
    assert rows[1] == ["post", "1", A4, iso(hours(0))]
    assert rows[2] == ["edit", "2", SHARED, iso(hours(6))]
    assert len(rows) == 3


def test_ordinary_post_and_topic_json_never_hold_an_ip_even_for_staff(scene, client, mia):
    ids, topic = scene["ids"], scene["topic"]
    urls = [
        f"/t/{topic}.json",
        f"/posts/{ids['a_topic']}.json",
        f"/posts/{ids['b_shared']}.json",
        "/latest.json",
    ]
    every_ip = [A4, B4, A6, B6, C4, SHARED, SIGN_IN]
    for who in (client, mia):
        for url in urls:
            body = who.get(url).get_data(as_text=True)
            assert '"post_stream"' in body or '"id"' in body
            for ip in every_ip:
                assert ip not in body, (url, ip)
            assert '"ip"' not in body, url


# --- an account's IPs -----------------------------------------------------------------------


def test_user_ips_lists_each_distinct_address_with_counts_times_and_other_accounts(scene, mia):
    data = ok(mia.get("/admin/users/alice/ips.json"))
    assert data["user"] == {"id": scene["users"]["alice"], "username": "alice"}
    by_ip = {row["ip"]: row for row in data["ips"]}
    assert set(by_ip) == {A4, A6, SHARED}
    assert by_ip[A4] == {
        "ip": A4,
        "count": 2,
        "first_seen": iso(hours(0)),
        "last_seen": iso(hours(4)),
        "other_accounts": 0,
    }
    assert by_ip[A6]["count"] == 1 and by_ip[A6]["other_accounts"] == 0
    # The edit counts as a use of SHARED; bob and carol posted from it too.
    assert by_ip[SHARED] == {
        "ip": SHARED,
        "count": 1,
        "first_seen": iso(hours(6)),
        "last_seen": iso(hours(6)),
        "other_accounts": 2,
    }
    # Most recently used first.
    assert [row["ip"] for row in data["ips"]] == [SHARED, A4, A6]


def test_user_ips_lists_sign_in_addresses_separately(scene, mia):
    data = ok(mia.get("/admin/users/alice/ips.json"))
    signins = {row["ip"]: row for row in data["sign_in_ips"]}
    assert set(signins) == {SIGN_IN, A4}
    assert signins[SIGN_IN]["count"] == 2
    assert signins[SIGN_IN]["first_seen"] == iso(hours(0) - timedelta(minutes=30))
    assert signins[SIGN_IN]["last_seen"] == iso(hours(9) - timedelta(minutes=30))
    assert "other_accounts" not in signins[SIGN_IN]
    # A sign-in address is not a posting address.
    assert SIGN_IN not in {row["ip"] for row in data["ips"]}


def test_user_ips_of_someone_without_posts_is_empty(scene, mia):
    data = ok(mia.get("/admin/users/ada/ips.json"))
    assert data["ips"] == [] and data["sign_in_ips"] == []


def test_user_ips_of_an_unknown_member_is_404(scene, mia):
    refused(mia.get("/admin/users/nobody-here/ips.json"), 404)


def test_user_ips_as_csv(scene, mia):
    rows = rows_of(mia.get("/admin/users/alice/ips.csv"))
    assert rows[0] == ["kind", "ip", "count", "first_seen", "last_seen", "other_accounts"]
    posts = {r[1]: r for r in rows[1:] if r[0] == "post"}
    signins = {r[1]: r for r in rows[1:] if r[0] == "sign_in"}
    assert posts[A4] == ["post", A4, "2", iso(hours(0)), iso(hours(4)), "0"]
    assert posts[SHARED][5] == "2"
    assert set(posts) == {A4, A6, SHARED}
    assert set(signins) == {SIGN_IN, A4}
    assert signins[SIGN_IN][2] == "2"
    assert len(rows) == 1 + 3 + 2


# --- the lookup by address or range ------------------------------------------------------


def lookup(who: Any, q: str, **args: Any) -> Any:
    return ok(who.get("/admin/ip-lookup.json", query_string={"q": q, **args}))


def test_lookup_one_ipv4_address(scene, mia):
    ids = scene["ids"]
    data = lookup(mia, A4)
    assert data["query"] == f"{A4}/32"
    assert data["accounts"] == [
        {"username": "alice", "count": 2, "first_seen": iso(hours(0)), "last_seen": iso(hours(4))}
    ]
    assert [p["id"] for p in data["posts"]] == [ids["a_reply4"], ids["a_topic"]]
    newest = data["posts"][0]
    assert newest["topic_id"] == scene["topic"]
    assert newest["topic_title"] == "Where do the moderators meet?"
    assert newest["post_number"] == 5
    assert newest["username"] == "alice"
    assert newest["created_at"] == iso(hours(4))
    assert newest["ip"] == A4
    assert newest["url"].endswith(f"/{scene['topic']}/5")
    assert data["page"] == 0 and data["more"] is False


def test_lookup_an_ipv4_slash_24_finds_both_accounts(scene, mia):
    ids = scene["ids"]
    data = lookup(mia, "203.0.113.0/24")
    assert data["query"] == "203.0.113.0/24"
    assert [(a["username"], a["count"]) for a in data["accounts"]] == [("alice", 2), ("bob", 1)]
    assert [p["id"] for p in data["posts"]] == [ids["a_reply4"], ids["b_reply4"], ids["a_topic"]]
    assert {p["ip"] for p in data["posts"]} == {A4, B4}
    # A host address with a prefix is the range it lies in.
    assert lookup(mia, "203.0.113.77/24")["accounts"] == data["accounts"]


def test_lookup_one_ipv6_address(scene, mia):
    data = lookup(mia, A6)
    assert data["query"] == f"{A6}/128"
    assert [(a["username"], a["count"]) for a in data["accounts"]] == [("alice", 1)]
    assert [p["id"] for p in data["posts"]] == [scene["ids"]["a_reply6"]]
    assert data["posts"][0]["ip"] == A6
    # Spelled out in full, it is the same address.
    assert lookup(mia, "2001:0db8:0001:0002:0000:0000:0000:000a")["posts"] == data["posts"]


def test_lookup_an_ipv6_slash_64(scene, mia):
    ids = scene["ids"]
    data = lookup(mia, "2001:db8:1:2::/64")
    assert [a["username"] for a in data["accounts"]] == ["alice", "bob"]
    assert [p["id"] for p in data["posts"]] == [ids["b_reply6"], ids["a_reply6"]]
    assert lookup(mia, "2001:db8:1:3::/64")["posts"] == []


def test_lookup_an_ipv4_mapped_ipv6_address_finds_the_ipv4_posts(scene, mia):
    data = lookup(mia, f"::ffff:{C4}")
    assert data["query"] == f"{C4}/32"
    assert [a["username"] for a in data["accounts"]] == ["carol"]
    assert [p["id"] for p in data["posts"]] == [scene["ids"]["c_topic"]]
    assert data["posts"][0]["ip"] == C4
    # A mapped range is the IPv4 range.
    assert lookup(mia, "::ffff:203.0.113.0/120")["query"] == "203.0.113.0/24"


def test_lookup_counts_edits_among_the_accounts_but_lists_posts(scene, mia):
    ids = scene["ids"]
    data = lookup(mia, SHARED)
    assert [(a["username"], a["count"]) for a in data["accounts"]] == [
        ("alice", 1),
        ("bob", 1),
        ("carol", 1),
    ]
    assert [p["id"] for p in data["posts"]] == [ids["c_shared"], ids["b_shared"]]


def test_lookup_of_an_unused_address_is_empty(scene, mia):
    data = lookup(mia, ELSEWHERE)
    assert data["accounts"] == [] and data["posts"] == [] and data["more"] is False


def test_lookup_pages_posts_newest_first(app, users, category_id, mia):
    ip = ipaddress.ip_address("10.9.8.7")
    with app.app_context():
        alice = db.session.get(User, users["alice"])
        first = posting.create_topic(alice, "Fifty five posts from one place", RAW, category_id, ip)
        made = [first]
        for i in range(54):
            made.append(posting.create_reply(alice, first.topic_id, f"{RAW} {i}", ip))
        db.session.flush()
        for i, post in enumerate(made):
            post.created_at = T0 + timedelta(minutes=i)
        db.session.flush()
        rebuild()  # the per-address counts follow the rows moved in time
        db.session.commit()
        ids = [p.id for p in made]

    page0 = lookup(mia, "10.9.8.7")
    assert len(page0["posts"]) == 50 and page0["more"] is True and page0["page"] == 0
    page1 = lookup(mia, "10.9.8.0/24", page=1)
    assert page1["page"] == 1 and page1["more"] is False
    assert [p["id"] for p in page0["posts"]] + [p["id"] for p in page1["posts"]] == ids[::-1]
    assert (
        page0["accounts"]
        == page1["accounts"]
        == [
            {
                "username": "alice",
                "count": 55,
                "first_seen": iso(T0),
                "last_seen": iso(T0 + timedelta(minutes=54)),
            }
        ]
    )
    assert lookup(mia, "10.9.8.7", page=2)["posts"] == []
    refused(mia.get("/admin/ip-lookup.json?q=10.9.8.7&page=-1"), 422)
    refused(mia.get("/admin/ip-lookup.json?q=10.9.8.7&page=two"), 422)


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("", "Give an IP address"),
        ("   ", "Give an IP address"),
        ("not-an-ip", "is not an IP address or CIDR range"),
        ("203.0.113.256", "is not an IP address or CIDR range"),
        ("203.0.113.0/33", "is not an IP address or CIDR range"),
        ("2001:db8::g", "is not an IP address or CIDR range"),
        ("203.0.113.0/", "is not an IP address or CIDR range"),
        ("2.0.0.0/7", "/7 is too wide"),
        ("0.0.0.0/0", "/0 is too wide"),
        ("2001:db8::/31", "/31 is too wide"),
        ("::/0", "/0 is too wide"),
        ("::ffff:0.0.0.0/100", "/4 is too wide"),
    ],
)
def test_lookup_refuses_a_malformed_or_too_wide_query_with_a_clear_422(scene, mia, q, words):
    errors = refused(mia.get("/admin/ip-lookup.json", query_string={"q": q}), 422)
    assert words in " ".join(errors), errors


def test_lookup_without_q_is_a_422(scene, mia):
    errors = refused(mia.get("/admin/ip-lookup.json"), 422)
    assert "IP address or a CIDR range" in errors[0]


@pytest.mark.parametrize("q", ["10.0.0.0/8", "2001:db8::/32", "203.0.113.5/32", f"{A6}/128"])
def test_lookup_accepts_the_widest_and_narrowest_allowed_ranges(scene, mia, q):
    assert "posts" in lookup(mia, q)


@pytest.mark.parametrize("q", ["::/32", "::/80", "::fffe:0:0/95", "0:0:0:0:0:ffff::/90"])
def test_an_ipv6_range_around_the_mapped_block_is_not_a_way_around_the_ipv4_limit(scene, mia, q):
    """IPv4 addresses are kept inside ::ffff:0:0/96; an IPv6 range covering that whole block
    would be an IPv4 /0, which the lookup never answers."""
    errors = refused(mia.get("/admin/ip-lookup.json", query_string={"q": q}), 422)
    assert "too wide" in " ".join(errors)


def test_lookup_as_csv_has_the_same_posts(scene, mia):
    data = lookup(mia, "203.0.113.0/24")
    rows = rows_of(mia.get("/admin/ip-lookup.csv", query_string={"q": "203.0.113.0/24"}))
    assert rows[0] == [
        "post_id",
        "topic_id",
        "topic_title",
        "post_number",
        "username",
        "created_at",
        "ip",
    ]
    assert rows[1:] == [
        [
            str(p["id"]),
            str(p["topic_id"]),
            p["topic_title"],
            str(p["post_number"]),
            p["username"],
            p["created_at"],
            p["ip"],
        ]
        for p in data["posts"]
    ]
    assert len(rows) == 4


def test_lookup_csv_refuses_a_bad_query_too(scene, mia):
    refused(mia.get("/admin/ip-lookup.csv", query_string={"q": "1.0.0.0/7"}), 422)


def test_a_formula_in_a_topic_title_is_defused_in_csv(app, users, member, category_id, mia):
    title = '=HYPERLINK("http://evil.example/","click me")'
    alice = member(users["alice"])
    ok(
        alice.post(
            "/posts.json",
            json={"title": title, "raw": RAW, "category": category_id},
            **at("192.0.2.99"),
        )
    )
    rows = rows_of(mia.get("/admin/ip-lookup.csv?q=192.0.2.99"))
    assert rows[1][2] == "'" + title
    # JSON carries the title as it is.
    assert lookup(mia, "192.0.2.99")["posts"][0]["topic_title"] == title


def test_unknown_report_format_is_404(scene, mia):
    assert mia.get("/admin/ip-lookup.xml?q=203.0.113.5").status_code == 404
    assert mia.get("/admin/users/alice/ips.txt").status_code == 404


# --- accounts sharing addresses -----------------------------------------------------------


def test_shared_ips_lists_the_other_accounts_with_the_shared_addresses(scene, mia):
    data = ok(mia.get("/admin/users/alice/shared-ips.json"))
    assert data["user"]["username"] == "alice"
    accounts = {a["username"]: a for a in data["accounts"]}
    assert set(accounts) == {"bob", "carol"}  # not alice herself; nobody else shares A4/A6
    assert accounts["bob"]["ips"] == [{"ip": SHARED, "count": 1}]
    assert accounts["carol"]["ips"] == [{"ip": SHARED, "count": 1}]
    assert accounts["bob"]["total"] == 1


def test_shared_ips_counts_every_shared_address(app, scene, member, mia):
    # bob now also posts from alice's IPv6 address, twice.
    bob = member(scene["users"]["bob"])
    for _ in range(2):
        ok(bob.post("/posts.json", json={"topic_id": scene["topic"], "raw": RAW}, **at(A6)))
    data = ok(mia.get("/admin/users/alice/shared-ips.json"))
    assert data["accounts"][0]["username"] == "bob"  # most shared first
    assert data["accounts"][0]["total"] == 3
    assert sorted((i["ip"], i["count"]) for i in data["accounts"][0]["ips"]) == sorted(
        [(A6, 2), (SHARED, 1)]
    )
    rows = rows_of(mia.get("/admin/users/alice/shared-ips.csv"))
    assert rows[0] == ["username", "ip", "count"]
    assert sorted(map(tuple, rows[1:])) == sorted(
        [("bob", A6, "2"), ("bob", SHARED, "1"), ("carol", SHARED, "1")]
    )


def test_shared_ips_of_a_loner_is_empty(scene, mia):
    assert ok(mia.get("/admin/users/ada/shared-ips.json"))["accounts"] == []
    refused(mia.get("/admin/users/nobody-here/shared-ips.json"), 404)


# --- the query plans (issue 4 §7) -----------------------------------------------------------

IP_INDEXES = ("ix_posts_ip_user", "ix_posts_user_ip")
EDIT_INDEXES = ("ix_post_edits_ip_user", "ix_post_edits_user_ip")


class Recorder:
    """Every statement the app runs, with its parameters, so it can be EXPLAINed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:
        if not executemany:
            self.calls.append((statement, parameters))

    def selects_from_posts(self) -> list[tuple[str, Any]]:
        found = []
        for statement, parameters in self.calls:
            text = " ".join(statement.split())
            lowered = text.lower()
            if lowered.startswith(("select", "with")) and (
                "from posts" in lowered or "join posts" in lowered
            ):
                found.append((statement, parameters))
        return found


def record_route(app: Any, call: Any) -> Recorder:
    with app.app_context():
        engine = db.engine
    recorder = Recorder()
    event.listen(engine, "before_cursor_execute", recorder)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", recorder)
    return recorder


def explain(app: Any, statement: str, parameters: Any) -> tuple[str, list[str]]:
    with app.app_context(), db.engine.connect() as conn:
        dialect = conn.dialect.name
        if dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            lines = [str(r[-1]) for r in rows]
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
            lines = [str(r[0]) for r in rows]
        conn.rollback()
    return dialect, lines


def assert_indexed(app: Any, recorder: Recorder, must_use: tuple[str, ...]) -> None:
    statements = recorder.selects_from_posts()
    assert statements, "the route ran no query on posts"
    for statement, parameters in statements:
        dialect, plan = explain(app, statement, parameters)
        text = "\n".join(plan)
        assert any(ix in text for ix in must_use), (statement, text)
        if dialect == "sqlite":
            for line in plan:
                # Reading posts or post_edits whole (a table or a full index scan) is a scan.
                for table in ("posts", "post_edits"):
                    assert not line.startswith(f"SCAN {table}"), (statement, text)
                    if line.startswith(f"SEARCH {table} "):
                        assert "INDEX" in line or "PRIMARY KEY" in line, (statement, text)
        else:
            assert "Seq Scan on posts" not in text, (statement, text)
            assert "Seq Scan on post_edits" not in text, (statement, text)
            for ix in must_use:
                if ix in text:
                    assert any(
                        ix in line and ("Index" in line or "Bitmap" in line) for line in plan
                    ), (statement, text)


def test_the_address_lookup_is_answered_from_the_ip_index(app, scene, mia):
    recorder = record_route(app, lambda: lookup(mia, A4))
    assert_indexed(app, recorder, ("ix_posts_ip_user",))


def test_the_slash_24_lookup_is_answered_from_the_ip_index(app, scene, mia):
    recorder = record_route(app, lambda: lookup(mia, "203.0.113.0/24"))
    assert_indexed(app, recorder, ("ix_posts_ip_user",))


def test_the_ipv6_range_lookup_is_answered_from_the_ip_index(app, scene, mia):
    recorder = record_route(app, lambda: lookup(mia, "2001:db8:1:2::/64"))
    assert_indexed(app, recorder, ("ix_posts_ip_user",))


def selects_from(recorder: Recorder, table: str) -> list[tuple[str, Any]]:
    found = []
    for statement, parameters in recorder.calls:
        lowered = " ".join(statement.split()).lower()
        if lowered.startswith("select") and (
            f"from {table}" in lowered or f"join {table}" in lowered
        ):
            found.append((statement, parameters))
    return found


def assert_account_report_reads_the_counts(app: Any, recorder: Recorder) -> None:
    """Account reports read the per-(account, address) counts through an index, and never
    a member's posts: their cost follows the addresses, not the number of posts."""
    assert recorder.selects_from_posts() == [], "an account report read the posts"
    statements = selects_from(recorder, "ip_uses")
    assert statements, "the report did not read ip_uses"
    for statement, parameters in statements:
        dialect, plan = explain(app, statement, parameters)
        text = "\n".join(plan)
        assert (
            "pk_ip_uses" in text
            or "ix_ip_uses_ip_user" in text
            or "sqlite_autoindex_ip_uses" in text
        ), (statement, text)
        if dialect == "sqlite":
            assert not any(line.startswith("SCAN ip_uses") for line in plan), (statement, text)


def test_the_account_ip_report_is_answered_from_the_account_index(app, scene, mia):
    recorder = record_route(app, lambda: ok(mia.get("/admin/users/alice/ips.json")))
    assert_account_report_reads_the_counts(app, recorder)


def test_the_shared_ips_report_is_answered_from_the_indexes(app, scene, mia):
    recorder = record_route(app, lambda: ok(mia.get("/admin/users/alice/shared-ips.json")))
    assert_account_report_reads_the_counts(app, recorder)
