"""End to end over real HTTP: a live Parlor server and the GitHub emulator in its own
process, driven like a script (or a browser without JavaScript) would drive them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from live import (
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    csrf,
    emulator_process,
    free_port,
    sign_in_http,
)
from sqlalchemy import func, select
from werkzeug.serving import make_server

from forum.content.models import Post, PostEdit
from forum.db import db
from forum.users.models import SignInEvent, User

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with emulator_process() as url:
        yield url


@pytest.fixture(scope="module")
def live(app, make_app, emulator) -> Iterator[tuple[str, object]]:
    """Parlor served over HTTP on a free port, signing in through the emulator."""
    parlor = make_app(
        GITHUB_URL=emulator,
        GITHUB_API_URL=emulator,
        GITHUB_CLIENT_ID=EMULATOR_CLIENT_ID,
        GITHUB_CLIENT_SECRET=EMULATOR_CLIENT_SECRET,
    )
    port = free_port()
    server = make_server("127.0.0.1", port, parlor, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", parlor
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_sign_in_post_reply_like_with_ips(live, category_id):
    base, parlor = live
    octo = sign_in_http(base, "octocat")
    me = octo.get(f"{base}/session/current.json", timeout=10)
    assert me.status_code == 200
    assert me.headers["Content-Type"] == "application/json; charset=utf-8"
    assert me.json()["current_user"]["username"] == "octocat"
    assert "octocat@example.com" not in me.text

    token = csrf(octo, base)
    r = octo.post(
        f"{base}/posts.json",
        data={
            "title": "Hello from the end-to-end test",
            "raw": "A first post, long enough.",
            "category": str(category_id),
            "authenticity_token": token,
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    topic_id = r.json()["topic_id"]

    mona = sign_in_http(base, "mona")
    r = mona.post(
        f"{base}/posts.json",
        json={"topic_id": topic_id, "raw": "A reply from the moderator, also long."},
        headers={"X-CSRF-Token": csrf(mona, base)},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    reply_id = r.json()["id"]
    r = octo.post(
        f"{base}/post_actions.json",
        json={"id": reply_id, "post_action_type_id": 2},
        headers={"X-CSRF-Token": token},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["actions_summary"][0]["count"] == 1

    r = octo.put(
        f"{base}/posts/{reply_id}.json",
        data={"post[raw]": "Octocat may not edit this reply of mona's."},
        headers={"X-CSRF-Token": token},
        timeout=10,
    )
    assert r.status_code == 403

    topic = requests.get(f"{base}/t/{topic_id}.json", timeout=10)  # signed out (P4)
    assert topic.status_code == 200
    posts = topic.json()["post_stream"]["posts"]
    assert [p["username"] for p in posts] == ["octocat", "mona"]
    assert "127.0.0.1" not in topic.text

    page = requests.get(f"{base}/t/{posts[0]['topic_slug']}/{topic_id}", timeout=10)
    assert page.status_code == 200 and "Hello from the end-to-end test" in page.text

    with parlor.app_context():
        ips = db.session.scalars(select(Post.ip).where(Post.topic_id == topic_id)).all()
        assert [str(ip) for ip in ips] == ["127.0.0.1", "127.0.0.1"]
        octocat = db.session.scalar(select(User).where(User.username == "octocat"))
        assert octocat.github_id == 583231
        assert octocat.email == "octocat@example.com"
        assert (octocat.first_name, octocat.last_name) == ("The", "Octocat")
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(SignInEvent)
                .where(SignInEvent.user_id == octocat.id)
            )
            == 1
        )


def test_edit_records_its_own_ip(live, category_id):
    base, parlor = live
    octo = sign_in_http(base, "octocat")
    token = csrf(octo, base)
    r = octo.post(
        f"{base}/posts.json",
        headers={"X-CSRF-Token": token},
        timeout=10,
        json={
            "title": "A topic to be edited soon",
            "raw": "Original text of it.",
            "category": category_id,
        },
    )
    post_id = r.json()["id"]
    r = octo.put(
        f"{base}/posts/{post_id}.json",
        headers={"X-CSRF-Token": token},
        timeout=10,
        json={"post": {"raw": "Edited text of the post.", "edit_reason": "typo"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["post"]["version"] == 2
    with parlor.app_context():
        edit = db.session.scalar(select(PostEdit).where(PostEdit.post_id == post_id))
        assert str(edit.ip) == "127.0.0.1" and edit.raw_before == "Original text of it."


def test_unverified_email_is_refused_and_nothing_stored(live):
    base, parlor = live
    browser = requests.Session()
    r = browser.get(f"{base}/auth/github/login", params={"login": "noverify"}, timeout=10)
    assert r.status_code == 403
    assert "not verified" in r.text
    assert browser.get(f"{base}/session/current.json", timeout=10).status_code == 404
    with parlor.app_context():
        assert db.session.scalar(select(User).where(User.github_id == 7654321)) is None
        assert db.session.scalar(select(func.count()).select_from(SignInEvent)) == 0


def test_browser_picks_account_on_the_emulator_page(live):
    """Without a login hint the emulator shows its picker; approving signs in, denying not."""
    base, _ = live
    browser = requests.Session()
    r = browser.get(
        f"{base}/auth/github/login",
        params={"next": "/latest.json"},
        timeout=10,
        allow_redirects=True,
    )
    assert r.status_code == 200 and "octocat" in r.text  # the emulator's picker
    authorize = urlsplit(r.url)
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}

    denied = browser.post(r.url.split("?")[0], data={**query, "decision": "deny"}, timeout=10)
    assert denied.status_code == 403 and "did not allow" in denied.text
    assert browser.get(f"{base}/session/current.json", timeout=10).status_code == 404

    # The denied attempt used up its state: start again and approve.
    r = browser.get(f"{base}/auth/github/login", params={"next": "/latest.json"}, timeout=10)
    query = {k: v[0] for k, v in parse_qs(urlsplit(r.url).query).items()}
    approved = browser.post(
        r.url.split("?")[0], data={**query, "login": "renee", "decision": "approve"}, timeout=10
    )
    assert approved.status_code == 200
    assert approved.url == f"{base}/latest.json"
    me = browser.get(f"{base}/session/current.json", timeout=10).json()["current_user"]
    assert me["username"] == "renee" and me["name"] == "Renée Øster-Ålund"


def test_emulator_sets_no_cookie_so_parlor_session_survives(live, emulator):
    base, _ = live
    browser = sign_in_http(base, "hubot")
    assert {c.name for c in browser.cookies} == {"session"}
    assert requests.get(f"{emulator}/avatars/hubot.png", timeout=10).cookies.get_dict() == {}


def test_avatar_is_served_by_parlor_not_github(live, emulator):
    base, _ = live
    browser = sign_in_http(base, "octocat")
    template = browser.get(f"{base}/session/current.json", timeout=10).json()["current_user"][
        "avatar_template"
    ]
    assert "{size}" in template and template.startswith("/user_avatar/")
    r = requests.get(base + template.replace("{size}", "90"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")
    assert emulator not in browser.get(f"{base}/t/1.json", timeout=10).text
