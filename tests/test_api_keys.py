"""API keys (P14): shown once, stored only as a SHA-256 hash and a prefix; `Api-Key` and
`Api-Username` authenticate without CSRF; single-user and all-users keys; revocation."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from auth.api_keys import ApiKey
from forum.content.models import Post
from forum.db import db
from forum.users.models import User


def create(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["forum", "api-key", "create", *args])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert len(key) == 64
    return key


def headers(key: str, username: str | None = None) -> dict[str, str]:
    sent = {"Api-Key": key}
    if username:
        sent["Api-Username"] = username
    return sent


def every_stored_value(app) -> str:
    with app.app_context():
        text = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                text.extend(str(v) for v in row)
        return "\n".join(text)


def test_the_key_is_shown_once_and_only_its_hash_is_kept(app, users):
    key = create(app, "alice", "--description", "my bot")
    stored = every_stored_value(app)
    assert key not in stored
    assert hashlib.sha256(key.encode()).hexdigest() in stored
    with app.app_context():
        record = db.session.scalar(select(ApiKey))
        assert (record.prefix, record.description, record.user_id) == (
            key[:4],
            "my bot",
            users["alice"],
        )


def test_a_key_signs_requests_in_without_csrf(app, client, users, category_id):
    key = create(app, "alice")
    me = client.get("/session/current.json", headers=headers(key, "alice"))
    assert me.status_code == 200 and me.get_json()["current_user"]["username"] == "alice"
    r = client.post(
        "/posts.json",
        headers=headers(key, "alice"),
        data={
            "title": "Posted through an API key",
            "raw": "A body that is long enough.",
            "category": category_id,
        },
        environ_base={"REMOTE_ADDR": "198.51.100.40"},
    )
    assert r.status_code == 200, r.get_json()
    # The author's card, although the key's member was loaded without the avatar version.
    assert r.get_json()["avatar_template"] == "/letter_avatar/alice/{size}.svg"
    with app.app_context():
        post = db.session.get(Post, r.get_json()["id"])
        assert post.user_id == users["alice"] and str(post.ip) == "198.51.100.40"
        assert db.session.scalar(select(ApiKey.last_used_at)) is not None
    # Without Api-Username a single-user key still acts as its member.
    assert client.get("/session/current.json", headers=headers(key)).status_code == 200


def test_a_single_user_key_acts_only_as_its_member(app, client, users):
    key = create(app, "alice")
    r = client.get("/session/current.json", headers=headers(key, "bob"))
    assert r.status_code == 403 and r.get_json()["error_type"] == "invalid_access"


def test_an_all_users_key_acts_as_the_named_member(app, client, users, category_id):
    key = create(app, "ada", "--all-users")
    for name in ("bob", "alice", "ada"):
        r = client.get("/session/current.json", headers=headers(key, name))
        assert r.get_json()["current_user"]["username"] == name
    assert client.get("/session/current.json", headers=headers(key, "nobody")).status_code == 403
    assert client.get("/session/current.json", headers=headers(key)).status_code == 403
    # Losing admin takes the key's power with it.
    with app.app_context():
        db.session.get(User, users["ada"]).role = "member"
        db.session.commit()
    assert client.get("/session/current.json", headers=headers(key, "bob")).status_code == 403


def test_only_admins_hold_all_users_keys(app, users):
    result = app.test_cli_runner().invoke(
        args=["forum", "api-key", "create", "alice", "--all-users"]
    )
    assert result.exit_code != 0 and "only an admin" in result.output
    result = app.test_cli_runner().invoke(args=["forum", "api-key", "create", "nobody"])
    assert result.exit_code != 0


@pytest.mark.parametrize("bad", ["0" * 64, "not-a-key", "x" * 500])
def test_a_wrong_key_is_refused_even_for_reads(app, client, users, bad):
    r = client.get("/latest.json", headers=headers(bad, "alice"))
    assert r.status_code == 403 and r.get_json()["error_type"] == "invalid_access"


def test_revoked_keys_stop_working(app, client, users):
    key = create(app, "alice")
    result = app.test_cli_runner().invoke(args=["forum", "api-key", "revoke", key[:4]])
    assert result.exit_code == 0, result.output
    assert client.get("/session/current.json", headers=headers(key)).status_code == 403
    again = app.test_cli_runner().invoke(args=["forum", "api-key", "revoke", key[:4]])
    assert again.exit_code != 0 and "no active key" in again.output


def test_cookie_writes_still_need_csrf(app, users, member, category_id):
    alice = member(users["alice"])
    r = alice.client.post(
        "/posts.json",
        json={
            "title": "A cookie write with no token",
            "raw": "Long enough body text here.",
            "category": category_id,
        },
    )
    assert r.status_code == 403


def test_erasure_deletes_the_members_keys(app, client, users, member):
    key = create(app, "bob")
    bob = member(users["bob"])
    assert bob.delete("/u/bob.json", json={"confirm": "bob"}).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(ApiKey)) is None
    assert client.get("/session/current.json", headers=headers(key)).status_code == 403
