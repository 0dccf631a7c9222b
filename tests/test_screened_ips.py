"""Screened IPs (issue 4 §4): admins block an address or a CIDR range from posting and from
signing in; the blocked get a clear 403; matches are counted; entries are listed, added
and removed through `/admin/screened-ips.json`, by admins only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from helpers import JSON_TYPE, at, ok
from sqlalchemy import func, select

from forum.content.models import Post, PostEdit
from forum.db import db
from forum.moderation.models import ScreenedIP

TITLE = "A topic from somewhere on the internet"
RAW = "A post that is long enough to be accepted by the forum."
FARM = "198.51.100.0/24"


def refused(response: Any, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == JSON_TYPE
    body = response.get_json()
    assert set(body) == {"errors", "error_type"}, body
    assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"])
    return " ".join(body["errors"])


@pytest.fixture
def topic_id(alice, category_id):
    first = alice.post(
        "/posts.json", json={"title": TITLE, "raw": RAW, "category": category_id}, **at("192.0.2.9")
    )
    return ok(first)["topic_id"]


def screen(who: Any, ip_address: str, reason: str = "spam farm", **kwargs: Any) -> Any:
    return who.post(
        "/admin/screened-ips.json", data={"ip_address": ip_address, "reason": reason}, **kwargs
    )


def listed(who: Any) -> dict[str, dict[str, Any]]:
    return {e["ip_address"]: e for e in ok(who.get("/admin/screened-ips.json"))["screened_ips"]}


def reply(who: Any, topic_id: int, ip: str) -> Any:
    return who.post("/posts.json", json={"topic_id": topic_id, "raw": RAW}, **at(ip))


def post_count(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Post.id)))


def assert_blocked(response: Any) -> None:
    message = refused(response, 403)
    assert "IP address is blocked" in message, message


# --- adding and listing -------------------------------------------------------------------


def test_an_admin_adds_a_range_and_sees_it_listed(app, users, ada):
    entry = ok(screen(ada, FARM, "a spam farm"))["screened_ip"]
    assert entry["ip_address"] == FARM
    assert entry["reason"] == "a spam farm"
    assert entry["action_name"] == "block"
    assert entry["match_count"] == 0 and entry["last_match_at"] is None
    assert isinstance(entry["id"], int)
    shown = listed(ada)
    assert shown[FARM] == entry


def test_a_single_address_and_a_host_inside_a_range_are_normalised(app, users, ada):
    assert ok(screen(ada, "192.0.2.66"))["screened_ip"]["ip_address"] == "192.0.2.66/32"
    assert ok(screen(ada, "203.0.113.77/24"))["screened_ip"]["ip_address"] == "203.0.113.0/24"
    assert ok(screen(ada, "2001:DB8:BAD::1/48"))["screened_ip"]["ip_address"] == "2001:db8:bad::/48"
    mapped = ok(screen(ada, "::ffff:100.64.0.0/112"))["screened_ip"]
    assert mapped["ip_address"] == "100.64.0.0/16"
    assert set(listed(ada)) == {
        "192.0.2.66/32",
        "203.0.113.0/24",
        "2001:db8:bad::/48",
        "100.64.0.0/16",
    }


def test_adding_as_json_works_too(app, users, ada):
    body = {"ip_address": "192.0.2.0/28", "reason": "sent as JSON"}
    assert ok(ada.post("/admin/screened-ips.json", json=body))["screened_ip"]["reason"] == (
        "sent as JSON"
    )


@pytest.mark.parametrize("same", [FARM, "198.51.100.200/24", "::ffff:198.51.100.0/120"])
def test_a_duplicate_is_a_422(app, users, ada, same):
    ok(screen(ada, FARM))
    assert "already screened" in refused(screen(ada, same), 422)
    with app.app_context():
        assert db.session.scalar(select(func.count(ScreenedIP.id))) == 1


@pytest.mark.parametrize(
    ("ip_address", "reason"),
    [
        ("not an address", "spam"),
        ("198.51.100.0/33", "spam"),
        ("2001:db8::zz", "spam"),
        ("", "spam"),
        ("   ", "spam"),
        ("198.51.100.0/24", "x" * 501),
    ],
)
def test_garbage_is_a_422_and_screens_nothing(app, users, ada, ip_address, reason):
    refused(screen(ada, ip_address, reason), 422)
    with app.app_context():
        assert db.session.scalar(select(func.count(ScreenedIP.id))) == 0


def test_missing_ip_address_is_a_422(app, users, ada):
    refused(ada.post("/admin/screened-ips.json", data={"reason": "nothing to block"}), 422)


def test_the_list_as_csv_defuses_formulas(app, users, ada):
    ok(screen(ada, FARM, '=HYPERLINK("http://evil.example")'))
    response = ada.get("/admin/screened-ips.csv")
    assert response.status_code == 200
    assert response.content_type.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "ip_address", "action_name", "reason", "match_count", "last_match_at"]
    assert rows[1][1:5] == [FARM, "block", '\'=HYPERLINK("http://evil.example")', "0"]
    assert len(rows) == 2


# --- blocking -----------------------------------------------------------------------------


def test_posting_from_inside_a_blocked_range_is_refused_and_counted(
    app, users, alice, ada, topic_id
):
    entry = ok(screen(ada, FARM))["screened_ip"]
    before = post_count(app)
    assert_blocked(reply(alice, topic_id, "198.51.100.7"))
    assert_blocked(reply(alice, topic_id, "198.51.100.255"))
    assert post_count(app) == before
    shown = listed(ada)[FARM]
    assert shown["id"] == entry["id"]
    assert shown["match_count"] == 2
    assert shown["last_match_at"] is not None
    # Next door is not blocked, and counts nothing.
    ok(reply(alice, topic_id, "198.51.101.7"))
    ok(reply(alice, topic_id, "198.51.99.255"))
    assert listed(ada)[FARM]["match_count"] == 2
    assert post_count(app) == before + 2


def test_a_new_topic_and_an_edit_from_a_blocked_address_are_refused(
    app, users, alice, ada, topic_id, category_id
):
    ok(screen(ada, "192.0.2.66"))
    new = alice.post(
        "/posts.json",
        json={"title": TITLE + " again", "raw": RAW, "category": category_id},
        **at("192.0.2.66"),
    )
    assert_blocked(new)
    with app.app_context():
        first = db.session.scalar(select(Post.id).where(Post.topic_id == topic_id))
    edit = alice.put(
        f"/posts/{first}.json", json={"post": {"raw": RAW + " Edited."}}, **at("192.0.2.66")
    )
    assert_blocked(edit)
    with app.app_context():
        assert db.session.scalar(select(func.count(PostEdit.id))) == 0
        assert db.session.get(Post, first).raw == RAW
    assert listed(ada)["192.0.2.66/32"]["match_count"] == 2
    ok(reply(alice, topic_id, "192.0.2.67"))


def test_an_ipv6_range_blocks_ipv6_clients(app, users, alice, ada, topic_id):
    ok(screen(ada, "2001:db8:bad::/48"))
    assert_blocked(reply(alice, topic_id, "2001:db8:bad:1::5"))
    assert_blocked(reply(alice, topic_id, "2001:db8:bad:ffff:ffff:ffff:ffff:ffff"))
    ok(reply(alice, topic_id, "2001:db8:bad0::1"))
    ok(reply(alice, topic_id, "2001:db8:bac:ffff::1"))
    assert listed(ada)["2001:db8:bad::/48"]["match_count"] == 2


def test_an_ipv4_client_seen_as_a_mapped_ipv6_address_is_blocked_too(
    app, users, alice, ada, topic_id
):
    ok(screen(ada, FARM))
    assert_blocked(reply(alice, topic_id, "::ffff:198.51.100.9"))


def test_an_ipv4_range_does_not_block_ipv6_and_vice_versa(app, users, alice, ada, topic_id):
    ok(screen(ada, "0.0.0.0/1"))  # half of IPv4
    ok(reply(alice, topic_id, "::1:0:0:1"))
    ok(reply(alice, topic_id, "2001:db8::1"))
    assert_blocked(reply(alice, topic_id, "10.1.2.3"))


def test_staff_are_blocked_too(app, users, mia, ada, topic_id):
    ok(screen(ada, FARM))
    assert_blocked(reply(mia, topic_id, "198.51.100.1"))
    assert_blocked(reply(ada, topic_id, "198.51.100.2"))


# --- signing in from a blocked address -----------------------------------------------------


@pytest.fixture
def no_github() -> Iterator[responses.RequestsMock]:
    """GitHub is never to be reached from a blocked address: any call to it fails loudly."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def test_signing_in_from_a_blocked_address_is_a_403_page(app, users, ada, no_github):
    ok(screen(ada, FARM))
    browser = app.test_client()
    page = browser.get("/auth/github/login", **at("198.51.100.50"))
    assert page.status_code == 403
    assert page.content_type.startswith("text/html")
    text = page.get_data(as_text=True)
    assert 'data-failure="ip_blocked"' in text
    assert "IP address is blocked" in text
    assert "Location" not in page.headers
    assert listed(ada)[FARM]["match_count"] == 1
    # From elsewhere the sign-in starts (a redirect to GitHub).
    assert browser.get("/auth/github/login", **at("203.0.113.50")).status_code == 302
    assert len(no_github.calls) == 0


