"""Erase me (issue 6 §1, P11): `DELETE /u/{username}.json` and `forum erase`. Posts and
edits stay, attributed to the one `Anonymous` user; everything personal goes: the account,
its avatar, sign-in events and likes, the IPs of its posts and edits, its mentions in
other members' posts, and what the audit log said about it.

Everything goes through the Flask test client and the CLI runner against the real
database, which is then read back directly."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from conftest import Member, make_user
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from helpers import JSON_TYPE, at, ok
from sqlalchemy import func, select
from test_signin import GITHUB_ID, FakeGitHub, sign_in

from forum.content.errors import Forbidden
from forum.content.models import Like, Post, PostEdit, Topic
from forum.db import db
from forum.moderation.models import AuditEntry
from forum.privacy.erasure import anonymous_user, erase
from forum.timeutil import iso, utcnow
from forum.users.models import ANONYMOUS_USERNAME, Avatar, SignInEvent, User

ALICE_IP = "203.0.113.5"
ALICE_EDIT_IP = "203.0.113.66"
ALICE_REPLY_IP = "2001:db8:a11c::5"
ALICE_SIGNIN_IP = "203.0.113.77"
ALICE_ACTING_IP = "203.0.113.88"
BOB_IP = "198.51.100.20"
BOB_EDIT_IP = "198.51.100.21"
BOB_SIGNIN_IP = "198.51.100.22"
MIA_IP = "192.0.2.30"
ALICE_IPS = (ALICE_IP, ALICE_EDIT_IP, ALICE_REPLY_IP, ALICE_SIGNIN_IP, ALICE_ACTING_IP)

AVATAR_BYTES = b"\x89PNG\r\n\x1a\n-alice-avatar-bytes-zq41"
SIGNIN_UA = "AliceBrowser/9.9 zq-alice-ua"
BODY = "A first post of the topic, long enough to be accepted."
REPLY = "A reply that is long enough to be accepted here."


# --- helpers -------------------------------------------------------------------------------


def refused(response: Any, status: int, error_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == JSON_TYPE
    body = response.get_json()
    assert set(body) == {"errors", "error_type"}, body
    assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"]), body
    if error_type is not None:
        assert body["error_type"] == error_type, body
    return body


def new_topic(who: Member, category_id: int, ip: str, title: str, raw: str = BODY) -> Any:
    return ok(
        who.post(
            "/posts.json", json={"title": title, "raw": raw, "category": category_id}, **at(ip)
        )
    )


def reply(who: Member, topic_id: int, ip: str, raw: str = REPLY) -> Any:
    return ok(who.post("/posts.json", json={"topic_id": topic_id, "raw": raw}, **at(ip)))


def edit(who: Member, post_id: int, ip: str, raw: str) -> Any:
    return ok(who.put(f"/posts/{post_id}.json", json={"post": {"raw": raw}}, **at(ip)))


def like(who: Member, post_id: int) -> Any:
    return ok(who.post("/post_actions.json", json={"id": post_id, "post_action_type_id": 2}))


def erase_me(who: Member, username: str, **kwargs: Any) -> Any:
    return who.delete(f"/u/{username}.json", **kwargs)


def signed_in_as(client: FlaskClient) -> str | None:
    r = client.get("/session/current.json")
    if r.status_code == 404:
        assert r.get_json()["error_type"] == "not_logged_in"
        return None
    return ok(r)["current_user"]["username"]


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def user_named(app: Flask, username: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username_lower == username.lower()))
        if user is not None:
            db.session.expunge(user)
        return user


def anonymous_rows(app: Flask) -> list[User]:
    with app.app_context():
        rows = list(db.session.scalars(select(User).where(User.username_lower == "anonymous")))
        for row in rows:
            db.session.expunge(row)
        return rows


def ledger_size(path: str) -> int:
    p = Path(path)
    return p.stat().st_size if p.exists() else 0


def ledger_since(path: str, offset: int) -> str:
    p = Path(path)
    if not p.exists():
        return ""
    with p.open("rb") as f:
        f.seek(offset)
        return f.read().decode()


def add_sign_in(user_id: int, ip: str, ua: str) -> None:
    db.session.add(SignInEvent(user_id=user_id, ip=ipaddress.ip_address(ip), user_agent=ua))


def cli(app: Flask, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=["forum", *args], input=input)


def everything(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for refusals that must change nothing."""
    with app.app_context():
        out = {}
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            out[table.name] = [tuple(r) for r in db.session.execute(select(table).order_by(*order))]
        return out


