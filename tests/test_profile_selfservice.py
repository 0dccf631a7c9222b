"""See and correct (P9), issue 5 part 3: the member reads everything Parlor holds about them
on /u/{username}.json, corrects names and the newsletter choice, a cleared field is really
cleared (and stays so across GitHub sign-ins) and recorded in the erasure ledger with no
values, and "sign out everywhere" ends every session and remember-me cookie at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask
from helpers import JSON_TYPE
from sqlalchemy import select
from test_signin import GITHUB_ID, FakeGitHub, current, remember_cookie_name, sign_in

from forum.db import db
from forum.timeutil import utcnow
from forum.users.models import User

PRIVATE_KEYS = (
    "email",
    "first_name",
    "last_name",
    "newsletter",
    "newsletter_consent_at",
    "github_id",
)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeGitHub(rsps)


def row(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        db.session.expunge(user)
        return user


def by_github_id(app: Flask, github_id: int = GITHUB_ID) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.github_id == github_id))
        assert user is not None
        db.session.expunge(user)
        return user


def ledger(path: str) -> list[dict[str, Any]]:
    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


def ledger_since(path: str, before: int) -> list[dict[str, Any]]:
    return ledger(path)[before:]


def profile_of(client: Any, username: str = "alice") -> dict[str, Any]:
    r = client.get(f"/u/{username}.json")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.content_type == JSON_TYPE
    return r.get_json()["user"]


def refused(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == JSON_TYPE
    body = response.get_json()
    assert set(body) == {"errors", "error_type"} and body["errors"], body
    return body


def snapshot(app: Flask, user_id: int) -> tuple[Any, ...]:
    user = row(app, user_id)
    return (
        user.first_name,
        user.last_name,
        user.newsletter,
        user.newsletter_consent_at,
        user.names_locked,
        user.email,
    )


# -------------------------------------------------------------------------------- see


@pytest.mark.parametrize("path", ["/u/alice.json", "/users/alice.json"])
def test_the_member_sees_all_their_data(app, users, member, path):
    user = row(app, users["alice"])
    r = member(users["alice"]).get(path)
    assert r.status_code == 200 and r.content_type == JSON_TYPE
    me = r.get_json()["user"]
    assert me["email"] == "alice@example.com"
    assert (me["first_name"], me["last_name"]) == ("Alice", "Tester")
    assert me["github_id"] == user.github_id
    assert me["newsletter"] is False and me["newsletter_consent_at"] is None
    assert me["role"] == "member"
    assert me["can_edit_name"] is True


@pytest.mark.parametrize("viewer", ["bob", "mia", "ada", None])
def test_nobody_else_sees_the_private_fields(app, client, users, member, viewer):
    user = row(app, users["alice"])
    who = member(users[viewer]) if viewer else client
    r = who.get("/u/alice.json")
    assert r.status_code == 200
    card = r.get_json()["user"]
    assert card["username"] == "alice"
    for key in PRIVATE_KEYS:
        assert key not in card, key
    text = r.get_data(as_text=True)
    assert "alice@example.com" not in text
    assert str(user.github_id) not in text


# ---------------------------------------------------------------------------- correct


def put_as(client: Any, how: str, fields: dict[str, Any]) -> Any:
    if how == "json":
        return client.put("/u/alice.json", json=fields)
    if how == "json-nested":
        return client.put("/u/alice.json", json={"user": fields})
    data = {k: str(v).lower() if isinstance(v, bool) else v for k, v in fields.items()}
    if how == "form-nested":
        data = {f"user[{k}]": v for k, v in data.items()}
    return client.put("/u/alice.json", data=data)


@pytest.mark.parametrize("how", ["json", "json-nested", "form", "form-nested"])
def test_the_member_corrects_names_and_the_newsletter_choice(app, users, member, how):
    alice = member(users["alice"])
    before = utcnow()
    r = put_as(alice, how, {"first_name": "Alicia", "last_name": "Smith-Jones", "newsletter": True})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.content_type == JSON_TYPE
    shown = r.get_json()["user"]
    assert (shown["first_name"], shown["last_name"], shown["newsletter"]) == (
        "Alicia",
        "Smith-Jones",
        True,
    )
    user = row(app, users["alice"])
    assert (user.first_name, user.last_name) == ("Alicia", "Smith-Jones")
    assert user.newsletter is True
    assert user.newsletter_consent_at is not None
    assert before - timedelta(seconds=1) <= user.newsletter_consent_at <= utcnow()
    assert user.names_locked is True
    assert profile_of(alice)["first_name"] == "Alicia"


def test_only_the_member_corrects_their_profile(app, client, users, member):
    before = snapshot(app, users["alice"])
    for who in (member(users["bob"]), member(users["mia"]), member(users["ada"])):
        refused(who.put("/u/alice.json", json={"first_name": "Hacked"}), 403)
    refused(client.put("/u/alice.json", json={"first_name": "Hacked"}), 403)
    assert snapshot(app, users["alice"]) == before


def test_a_correction_needs_the_csrf_token(app, users, member):
    alice = member(users["alice"])
    r = alice.client.put("/u/alice.json", json={"first_name": "Forged"})
    refused(r, 403)
    assert row(app, users["alice"]).first_name == "Alice"


@pytest.mark.parametrize(
    ("how", "fields"),
    [
        ("json", {"first_name": ["Alicia"]}),
        ("json", {"last_name": 5}),
        ("json", {"first_name": {"x": "y"}}),
        ("json", {"first_name": "x" * 300}),
        ("form", {"last_name": "y" * 300}),
        ("json", {"newsletter": "maybe"}),
        ("form", {"newsletter": "maybe"}),
        ("json", {"newsletter": ["true"]}),
        ("json", {"newsletter": None}),
        # The valid part of a bad request is not applied, nor recorded.
        ("json", {"first_name": "", "last_name": 5}),
        ("json", {"first_name": "", "newsletter": "maybe"}),
        ("json", {"email": "other@example.com"}),
    ],
)
def test_bad_values_are_refused_and_nothing_changes(app, users, member, ledger_file, how, fields):
    alice = member(users["alice"])
    before, lines = snapshot(app, users["alice"]), len(ledger(ledger_file))
    r = put_as(alice, how, fields)
    if fields == {"email": "other@example.com"}:
        # Not a field the member edits here: ignored or refused, never applied.
        assert r.status_code in (200, 422), r.get_data(as_text=True)
    else:
        refused(r, 422)
    assert snapshot(app, users["alice"]) == before
    assert ledger(ledger_file)[lines:] == []


def test_a_cleared_field_is_really_cleared_and_recorded_without_values(
    app, users, member, ledger_file
):
    alice = member(users["alice"])
    lines = len(ledger(ledger_file))

    r = alice.put("/u/alice.json", json={"first_name": ""})
    assert r.status_code == 200
    user = row(app, users["alice"])
    assert user.first_name == "" and user.last_name == "Tester"
    assert profile_of(alice)["first_name"] == ""
    assert profile_of(alice)["name"] == "Tester"

    # Whitespace only is cleared too.
    assert alice.put("/u/alice.json", data={"last_name": "  \t "}).status_code == 200
    assert row(app, users["alice"]).last_name == ""

    # A correction to another value, and a repeat of the same, remove nothing.
    assert alice.put("/u/alice.json", json={"first_name": "Al"}).status_code == 200
    assert alice.put("/u/alice.json", json={"first_name": "Al"}).status_code == 200

    new = ledger_since(ledger_file, lines)
    assert [e["fields"] for e in new] == [["first_name"], ["last_name"]]
    for entry in new:
        assert set(entry) == {"at", "kind", "user_id", "fields"}, entry
        assert entry["user_id"] == users["alice"]
        assert entry["kind"] and entry["at"]
    raw = Path(ledger_file).read_text()
    for value in ("Alice", "Tester", "alice@example.com", "alice"):
        assert value not in raw, value


def test_a_replaced_name_is_recorded_too(app, users, member, ledger_file):
    """A correction removes the earlier value just as clearing does: a restore must not
    bring "Alice" back (it re-applies the entry by clearing the field)."""
    alice = member(users["alice"])
    lines = len(ledger(ledger_file))
    assert alice.put("/u/alice.json", json={"first_name": "Ally"}).status_code == 200
    assert row(app, users["alice"]).first_name == "Ally"
    assert [e["fields"] for e in ledger_since(ledger_file, lines)] == [["first_name"]]
    assert "Alice" not in Path(ledger_file).read_text()


def test_clearing_both_names_records_both(app, users, member, ledger_file):
    alice = member(users["alice"])
    lines = len(ledger(ledger_file))
    r = alice.put("/u/alice.json", json={"first_name": "", "last_name": ""})
    assert r.status_code == 200
    user = row(app, users["alice"])
    assert (user.first_name, user.last_name) == ("", "")
    fields = [f for e in ledger_since(ledger_file, lines) for f in e["fields"]]
    assert sorted(fields) == ["first_name", "last_name"]


def test_a_cleared_name_stays_cleared_across_github_sign_ins(app, client, github, ledger_file):
    assert sign_in(client, github).status_code == 302
    first = by_github_id(app)
    assert (first.first_name, first.last_name) == ("Mona", "Lisa Octocat")

    # Until the member corrects them, names follow GitHub.
    github.user["name"] = "Monalisa Octocat"
    assert sign_in(client, github).status_code == 302
    assert (by_github_id(app).first_name, by_github_id(app).last_name) == ("Monalisa", "Octocat")

    csrf = client.get("/session/csrf.json").get_json()["csrf"]
    r = client.put("/u/octocat.json", json={"first_name": ""}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert by_github_id(app).first_name == ""

    github.user["name"] = "Someone Else Entirely"
    github.emails[:] = [{"email": "mona.new@example.com", "primary": True, "verified": True}]
    assert sign_in(client, github).status_code == 302
    after = by_github_id(app)
    assert after.first_name == ""  # stays cleared
    assert after.last_name == "Octocat"  # corrected names are the member's now
    assert after.email == "mona.new@example.com"  # the e-mail is still refreshed
    entries = [e for e in ledger(ledger_file) if e["user_id"] == first.id]
    assert entries and entries[-1]["fields"] == ["first_name"]


# ------------------------------------------------------------------ sign out everywhere


def test_sign_out_everywhere_ends_every_session(app, users, member):
    laptop, phone = member(users["alice"]), member(users["alice"])
    bob = member(users["bob"])
    for c in (laptop, phone, bob):
        assert current(c.client).status_code == 200

    r = laptop.post("/u/alice/sign-out-everywhere.json")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json() == {"success": "OK"}
    assert current(laptop.client).status_code == 404
    assert current(phone.client).status_code == 404
    # The session cookie the phone still holds is refused for writes too.
    r = phone.put("/u/alice.json", json={"first_name": "Phone"})
    assert r.status_code == 403
    assert row(app, users["alice"]).first_name == "Alice"
    # Other members are untouched, and alice can sign in again.
    assert current(bob.client).status_code == 200
    again = member(users["alice"])
    assert current(again.client).status_code == 200


def test_sign_out_everywhere_needs_csrf_and_is_the_members_own(app, client, users, member):
    laptop, phone = member(users["alice"]), member(users["alice"])
    url = "/u/alice/sign-out-everywhere.json"
    refused(laptop.client.post(url), 403)  # no CSRF token
    refused(member(users["bob"]).post(url), 403)
    refused(member(users["ada"]).post(url), 403)
    refused(client.post(url), 403)
    refused(member(users["bob"]).post("/u/nobody/sign-out-everywhere.json"), 404)
    assert current(laptop.client).status_code == 200
    assert current(phone.client).status_code == 200


def test_sign_out_everywhere_also_ends_remember_me(app, client, github):
    assert sign_in(client, github, remember="1").status_code == 302
    cookie = client.get_cookie(remember_cookie_name(app))
    assert cookie is not None
    remembered = app.test_client()
    remembered.set_cookie(remember_cookie_name(app), cookie.value)
    assert current(remembered).status_code == 200  # the cookie signs the member back in

    csrf = client.get("/session/csrf.json").get_json()["csrf"]
    r = client.post("/u/octocat/sign-out-everywhere.json", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.get_data(as_text=True)

    assert current(client).status_code == 404
    assert current(remembered).status_code == 404
    stolen = app.test_client()
    stolen.set_cookie(remember_cookie_name(app), cookie.value)
    assert current(stolen).status_code == 404
