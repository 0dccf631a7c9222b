"""The newsletter (P13), issue 5 part 4: off by default, opting in records the time, the
operator's list of recipients with unsubscribe URLs built from PUBLIC_URL, and a signed
unsubscribe link that works signed out: GET confirms, POST unsubscribes in one click
(RFC 8058); a bad token changes nothing and one member's token serves only them."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from flask import Flask
from itsdangerous import URLSafeSerializer
from sqlalchemy import select, update
from test_signin import FakeGitHub, sign_in

from forum.db import db
from forum.privacy.newsletter import unsubscribe_token
from forum.timeutil import utcnow
from forum.users.models import User

PUBLIC = "https://forum.example.org"
UNSUBSCRIBE = "/newsletter/unsubscribe"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeGitHub(rsps)


@pytest.fixture
def public_app(make_app) -> Iterator[Flask]:
    """The app as deployed at PUBLIC_URL (same database)."""
    made = make_app(PUBLIC_URL=PUBLIC)
    yield made
    with made.app_context():
        db.session.remove()
        db.engine.dispose()


def state(app: Flask, user_id: int) -> tuple[bool, Any]:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return user.newsletter, user.newsletter_consent_at


def subscribe(app: Flask, *user_ids: int) -> None:
    with app.app_context():
        db.session.execute(
            update(User)
            .where(User.id.in_(user_ids))
            .values(newsletter=True, newsletter_consent_at=utcnow())
        )
        db.session.commit()


def token_of(app: Flask, user_id: int) -> str:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return unsubscribe_token(user)


def ledger(path: str) -> list[dict[str, Any]]:
    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


def recipients(app: Flask) -> list[tuple[str, str]]:
    result = app.test_cli_runner().invoke(args=["forum", "newsletter-recipients"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line]
    pairs = []
    for line in lines:
        address, tab, url = line.partition("\t")
        assert tab and "\t" not in url, line
        pairs.append((address, url))
    return pairs


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def assert_page(r: Any, status: int) -> str:
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "text/html"
    return r.get_data(as_text=True)


# ---------------------------------------------------------------------- opt-in only


def test_off_by_default_for_a_new_member(app, client, github):
    assert sign_in(client, github).status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "octocat"))
        assert user is not None
        assert user.newsletter is False and user.newsletter_consent_at is None
    assert client.get("/u/octocat.json").get_json()["user"]["newsletter"] is False
    assert recipients(app) == []


def test_opting_in_records_the_time_and_opting_out_clears_it(app, users, member, ledger_file):
    alice = member(users["alice"])
    assert state(app, users["alice"]) == (False, None)
    before = utcnow()
    r = alice.put("/u/alice.json", json={"newsletter": True})
    assert r.status_code == 200, r.get_data(as_text=True)
    on, consent = state(app, users["alice"])
    assert on is True
    assert consent is not None and before - timedelta(seconds=1) <= consent <= utcnow()
    assert r.get_json()["user"]["newsletter_consent_at"]

    # Saying yes again keeps the original consent time.
    assert alice.put("/u/alice.json", json={"newsletter": True}).status_code == 200
    assert state(app, users["alice"]) == (True, consent)

    lines = len(ledger(ledger_file))
    assert alice.put("/u/alice.json", data={"newsletter": "false"}).status_code == 200
    assert state(app, users["alice"]) == (False, None)
    new = ledger(ledger_file)[lines:]
    assert [(e["user_id"], e["fields"]) for e in new] == [
        (users["alice"], ["newsletter_consent_at"])
    ]


# ----------------------------------------------------------------- recipients command


def test_recipients_lists_only_opted_in_addresses_with_public_urls(public_app, app, users):
    subscribe(app, users["alice"], users["ada"], users["mia"])
    with app.app_context():  # opted in, but no address to send to
        db.session.execute(update(User).where(User.id == users["mia"]).values(email=None))
        db.session.commit()

    pairs = recipients(public_app)
    assert sorted(address for address, _ in pairs) == ["ada@example.com", "alice@example.com"]
    urls = dict(pairs)
    for url in urls.values():
        assert url.startswith(f"{PUBLIC}{UNSUBSCRIBE}?token="), url
        assert parse_qs(urlsplit(url).query)["token"][0]
    assert urls["alice@example.com"] != urls["ada@example.com"]

    # Each URL unsubscribes exactly its own member, signed out.
    client = public_app.test_client()
    r = client.post(path_of(urls["alice@example.com"]))
    assert_page(r, 200)
    assert state(app, users["alice"])[0] is False
    assert state(app, users["ada"])[0] is True
    assert [a for a, _ in recipients(public_app)] == ["ada@example.com"]


# ---------------------------------------------------------------- the unsubscribe link


def test_get_asks_to_confirm_and_changes_nothing(app, client, users, ledger_file):
    subscribe(app, users["alice"])
    before, lines = state(app, users["alice"]), len(ledger(ledger_file))
    token = token_of(app, users["alice"])

    text = assert_page(client.get(UNSUBSCRIBE, query_string={"token": token}), 200)
    form = re.search(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", text, re.S | re.I)
    assert form is not None, text
    field = re.search(r'name="token" value="([^"]+)"', form.group(1))
    assert field is not None and html.unescape(field.group(1)) == token
    assert state(app, users["alice"]) == before  # still subscribed
    assert len(ledger(ledger_file)) == lines

    # Submitting the confirmation form, as a browser would, unsubscribes.
    action = re.search(r'action="([^"]+)"', form.group(0))
    target = html.unescape(action.group(1)) if action else UNSUBSCRIBE
    r = client.post(target, data={"token": html.unescape(field.group(1))})
    assert "unsubscribed" in assert_page(r, 200).lower()
    assert state(app, users["alice"]) == (False, None)


def test_post_unsubscribes_signed_out_and_records_it(app, client, users, ledger_file):
    subscribe(app, users["alice"], users["bob"])
    lines = len(ledger(ledger_file))
    r = client.post(UNSUBSCRIBE, data={"token": token_of(app, users["alice"])})
    assert "unsubscribed" in assert_page(r, 200).lower()
    assert state(app, users["alice"]) == (False, None)
    assert state(app, users["bob"])[0] is True
    new = ledger(ledger_file)[lines:]
    assert len(new) == 1
    assert set(new[0]) == {"at", "kind", "user_id", "fields"}
    assert new[0]["user_id"] == users["alice"]
    assert new[0]["fields"] == ["newsletter_consent_at"]

    # A second click is harmless and records nothing more.
    r = client.post(UNSUBSCRIBE, data={"token": token_of(app, users["alice"])})
    assert_page(r, 200)
    assert state(app, users["alice"]) == (False, None)
    assert len(ledger(ledger_file)) == lines + 1


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_one_click_unsubscribe_rfc_8058(app, client, users, content_type):
    subscribe(app, users["alice"])
    token = token_of(app, users["alice"])
    r = client.post(
        UNSUBSCRIBE,
        query_string={"token": token},
        data={"List-Unsubscribe": "One-Click"},
        content_type=content_type,
    )
    assert_page(r, 200)
    assert state(app, users["alice"]) == (False, None)


def test_one_click_with_the_raw_body(app, client, users):
    subscribe(app, users["alice"])
    token = token_of(app, users["alice"])
    r = client.post(
        f"{UNSUBSCRIBE}?token={token}",
        data=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_page(r, 200)
    assert state(app, users["alice"])[0] is False


def _tampered(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("kind", ["tampered", "missing", "empty", "garbage", "other_key"])
def test_a_bad_token_is_refused_and_nothing_changes(app, client, users, ledger_file, method, kind):
    subscribe(app, users["alice"])
    before, lines = state(app, users["alice"]), len(ledger(ledger_file))
    good = token_of(app, users["alice"])
    token = {
        "tampered": _tampered(good),
        "missing": None,
        "empty": "",
        "garbage": "not-a-token",
        # The right shape for alice, signed with a key that is not the forum's.
        "other_key": URLSafeSerializer(
            "not-the-secret", salt="parlor.newsletter.unsubscribe"
        ).dumps({"u": users["alice"]}),
    }[kind]
    query = {} if token is None else {"token": token}
    if method == "GET":
        r = client.get(UNSUBSCRIBE, query_string=query)
    else:
        r = client.post(UNSUBSCRIBE, data=query)
    text = assert_page(r, 400)
    assert "not valid" in text.lower()
    assert 'name="token"' not in text  # no unsubscribe form
    assert state(app, users["alice"]) == before
    assert len(ledger(ledger_file)) == lines


def test_one_members_token_does_not_unsubscribe_another(app, client, users, member):
    subscribe(app, users["alice"], users["bob"])
    alice_token = token_of(app, users["alice"])
    assert alice_token != token_of(app, users["bob"])
    # Even used by bob himself, signed in, alice's token is about alice only.
    bob = member(users["bob"])
    assert_page(bob.post(UNSUBSCRIBE, data={"token": alice_token}), 200)
    assert_page(client.post(UNSUBSCRIBE, data={"token": alice_token}), 200)
    assert state(app, users["bob"])[0] is True
    assert state(app, users["alice"])[0] is False