# --- the world alice leaves behind -----------------------------------------------------------


@pytest.fixture
def world(app: Flask, users: dict[str, int], member: Callable[[int], Member], category_id: int):
    """alice's topics, replies, edits, likes, avatar, sign-ins and audit-log entries,
    among bob's, mia's and ada's."""
    alice, bob, mia = member(users["alice"]), member(users["bob"]), member(users["mia"])
    ada = member(users["ada"])

    # t1: alice starts, bob replies last (quoting and mentioning her).
    a1 = new_topic(alice, category_id, ALICE_IP, "The first topic of the day")
    t1 = a1["topic_id"]
    mention = (
        f"Thanks @alice! cc @alicefoo, mail bob@alice.example, and @Alice.\n\n"
        f'[quote="alice, post:1, topic:{t1}"]\nShe said this.\n[/quote]\n\n'
        f"[quote=alice]\nThe short form.\n[/quote]"
    )
    b1 = reply(bob, t1, BOB_IP, "A first draft of a reply that mentions nobody at all.")
    edit(bob, b1["id"], BOB_EDIT_IP, mention)
    edit(alice, a1["id"], ALICE_EDIT_IP, "The first post, edited from another address.")

    # t2: bob starts, alice replies last.
    b2 = new_topic(bob, category_id, BOB_IP, "Bob opens the second topic")
    t2 = b2["topic_id"]
    a2 = reply(alice, t2, ALICE_REPLY_IP)

    # t3: alice alone.
    a3 = new_topic(alice, category_id, ALICE_IP, "A topic nobody answers")
    t3 = a3["topic_id"]

    like(alice, b1["id"])
    like(bob, a1["id"])
    like(mia, a1["id"])

    with app.app_context():
        db.session.add(
            Avatar(
                user_id=users["alice"], content_type="image/png", data=AVATAR_BYTES, version="a1"
            )
        )
        db.session.add(
            Avatar(user_id=users["bob"], content_type="image/png", data=b"bob-pic", version="b1")
        )
        add_sign_in(users["alice"], ALICE_SIGNIN_IP, SIGNIN_UA)
        add_sign_in(users["alice"], ALICE_SIGNIN_IP, SIGNIN_UA + " again")
        add_sign_in(users["bob"], BOB_SIGNIN_IP, "BobBrowser/1.0")
        db.session.commit()

    # The audit log: mia acts on alice; alice, made a moderator for a while, acts herself.
    ok(mia.get(f"/admin/posts/{a1['id']}/ip.json", **at(MIA_IP)))
    ok(mia.get("/admin/users/alice/ips.json", **at(MIA_IP)))
    until = iso(utcnow() + timedelta(days=3))
    reason = "Spam sent from alice@example.com"
    ok(
        mia.put(
            f"/admin/users/{users['alice']}/suspend.json",
            json={"suspend_until": until, "reason": reason},
            **at(MIA_IP),
        )
    )
    ok(mia.put(f"/admin/users/{users['alice']}/unsuspend.json", **at(MIA_IP)))
    assert cli(app, "grant-role", "alice", "moderator").exit_code == 0
    ok(alice.get(f"/admin/ip-lookup.json?q={BOB_IP}", **at(ALICE_ACTING_IP)))
    ok(alice.get("/admin/users/bob/ips.json", **at(ALICE_ACTING_IP)))
    assert cli(app, "grant-role", "alice", "member").exit_code == 0

    with app.app_context():
        about_alice = db.session.scalars(
            select(AuditEntry.id).where(
                (AuditEntry.actor_id == users["alice"])
                | (AuditEntry.subject_user_id == users["alice"])
            )
        ).all()
        by_alice = db.session.scalars(
            select(AuditEntry.id).where(AuditEntry.actor_id == users["alice"])
        ).all()
        by_mia = db.session.scalars(
            select(AuditEntry.id).where(AuditEntry.actor_id == users["mia"])
        ).all()
        assert len(by_alice) == 2 and len(by_mia) >= 4 and len(about_alice) >= 6
        bob_audit = [
            (e.id, e.action, e.subject_user_id, e.subject_id)
            for e in db.session.scalars(
                select(AuditEntry).where(AuditEntry.subject_user_id == users["bob"])
            )
        ]
        assert bob_audit, "alice's look at bob is an entry about bob"

    return {
        "alice": alice,
        "bob": bob,
        "mia": mia,
        "ada": ada,
        "t1": t1,
        "t2": t2,
        "t3": t3,
        "a1": a1["id"],
        "a2": a2["id"],
        "a3": a3["id"],
        "b1": b1["id"],
        "b2": b2["id"],
        "about_alice": about_alice,
        "by_alice": by_alice,
        "bob_audit": bob_audit,
        "audit_count": count(app, AuditEntry),
    }