def test_the_callback_from_a_blocked_address_is_refused_before_github_is_asked(
    app, users, ada, no_github
):
    browser = app.test_client()
    start = browser.get("/auth/github/login", **at("203.0.113.50"))
    assert start.status_code == 302
    state = start.headers["Location"].split("state=", 1)[1].split("&", 1)[0]
    ok(screen(ada, "2001:db8:bad::/48"))
    page = browser.get(f"/auth/github/callback?code=abc123&state={state}", **at("2001:db8:bad::77"))
    assert page.status_code == 403
    assert 'data-failure="ip_blocked"' in page.get_data(as_text=True)
    assert len(no_github.calls) == 0
    assert browser.get("/session/current.json").status_code == 404


# --- removing -----------------------------------------------------------------------------


def test_delete_by_id_in_the_path_unblocks(app, users, alice, ada, topic_id):
    entry = ok(screen(ada, FARM))["screened_ip"]
    assert_blocked(reply(alice, topic_id, "198.51.100.7"))
    assert ok(ada.delete(f"/admin/screened-ips/{entry['id']}.json")) == {"success": "OK"}
    assert listed(ada) == {}
    ok(reply(alice, topic_id, "198.51.100.7"))
    refused(ada.delete(f"/admin/screened-ips/{entry['id']}.json"), 404)