@pytest.fixture
def erased(app: Flask, users: dict[str, int], world: dict[str, Any], ledger_file: str):
    """alice, with a second signed-in client, erases herself through the API."""
    second = Member(app, users["alice"])
    assert signed_in_as(second.client) == "alice"
    mark = ledger_size(ledger_file)
    body = ok(erase_me(world["alice"], "alice", json={"confirm": "alice"}))
    assert body == {"success": "OK"}
    return {**world, "second": second, "ledger": ledger_since(ledger_file, mark)}


def anon_id(app: Flask) -> int:
    [anon] = anonymous_rows(app)
    return anon.id


# --- the erasure itself ------------------------------------------------------------------------


def test_erased_members_sessions_end_at_once(app, users, erased):
    assert signed_in_as(erased["alice"].client) is None
    assert signed_in_as(erased["second"].client) is None
    # Her cookie writes nothing any more either.
    refused(
        erased["second"].post("/posts.json", json={"topic_id": erased["t1"], "raw": REPLY}),
        403,
    )
    assert signed_in_as(erased["bob"].client) == "bob"


def test_the_account_and_its_personal_rows_are_gone(app, client, users, erased):
    alice = users["alice"]
    with app.app_context():
        assert db.session.get(User, alice) is None
    assert user_named(app, "alice") is None
    refused(client.get("/u/alice.json"), 404)
    assert count(app, Avatar, Avatar.user_id == alice) == 0
    assert count(app, SignInEvent, SignInEvent.user_id == alice) == 0
    assert count(app, Like, Like.user_id == alice) == 0
    # Other members' rows are untouched.
    assert count(app, Avatar, Avatar.user_id == users["bob"]) == 1
    assert count(app, SignInEvent, SignInEvent.user_id == users["bob"]) == 1
    assert count(app, Like) == 2  # bob's and mia's likes of alice's first post


def test_likes_she_gave_and_got_still_count(app, client, users, erased):
    with app.app_context():
        assert db.session.get(Post, erased["b1"]).like_count == 1  # hers, gone as a row
        assert db.session.get(Post, erased["a1"]).like_count == 2
        assert db.session.get(Topic, erased["t1"]).like_count == 3
    topic = ok(client.get(f"/t/{erased['t1']}.json"))
    by_id = {p["id"]: p for p in topic["post_stream"]["posts"]}
    assert by_id[erased["b1"]]["like_count"] == 1
    assert by_id[erased["a1"]]["like_count"] == 2


def test_posts_and_edits_stay_as_anonymous_without_ips(app, client, users, erased):
    [anon] = anonymous_rows(app)
    assert anon.username == ANONYMOUS_USERNAME
    assert anon.github_id is None
    assert anon.email is None
    assert (anon.first_name, anon.last_name) == ("", "")
    with app.app_context():
        hers = [db.session.get(Post, erased[k]) for k in ("a1", "a2", "a3")]
        assert all(p is not None and p.deleted_at is None for p in hers)
        assert [p.user_id for p in hers] == [anon.id] * 3
        assert [p.ip for p in hers] == [None, None, None]
        assert hers[0].raw == "The first post, edited from another address."
        [her_edit] = db.session.scalars(select(PostEdit).where(PostEdit.post_id == erased["a1"]))
        assert (her_edit.user_id, her_edit.ip) == (anon.id, None)
        assert her_edit.raw_after == hers[0].raw
        assert (
            db.session.scalar(select(func.count(Post.id)).where(Post.user_id == users["alice"]))
            == 0
        )
        assert (
            db.session.scalar(
                select(func.count(PostEdit.id)).where(PostEdit.user_id == users["alice"])
            )
            == 0
        )
        # Other members' posts and edits, and their IPs, are untouched.
        for key in ("b1", "b2"):
            post = db.session.get(Post, erased[key])
            assert (post.user_id, post.ip) == (users["bob"], ipaddress.ip_address(BOB_IP))
        [bob_edit] = db.session.scalars(select(PostEdit).where(PostEdit.post_id == erased["b1"]))
        assert (bob_edit.user_id, bob_edit.ip) == (users["bob"], ipaddress.ip_address(BOB_EDIT_IP))

    topic = ok(client.get(f"/t/{erased['t1']}.json"))
    posts = topic["post_stream"]["posts"]
    assert [p["username"] for p in posts] == [ANONYMOUS_USERNAME, "bob"]
    assert "alice" not in json.dumps(topic["details"]).lower()

    # Staff no longer find her addresses anywhere.
    for ip in (ALICE_IP, ALICE_REPLY_IP, ALICE_EDIT_IP):
        found = ok(erased["mia"].get(f"/admin/ip-lookup.json?q={ip}"))
        assert found["posts"] == [] and found["accounts"] == [], found


def test_topics_show_anonymous_as_creator_and_last_poster(app, client, users, erased):
    anon = anon_id(app)
    with app.app_context():
        t1, t2, t3 = (db.session.get(Topic, erased[k]) for k in ("t1", "t2", "t3"))
        assert (t1.user_id, t1.last_post_user_id) == (anon, users["bob"])
        assert (t2.user_id, t2.last_post_user_id) == (users["bob"], anon)
        assert (t3.user_id, t3.last_post_user_id) == (anon, anon)
    details = ok(client.get(f"/t/{erased['t3']}.json"))["details"]
    assert details["created_by"]["username"] == ANONYMOUS_USERNAME
    assert details["last_poster"]["username"] == ANONYMOUS_USERNAME
    details = ok(client.get(f"/t/{erased['t2']}.json"))["details"]
    assert details["created_by"]["username"] == "bob"
    assert details["last_poster"]["username"] == ANONYMOUS_USERNAME
    latest = ok(client.get("/latest.json"))
    assert "alice" not in json.dumps(latest).lower()


def without_lookalikes(text: str) -> str:
    return text.replace("alicefoo", "").replace("alice.example", "")


def test_mentions_and_quotes_are_rewritten_but_not_lookalikes(app, users, erased):
    t1 = erased["t1"]
    with app.app_context():
        post = db.session.get(Post, erased["b1"])
        [bob_edit] = db.session.scalars(select(PostEdit).where(PostEdit.post_id == erased["b1"]))
        raw, cooked, after = post.raw, post.cooked, bob_edit.raw_after
    assert raw.startswith(
        "Thanks @Anonymous! cc @alicefoo, mail bob@alice.example, and @Anonymous."
    )
    assert f'[quote="Anonymous, post:1, topic:{t1}"]' in raw
    assert "[quote=Anonymous]" in raw
    assert "@alicefoo" in cooked and "bob@alice.example" in cooked
    assert "@Anonymous" in cooked and f'quote="Anonymous, post:1, topic:{t1}"' in cooked
    assert after == raw  # the revision's text too
    for text in (raw, cooked, after):
        assert "alice" not in without_lookalikes(text).lower(), text