def test_delete_by_id_parameter_unblocks(app, users, alice, ada, topic_id):
    keep = ok(screen(ada, "192.0.2.66"))["screened_ip"]
    entry = ok(screen(ada, FARM))["screened_ip"]
    assert ok(ada.delete(f"/admin/screened-ips.json?id={entry['id']}")) == {"success": "OK"}
    assert set(listed(ada)) == {keep["ip_address"]}
    ok(reply(alice, topic_id, "198.51.100.7"))
    assert ok(ada.delete("/admin/screened-ips.json", json={"id": keep["id"]})) == {"success": "OK"}
    assert listed(ada) == {}


def test_delete_without_or_with_a_bad_id(app, users, ada):
    ok(screen(ada, FARM))
    refused(ada.delete("/admin/screened-ips.json"), 422)
    refused(ada.delete("/admin/screened-ips.json?id=abc"), 422)
    refused(ada.delete("/admin/screened-ips.json?id=987654"), 404)
    assert set(listed(ada)) == {FARM}


def test_after_removal_the_same_range_can_be_added_again(app, users, ada):
    entry = ok(screen(ada, FARM))["screened_ip"]
    ok(ada.delete(f"/admin/screened-ips/{entry['id']}.json"))
    assert ok(screen(ada, FARM))["screened_ip"]["match_count"] == 0


# --- admins only --------------------------------------------------------------------------


def test_moderators_and_members_cannot_read_add_or_remove(app, users, alice, mia, ada):
    entry = ok(screen(ada, FARM))["screened_ip"]
    for who in (mia, alice, app.test_client()):
        refused(who.get("/admin/screened-ips.json"), 403)
        assert who.get("/admin/screened-ips.csv").status_code == 403
        refused(screen(who, "203.0.113.0/24"), 403)
        refused(who.delete(f"/admin/screened-ips/{entry['id']}.json"), 403)
        refused(who.delete(f"/admin/screened-ips.json?id={entry['id']}"), 403)
    assert set(listed(ada)) == {FARM}


def test_adding_without_the_csrf_token_is_refused(app, users, ada):
    response = ada.client.post(
        "/admin/screened-ips.json", data={"ip_address": FARM, "reason": "no token"}
    )
    assert "BAD CSRF" in refused(response, 403)
    assert listed(ada) == {}