def test_audit_log_keeps_the_actions_without_her(app, users, erased):
    alice = users["alice"]
    assert count(app, AuditEntry) == erased["audit_count"]
    alice_ips = {ipaddress.ip_address(ip) for ip in ALICE_IPS}
    with app.app_context():
        entries = {e.id: e for e in db.session.scalars(select(AuditEntry))}
        for entry_id in erased["about_alice"]:
            entry = entries[entry_id]  # still there
            assert entry.actor_id != alice and entry.subject_user_id != alice
            assert not (entry.subject_type == "user" and entry.subject_id == alice), entry.action
            assert entry.details == {}, (entry.action, entry.details)
        for entry_id in erased["by_alice"]:
            assert entries[entry_id].actor_id is None
            assert entries[entry_id].actor_ip is None
        for entry in entries.values():
            assert entry.actor_ip not in alice_ips
            assert "alice" not in json.dumps(entry.details).lower(), entry.details
        # mia's actions are still hers, with her own address.
        mias = [e for e in entries.values() if e.actor_id == users["mia"]]
        assert len(mias) >= 4
        assert {e.actor_ip for e in mias} == {ipaddress.ip_address(MIA_IP)}
        # What alice did to bob stays an entry about bob, only without her.
        for entry_id, action, subject, subject_id in erased["bob_audit"]:
            entry = entries[entry_id]
            assert (entry.action, entry.subject_user_id, entry.subject_id) == (
                action,
                subject,
                subject_id,
            )
    log = ok(erased["ada"].get("/admin/audit-log.json"))
    text = json.dumps(log).lower()
    assert "alice" not in without_lookalikes(text)
    for ip in ALICE_IPS:
        assert ip not in text


def test_the_ledger_records_the_erasure_and_nothing_about_her(app, users, erased):
    lines = [json.loads(line) for line in erased["ledger"].splitlines() if line.strip()]
    assert len(lines) == 1, lines
    [entry] = lines
    assert set(entry) == {"at", "kind", "user_id"}
    assert entry["kind"] == "erased" and entry["user_id"] == users["alice"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", entry["at"])
    text = erased["ledger"].lower()
    for personal in ("alice", "example.com", "tester", *ALICE_IPS):
        assert personal.lower() not in text


def test_a_second_erasure_reuses_the_same_anonymous(app, users, erased):
    first = anon_id(app)
    ok(erase_me(erased["bob"], "bob", json={"confirm": "bob"}))
    assert [u.id for u in anonymous_rows(app)] == [first]
    with app.app_context():
        for key in ("b1", "b2", "a1"):
            assert db.session.get(Post, erased[key]).user_id == first
        assert db.session.get(Topic, erased["t2"]).user_id == first
        assert db.session.get(User, users["bob"]) is None
    assert signed_in_as(erased["bob"].client) is None


# --- the request: confirmation, permission, CSRF, JSON and forms -----------------------------


@pytest.mark.parametrize("how", ["json", "form-with-header", "form-with-field"])
def test_erase_as_json_or_form(app, users, member, category_id, ledger_file, how):
    alice = member(users["alice"])
    post = new_topic(alice, category_id, ALICE_IP, "Alice will not stay long")
    mark = ledger_size(ledger_file)
    if how == "json":
        r = erase_me(alice, "alice", json={"confirm": "alice"})
    elif how == "form-with-header":
        r = erase_me(alice, "alice", data={"confirm": "alice"})
    else:
        r = alice.client.delete(
            "/u/alice.json", data={"confirm": "alice", "authenticity_token": alice.csrf}
        )
    assert ok(r) == {"success": "OK"}
    assert user_named(app, "alice") is None
    anon = anon_id(app)
    with app.app_context():
        stays = db.session.get(Post, post["id"])
        assert stays.user_id == anon and stays.ip is None
    assert signed_in_as(alice.client) is None
    assert '"kind":"erased"' in ledger_since(ledger_file, mark)


def test_the_users_alias_erases_too(app, users, member):
    alice = member(users["alice"])
    ok(alice.delete("/users/alice.json", json={"confirm": "alice"}))
    assert user_named(app, "alice") is None


def assert_nothing_erased(app, users, alice, before, ledger_file, mark):
    assert everything(app) == before
    assert ledger_size(ledger_file) == mark
    assert signed_in_as(alice.client) == "alice"


@pytest.mark.parametrize(
    "body",
    [
        {"json": {"confirm": "bob"}},
        {"json": {"confirm": "alic"}},
        {"json": {"confirm": "alice2"}},
        {"json": {"confirm": ""}},
        {"json": {"confirm": None}},
        {"json": {"confirm": ["alice"]}},
        {"json": {"confirm": 1}},
        {"json": {}},
        {"json": {"username": "alice"}},
        {"data": {"confirm": "bob"}},
        {"data": {}},
        {},
    ],
    ids=lambda b: json.dumps(b),
)
def test_a_wrong_or_missing_confirmation_erases_nothing(
    app, users, member, category_id, ledger_file, body
):
    alice = member(users["alice"])
    new_topic(alice, category_id, ALICE_IP, "Alice stays, whatever she sends")
    before, mark = everything(app), ledger_size(ledger_file)
    error = refused(erase_me(alice, "alice", **body), 422)
    assert "confirm" in " ".join(error["errors"])
    assert_nothing_erased(app, users, alice, before, ledger_file, mark)


@pytest.mark.parametrize("who", ["bob", "mia", "ada"])
def test_nobody_else_can_erase_a_member(app, users, member, category_id, ledger_file, who):
    alice = member(users["alice"])
    new_topic(alice, category_id, ALICE_IP, "Alice is erased by nobody else")
    other = member(users[who])
    before, mark = everything(app), ledger_size(ledger_file)
    refused(erase_me(other, "alice", json={"confirm": "alice"}), 403)
    assert_nothing_erased(app, users, alice, before, ledger_file, mark)
    assert signed_in_as(other.client) == who


def test_a_visitor_cannot_erase_anyone(app, client, users, member, ledger_file):
    alice = member(users["alice"])
    before, mark = everything(app), ledger_size(ledger_file)
    refused(client.delete("/u/alice.json", json={"confirm": "alice"}), 403, "not_logged_in")
    refused(client.delete("/u/alice.json", data={"confirm": "alice"}), 403, "not_logged_in")
    assert_nothing_erased(app, users, alice, before, ledger_file, mark)


@pytest.mark.parametrize("token", [None, "", "wrong-token"], ids=["none", "empty", "wrong"])
def test_erasure_without_the_csrf_token_is_refused(app, users, member, ledger_file, token):
    alice = member(users["alice"])
    before, mark = everything(app), ledger_size(ledger_file)
    headers = {} if token is None else {"X-CSRF-Token": token}
    refused(
        alice.client.delete("/u/alice.json", headers=headers, json={"confirm": "alice"}),
        403,
        "invalid_access",
    )
    refused(
        alice.client.delete(
            "/u/alice.json",
            headers=headers,
            data={"confirm": "alice", "authenticity_token": token or ""},
        ),
        403,
        "invalid_access",
    )
    assert_nothing_erased(app, users, alice, before, ledger_file, mark)


# --- admins and the Anonymous user -----------------------------------------------------------


def test_the_last_admin_cannot_erase_themselves(app, users, member, ledger_file):
    ada = member(users["ada"])
    before, mark = everything(app), ledger_size(ledger_file)
    error = refused(erase_me(ada, "ada", json={"confirm": "ada"}), 422)
    assert "last admin" in " ".join(error["errors"]).lower()
    assert everything(app) == before
    assert ledger_size(ledger_file) == mark
    assert signed_in_as(ada.client) == "ada"
    result = cli(app, "erase", "ada", "--yes")
    assert result.exit_code != 0
    assert "last admin" in result.output.lower()
    assert everything(app) == before


def test_with_two_admins_one_can_erase_themselves(app, users, member):
    assert cli(app, "grant-role", "bob", "admin").exit_code == 0
    ada = member(users["ada"])
    ok(erase_me(ada, "ada", json={"confirm": "ada"}))
    assert user_named(app, "ada") is None
    assert user_named(app, "bob").role == "admin"
    # bob is now the last one.
    bob = member(users["bob"])
    refused(erase_me(bob, "bob", json={"confirm": "bob"}), 422)
    assert user_named(app, "bob") is not None


@pytest.fixture
def anon(app: Flask, users: dict[str, int], member: Callable[[int], Member]) -> User:
    """The Anonymous user, as the first erasure creates it."""
    ok(erase_me(member(users["alice"]), "alice", json={"confirm": "alice"}))
    [row] = anonymous_rows(app)
    return row


def test_anonymous_cannot_sign_in(app, anon):
    client = app.test_client()
    for session_id in (anon.get_id(), f"{anon.id}:", str(anon.id)):
        with client.session_transaction() as sess:
            sess["_user_id"] = session_id
            sess["_fresh"] = True
        assert signed_in_as(client) is None, session_id


def test_anonymous_cannot_be_suspended(app, users, member, anon):
    until = iso(utcnow() + timedelta(days=3))
    for who in ("mia", "ada"):
        staff = member(users[who])
        refused(
            staff.put(
                f"/admin/users/{anon.id}/suspend.json",
                json={"suspend_until": until, "reason": "No."},
            ),
            403,
        )
    again = user_named(app, ANONYMOUS_USERNAME)
    assert (again.suspended_until, again.suspended_reason) == (None, "")


def test_anonymous_cannot_be_erased(app, users, member, anon, ledger_file):
    before, mark = everything(app), ledger_size(ledger_file)
    ada = member(users["ada"])
    r = erase_me(ada, ANONYMOUS_USERNAME, json={"confirm": ANONYMOUS_USERNAME})
    assert r.status_code in (403, 404), r.get_data(as_text=True)
    result = cli(app, "erase", ANONYMOUS_USERNAME, "--yes")
    assert result.exit_code != 0
    assert everything(app) == before
    assert ledger_size(ledger_file) == mark
    with app.app_context():
        with pytest.raises(Forbidden, match="Anonymous"):
            erase(db.session.get(User, anon.id))
        db.session.rollback()
    assert ledger_size(ledger_file) == mark
    assert [u.id for u in anonymous_rows(app)] == [anon.id]


def test_anonymous_cannot_be_given_a_role(app, anon):
    before = everything(app)
    for role in ("admin", "moderator", "member"):
        result = cli(app, "grant-role", ANONYMOUS_USERNAME, role)
        assert result.exit_code != 0, result.output
        assert "anonymous" in result.output.lower()
    assert everything(app) == before
    assert user_named(app, ANONYMOUS_USERNAME).role == "member"


def test_anonymous_user_is_created_once(app, ctx):
    first = anonymous_user()
    db.session.commit()
    assert anonymous_user().id == first.id
    assert (first.github_id, first.username) == (None, ANONYMOUS_USERNAME)


# --- signing in again ---------------------------------------------------------------------------


@pytest.fixture
def github():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeGitHub(rsps)


def test_signing_in_again_creates_a_new_empty_account(app, github, category_id):
    first = app.test_client()
    assert sign_in(first, github).status_code == 302
    assert signed_in_as(first) == "octocat"
    with app.app_context():
        old = db.session.scalar(select(User).where(User.github_id == GITHUB_ID))
        old_id = old.id
    csrf = ok(first.get("/session/csrf.json"))["csrf"]
    topic = ok(
        first.post(
            "/posts.json",
            json={"title": "Octocat was here once", "raw": BODY, "category": category_id},
            headers={"X-CSRF-Token": csrf},
        )
    )
    ok(first.delete("/u/octocat.json", json={"confirm": "octocat"}, headers={"X-CSRF-Token": csrf}))
    assert signed_in_as(first) is None
    assert count(app, SignInEvent) == 0
    assert count(app, Avatar) == 0

    second = app.test_client()
    assert sign_in(second, github).status_code == 302
    me = ok(second.get("/session/current.json"))["current_user"]
    assert me["username"] == "octocat"
    assert me["id"] != old_id
    anon = anon_id(app)
    with app.app_context():
        new = db.session.scalar(select(User).where(User.github_id == GITHUB_ID))
        assert new.id == me["id"] and new.id > old_id
        assert db.session.get(User, old_id) is None
        assert db.session.scalar(select(func.count(Post.id)).where(Post.user_id == new.id)) == 0
        assert db.session.scalar(select(func.count(Topic.id)).where(Topic.user_id == new.id)) == 0
        assert db.session.get(Post, topic["id"]).user_id == anon
        assert db.session.scalar(select(func.count(SignInEvent.id))) == 1
        assert not new.names_locked
    card = ok(second.get("/u/octocat.json"))["user"]
    assert card.get("post_count", 0) == 0 and card.get("topic_count", 0) == 0


# --- the command ----------------------------------------------------------------------------


def test_cli_erase_with_yes(app, users, member, category_id, ledger_file):
    alice = member(users["alice"])
    post = new_topic(alice, category_id, ALICE_IP, "Alice writes in by e-mail")
    mark = ledger_size(ledger_file)
    result = cli(app, "erase", "alice", "--yes")
    assert result.exit_code == 0, result.output
    assert "Erased alice" in result.output
    assert user_named(app, "alice") is None
    anon = anon_id(app)
    with app.app_context():
        assert db.session.get(Post, post["id"]).user_id == anon
        assert db.session.get(Post, post["id"]).ip is None
    assert signed_in_as(alice.client) is None
    [entry] = [json.loads(x) for x in ledger_since(ledger_file, mark).splitlines()]
    assert (entry["kind"], entry["user_id"]) == ("erased", users["alice"])


def test_cli_erase_of_an_unknown_member_fails(app, users, ledger_file):
    before, mark = everything(app), ledger_size(ledger_file)
    result = cli(app, "erase", "nobody", "--yes")
    assert result.exit_code != 0
    assert "nobody" in result.output
    assert everything(app) == before
    assert ledger_size(ledger_file) == mark


def test_cli_erase_without_yes_asks(app, users, ledger_file):
    before, mark = everything(app), ledger_size(ledger_file)
    result = cli(app, "erase", "alice", input="n\n")
    assert result.exit_code != 0
    assert "Erase alice" in result.output
    assert everything(app) == before
    assert ledger_size(ledger_file) == mark

    result = cli(app, "erase", "alice", input="y\n")
    assert result.exit_code == 0, result.output
    assert user_named(app, "alice") is None


# --- account ids are never reused (the migrated SQLite schema) -----------------------------------


def test_migrated_sqlite_schema_never_reuses_account_ids(make_app, tmp_path):
    fresh = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrated.sqlite3'}",
        ERASURE_LEDGER=str(tmp_path / "ledger.jsonl"),
    )
    with fresh.app_context():
        try:
            upgrade()
            make_user("first")
            newest = make_user("second")
            gone = newest.id
            db.session.delete(newest)
            db.session.commit()
            third = make_user("third")
            assert third.id != gone
            assert third.id > gone
        finally:
            db.session.remove()
            db.engine.dispose()
