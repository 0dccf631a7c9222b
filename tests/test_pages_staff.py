"""The moderator's desk as pages (issue 8 §1, P8): the IP and CIDR lookup with links
between its results, a post's IP, an account's IP report with the accounts sharing its
addresses, suspending, and for admins the audit log and screened IPs. Every look is
recorded exactly as the JSON routes record it; members and visitors see nothing."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_user
from flask import Flask
from helpers import at, ok
from page_html import check_accessible, form, forms, submit, text
from sqlalchemy import func, select

from forum.content import posting
from forum.content.models import Topic
from forum.db import db
from forum.moderation.models import AuditEntry, ScreenedIP
from forum.net import parse_ip
from forum.users.models import SignInEvent, User

RAW = "A post that is long enough to be accepted by the forum."
A4, B4 = "203.0.113.5", "203.0.113.9"  # alice and bob, one /24
A6, B6 = "2001:db8:1:2::a", "2001:db8:1:2::b"  # alice and bob, one /64
SHARED = "198.51.100.20"  # alice's edit and carol's reply
SIGN_IN = "192.0.2.50"  # alice signs in from here
STAFF_AT = "192.0.2.200"  # where the moderators sit
EVERY_IP = (A4, B4, A6, B6, SHARED, SIGN_IN)


@pytest.fixture
def scene(app, users, member, category_id) -> dict[str, Any]:
    """alice: a topic (A4), a reply (A6), an edit (SHARED), a sign-in (SIGN_IN);
    bob: replies from B4 and B6; carol: a reply from SHARED."""
    with app.app_context():
        carol = make_user("carol").id
    alice, bob, carol_c = member(users["alice"]), member(users["bob"]), member(carol)
    first = ok(
        alice.post(
            "/posts.json",
            json={"title": "Where do the moderators meet?", "raw": RAW, "category": category_id},
            **at(A4),
        )
    )
    topic_id = first["topic_id"]

    def reply(who: Any, ip: str) -> int:
        return ok(who.post("/posts.json", json={"topic_id": topic_id, "raw": RAW}, **at(ip)))["id"]

    posts = {"a_topic": first["id"], "a6": reply(alice, A6)}
    posts.update(b4=reply(bob, B4), b6=reply(bob, B6), c_shared=reply(carol_c, SHARED))
    edited = alice.put(
        f"/posts/{first['id']}.json", json={"post": {"raw": RAW + " Edited."}}, **at(SHARED)
    )
    ok(edited)
    with app.app_context():
        db.session.add(SignInEvent(user_id=users["alice"], ip=parse_ip(SIGN_IN), user_agent="x"))
        db.session.commit()
        slug = db.session.get(Topic, topic_id).slug
    return {"posts": posts, "topic": topic_id, "slug": slug, "carol": carol}


def page(who: Any, url: str, status: int = 200, **kwargs: Any) -> str:
    r = who.get(url, **kwargs)
    assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:1500])
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    check_accessible(html)
    return html


def audit(app: Flask) -> list[tuple[Any, ...]]:
    """Every entry, oldest first: (actor, action, subject user, type, id, details, actor IP)."""
    with app.app_context():
        return [
            (
                e.actor_id,
                e.action,
                e.subject_user_id,
                e.subject_type,
                e.subject_id,
                e.details,
                str(e.actor_ip) if e.actor_ip else None,
            )
            for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def entries_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEntry.id)))


def suspended_until(app: Flask, name: str) -> Any:
    with app.app_context():
        return db.session.scalar(select(User.suspended_until).where(User.username_lower == name))


# --- who may open what --------------------------------------------------------------------

STAFF_PAGES = (
    "/admin",
    "/admin/ip-lookup",
    f"/admin/ip-lookup?q={A4}",
    "/admin/users?username=alice",
    "/admin/users/alice",
)
ADMIN_PAGES = ("/admin/audit-log", "/admin/screened-ips")


def staff_urls(scene: dict[str, Any]) -> list[str]:
    return [*STAFF_PAGES, f"/admin/posts/{scene['posts']['a_topic']}/ip"]


def staff_posts(app: Flask) -> list[tuple[str, dict[str, str]]]:
    with app.app_context():
        entry = ScreenedIP(
            cidr="100.64.0.0/10",
            first_ip=parse_ip("100.64.0.0"),
            last_ip=parse_ip("100.127.255.255"),
            reason="cgnat",
        )
        db.session.add(entry)
        db.session.commit()
        entry_id = entry.id
    return [
        ("/admin/users/alice/suspend", {"reason": "spam", "days": "3"}),
        ("/admin/users/alice/unsuspend", {}),
        ("/admin/screened-ips/add", {"ip_address": "192.0.2.0/24", "reason": "spam"}),
        (f"/admin/screened-ips/{entry_id}/delete", {}),
    ]


def test_the_walks_below_cover_every_staff_page(app, scene):
    adapter = app.url_map.bind("localhost")
    gets = {adapter.match(u.split("?")[0])[0] for u in (*staff_urls(scene), *ADMIN_PAGES)}
    posts = {adapter.match(u, "POST")[0] for u, _ in staff_posts(app)}
    pages = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("web.") and r.rule.startswith("/admin")
    }
    assert gets | posts == pages


@pytest.mark.parametrize("who", ["visitor", "bob"])
def test_visitors_and_members_get_nothing_from_the_desk(app, scene, member, users, who):
    client = app.test_client() if who == "visitor" else member(users["bob"])
    posts = staff_posts(app)
    before = (audit(app), sorted_screened(app), suspended_until(app, "alice"))
    for url in (*staff_urls(scene), *ADMIN_PAGES):
        html = page(client, url, 403)
        words = text(html)
        if who == "visitor":
            assert "Continue with GitHub" in words, url
        elif url in ADMIN_PAGES:
            assert "Only admins can see this page." in words, url
        else:
            assert "Only moderators and admins can see this page." in words, url
        shown = words.replace(A4, "") if "q=" in url else words  # the asked query, echoed
        for ip in EVERY_IP:
            assert ip not in shown, (url, ip)
        assert "alice@example.com" not in html
    for url, data in posts:
        if who == "visitor":
            r = client.post(url, data=data)
        else:
            r = client.client.post(url, data={**data, "authenticity_token": client.csrf})
        assert r.status_code == 403, (url, r.status_code)
    assert (audit(app), sorted_screened(app), suspended_until(app, "alice")) == before


def sorted_screened(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(ScreenedIP.cidr)))


def test_moderators_get_the_desk_but_not_the_admin_pages(app, scene, mia):
    posts = staff_posts(app)
    for url in ADMIN_PAGES:
        assert "Only admins can see this page." in text(page(mia, url, 403))
    before = (entries_count(app), sorted_screened(app))
    for url, data in posts[2:]:
        r = mia.client.post(url, data={**data, "authenticity_token": mia.csrf})
        assert r.status_code == 403, url
    assert (entries_count(app), sorted_screened(app)) == before
    desk = page(mia, "/admin")
    assert 'href="/admin/audit-log"' not in desk and 'href="/admin/screened-ips"' not in desk


def test_the_desk_offers_the_lookups_and_for_admins_the_log(scene, mia, ada):
    html = page(mia, "/admin")
    lookup = form(html, "/admin/ip-lookup")
    assert lookup.method == "get" and "q" in lookup.fields
    assert lookup.buttons == ["Look up"]
    report = form(html, "/admin/users")
    assert report.buttons == ["Show IP report"]
    assert '<label for="lookup-q">IP address or CIDR range</label>' in html
    assert '<label for="report-username">Username</label>' in html
    assert 'href="/admin"' in html  # the header's "Staff desk"
    admin = page(ada, "/admin")
    assert 'href="/admin/audit-log"' in admin and 'href="/admin/screened-ips"' in admin


# --- the lookup -----------------------------------------------------------------------------


def test_looking_up_an_address_links_to_accounts_posts_and_ranges(app, scene, mia, users):
    before = entries_count(app)
    r = submit(mia.client, page(mia, "/admin"), "/admin/ip-lookup", q=f" {A4} ")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    check_accessible(html)
    words = text(html)
    assert "This lookup was recorded in the audit log." in words
    assert 'href="/admin/users/alice"' in html and 'href="/admin/users/bob"' not in html
    slug, topic = scene["slug"], scene["topic"]
    assert f'href="/t/{slug}/{topic}/1"' in html  # the post itself
    assert f'href="/admin/ip-lookup?q={A4}"' in html
    assert 'href="/admin/ip-lookup?q=203.0.113.0/24"' in html
    assert form(html, "/admin/ip-lookup").fields["q"] == f" {A4} "  # as typed
    assert entries_count(app) == before + 1

    # Following the /24 link finds bob too.
    wide = page(mia, "/admin/ip-lookup?q=203.0.113.0/24")
    assert 'href="/admin/users/alice"' in wide and 'href="/admin/users/bob"' in wide
    assert f"/admin/ip-lookup?q={B4}" in wide
    six = page(mia, f"/admin/ip-lookup?q={A6}")
    assert "/admin/ip-lookup?q=2001:db8:1:2::/64" in six
    both = page(mia, "/admin/ip-lookup?q=2001:db8:1:2::/64")
    assert 'href="/admin/users/alice"' in both and 'href="/admin/users/bob"' in both


def test_a_lookup_is_audited_exactly_as_the_json_one(app, scene, mia):
    page(mia, f"/admin/ip-lookup?q={A4}", **at(STAFF_AT))
    ok(mia.get(f"/admin/ip-lookup.json?q={A4}", **at(STAFF_AT)))
    by_page, by_json = audit(app)[-2:]
    assert by_page == by_json
    assert by_page[1:6] == ("ip_lookup", None, "", None, {"query": f"{A4}/32", "page": 0})
    assert by_page[6] == STAFF_AT


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("not-an-ip", "is not an IP address or CIDR range"),
        ("10.0.0.0/7", "/7 is too wide"),
        ("::/0", "too wide"),
        ("::/80", "holds every IPv4 address"),
        ("1.2.3.4/33", "is not an IP address"),
        ("x" * 5000, "is not an IP address"),
    ],
)
def test_a_bad_lookup_is_422_with_the_query_kept_and_nothing_logged(
    app, scene, mia, query, message
):
    before = entries_count(app)
    html = page(mia, "/admin/ip-lookup", 422, query_string={"q": query})
    assert form(html, "/admin/ip-lookup").fields["q"] == query
    assert 'id="lookup-q-error" role="alert"' in html
    assert 'aria-describedby="lookup-q-hint lookup-q-error"' in html
    assert message in text(html)
    assert entries_count(app) == before


@pytest.mark.parametrize("bad_page", ["-1", "abc", "1.5", str((2**31 - 1) // 50 + 1), "9" * 40])
def test_a_bad_page_number_is_422_not_500(app, scene, mia, bad_page):
    before = entries_count(app)
    html = page(mia, "/admin/ip-lookup", 422, query_string={"q": A4, "page": bad_page})
    assert 'id="page-error" role="alert"' in html
    assert entries_count(app) == before


def test_a_page_past_the_end_is_empty_not_an_error(scene, mia):
    last = (2**31 - 1) // 50  # the last page whose offset fits an INTEGER
    html = page(mia, "/admin/ip-lookup", query_string={"q": A4, "page": str(last)})
    assert "No more posts" in text(html)


def test_the_empty_form_looks_nothing_up(app, scene, mia):
    before = entries_count(app)
    html = page(mia, "/admin/ip-lookup")
    assert 'role="alert"' not in html and entries_count(app) == before


def add_replies(app: Flask, user_id: int, topic_id: int, ip: str, n: int) -> None:
    with app.app_context():
        author = db.session.get(User, user_id)
        for _ in range(n):
            posting.create_reply(author, topic_id, RAW, parse_ip(ip))
        db.session.commit()


def test_lookup_pages_and_costs_the_same_queries_however_many_rows(
    app, scene, mia, users, count_queries
):
    with count_queries() as few:
        page(mia, "/admin/ip-lookup?q=203.0.113.0/24")
    add_replies(app, users["bob"], scene["topic"], "203.0.113.77", 60)
    with count_queries() as many:
        first = page(mia, "/admin/ip-lookup?q=203.0.113.0/24")
    assert many.count == few.count
    assert first.count('class="post-link"') == 50
    assert 'rel="next" href="/admin/ip-lookup?q=203.0.113.0/24&amp;page=1"' in first
    second = page(mia, "/admin/ip-lookup?q=203.0.113.0/24&page=1")
    assert second.count('class="post-link"') == 62 - 50  # A4, B4 and the 60 new ones
    assert 'rel="prev" href="/admin/ip-lookup?q=203.0.113.0/24"' in second
    assert 'rel="next"' not in second


def test_json_clients_still_get_json_from_the_same_path(scene, mia):
    r = mia.get(f"/admin/ip-lookup?q={A4}", headers={"Accept": "application/json"})
    assert ok(r)["query"] == f"{A4}/32"


# --- a post's IP ----------------------------------------------------------------------------


def test_revealing_a_posts_ip_shows_it_and_its_edits_and_is_logged(app, scene, mia):
    post_id = scene["posts"]["a_topic"]
    html = page(mia, f"/admin/posts/{post_id}/ip", **at(STAFF_AT))
    words = text(html)
    assert "This reveal was recorded in the audit log." in words
    assert f'href="/admin/ip-lookup?q={A4}"' in html
    assert f'href="/admin/ip-lookup?q={SHARED}"' in html  # the edit's address
    assert 'href="/admin/ip-lookup?q=198.51.100.0/24"' in html
    assert 'href="/admin/users/alice"' in html
    assert f'href="/t/{scene["slug"]}/{scene["topic"]}/1"' in html
    ok(mia.get(f"/admin/posts/{post_id}/ip.json", **at(STAFF_AT)))
    by_page, by_json = audit(app)[-2:]
    assert by_page == by_json
    assert by_page[1:5] == ("reveal_post_ip", by_page[2], "post", post_id)


def test_revealing_a_missing_post_is_a_404_page_and_logs_nothing(app, scene, mia):
    before = entries_count(app)
    page(mia, "/admin/posts/987654/ip", 404)
    page(mia, f"/admin/posts/{2**40}/ip", 404)
    assert entries_count(app) == before


# --- an account's report ------------------------------------------------------------------


def test_an_accounts_report_links_its_addresses_and_the_accounts_sharing_them(app, scene, mia):
    before = entries_count(app)
    html = page(mia, "/admin/users/alice", **at(STAFF_AT))
    words = text(html)
    assert "This report was recorded in the audit log." in words
    for ip in (A4, A6, SHARED, SIGN_IN):
        assert f'href="/admin/ip-lookup?q={ip}"' in html, ip
    assert 'href="/admin/ip-lookup?q=2001:db8:1:2::/64"' in html
    assert 'href="/admin/users/carol"' in html  # carol posted from alice's SHARED address
    assert 'href="/admin/users/bob"' not in html  # bob only shares ranges, not addresses
    assert "Not suspended." in words
    assert form(html, "/admin/users/alice/suspend").buttons == ["Suspend alice"]
    # Two looks, recorded as the JSON routes record them.
    ok(mia.get("/admin/users/alice/ips.json", **at(STAFF_AT)))
    ok(mia.get("/admin/users/alice/shared-ips.json", **at(STAFF_AT)))
    entries = audit(app)
    assert len(entries) == before + 4
    assert entries[-4:-2] == entries[-2:]
    assert [e[1] for e in entries[-4:-2]] == ["user_ips", "shared_ips"]


def test_the_report_costs_the_same_queries_however_many_addresses(
    app, scene, mia, users, count_queries
):
    with count_queries() as few:
        page(mia, "/admin/users/bob")
    for i in range(30):
        add_replies(app, users["bob"], scene["topic"], f"198.18.{i}.1", 1)
        add_replies(app, scene["carol"], scene["topic"], f"198.18.{i}.1", 1)
    with count_queries() as many:
        html = page(mia, "/admin/users/bob")
    assert many.count == few.count
    assert html.count('href="/admin/ip-lookup?q=198.18.') >= 60


def test_finding_an_account_by_name(app, scene, mia):
    r = submit(mia.client, page(mia, "/admin"), "/admin/users", username="Alice")
    assert r.status_code == 303 and r.location == "/admin/users/alice"
    html = page(mia, "/admin/users", 404, query_string={"username": "nobody"})
    assert form(html, "/admin/users").fields["username"] == "nobody"
    assert 'id="report-username-error" role="alert"' in html
    page(mia, "/admin/users", 422, query_string={"username": " "})


def test_an_unknown_account_is_a_404_page_and_logs_nothing(app, scene, mia):
    before = entries_count(app)
    page(mia, "/admin/users/nobody", 404)
    assert entries_count(app) == before


# --- suspending -----------------------------------------------------------------------------


def test_suspending_and_lifting_it_through_the_forms(app, scene, mia):
    html = page(mia, "/admin/users/alice")
    r = submit(mia.client, html, "/admin/users/alice/suspend", reason="Spamming links", days="7")
    assert r.status_code == 303 and r.location == "/admin/users/alice"
    after = page(mia, "/admin/users/alice")
    assert "alice is suspended until" in text(after)
    assert "Reason: Spamming links" in text(after)
    until = suspended_until(app, "alice")
    assert until is not None
    last = audit(app)
    suspend_entry = next(e for e in reversed(last) if e[1] == "suspend")
    assert suspend_entry[5]["reason"] == "Spamming links"
    r = submit(mia.client, after, "/admin/users/alice/unsuspend")
    assert r.status_code == 303
    assert "alice is no longer suspended." in text(page(mia, "/admin/users/alice"))
    assert suspended_until(app, "alice") is None
    assert audit(app)[-3][1] == "unsuspend"  # then the report's two looks


@pytest.mark.parametrize(
    ("days", "reason", "field"),
    [
        ("", "Spam", "days"),
        ("0", "Spam", "days"),
        ("-1", "Spam", "days"),
        ("abc", "Spam", "days"),
        ("1.5", "Spam", "days"),
        ("36501", "Spam", "days"),
        ("9" * 400, "Spam", "days"),
        ("٣", "Spam", "days"),  # a digit, but not an ASCII one
        ("3", "", "reason"),
        ("3", "   ", "reason"),
        ("3", "x" * 501, "reason"),
    ],
)
def test_bad_suspensions_are_422_with_the_input_kept(app, scene, mia, days, reason, field):
    html = page(mia, "/admin/users/alice")
    r = submit(mia.client, html, "/admin/users/alice/suspend", reason=reason, days=days)
    assert r.status_code == 422, r.get_data(as_text=True)[:500]
    body = r.get_data(as_text=True)
    check_accessible(body)
    kept = form(body, "/admin/users/alice/suspend")
    assert kept.fields["days"] == days and kept.fields["reason"] == reason
    assert f'id="suspend-{field}-error" role="alert"' in body
    assert suspended_until(app, "alice") is None


def test_moderators_cannot_suspend_staff_or_themselves(app, scene, mia):
    html = page(mia, "/admin/users/ada")
    assert "Only admins can suspend staff." in text(html)
    assert not [f for f in forms(html) if f.action.endswith("/suspend")]
    data = {"authenticity_token": mia.csrf, "reason": "No", "days": "1"}
    r = mia.client.post("/admin/users/ada/suspend", data=data)
    assert r.status_code == 403 and "Only admins can suspend staff." in text(r.get_data(True))
    r = mia.client.post("/admin/users/mia/suspend", data=data)
    assert r.status_code == 403
    assert mia.client.post("/admin/users/nobody/suspend", data=data).status_code == 404
    assert suspended_until(app, "ada") is None and suspended_until(app, "mia") is None


def test_suspending_needs_the_token(app, scene, mia):
    r = mia.client.post("/admin/users/alice/suspend", data={"reason": "Spam", "days": "3"})
    assert r.status_code == 403
    assert suspended_until(app, "alice") is None


# --- the audit log (admins) -------------------------------------------------------------------


def test_the_audit_log_shows_the_lookups_with_links(app, scene, mia, ada):
    page(mia, f"/admin/ip-lookup?q={A4}")
    page(mia, f"/admin/posts/{scene['posts']['b4']}/ip")
    html = page(ada, "/admin/audit-log")
    rows = html.count("<tr data-action=")
    assert rows == entries_count(app)
    assert f'href="/admin/ip-lookup?q={A4}/32"' in html
    assert 'href="/admin/users/mia"' in html and 'href="/admin/users/bob"' in html
    assert "reveal_post_ip" in text(html) and "post " + str(scene["posts"]["b4"]) in text(html)

    only = page(ada, "/admin/audit-log?action=ip_lookup")
    assert only.count("<tr data-action=") == only.count('<tr data-action="ip_lookup">') == 1
    chosen = form(only, "/admin/audit-log")
    assert chosen.fields["action"] == "ip_lookup"
    by_actor = page(ada, "/admin/audit-log?actor=mia")
    assert by_actor.count("<tr data-action=") == 2
    nobody = page(ada, "/admin/audit-log?actor=nobody")
    assert "No entries match these filters." in text(nobody)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"action": "steal"}, "action"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-40"}, "until"),
        ({"since": "9999-12-31T23:59:59-23:59"}, "since"),
        ({"page": "-1"}, "page"),
        ({"page": "lots"}, "page"),
        ({"page": "9" * 30}, "page"),
        ({"page": str((2**31 - 1) // 100 + 1)}, "page"),
    ],
)
def test_bad_audit_filters_are_422_with_the_input_kept(app, scene, ada, query, field):
    html = page(ada, "/admin/audit-log", 422, query_string=query)
    if field == "page":
        assert 'id="page-error" role="alert"' in html
    else:
        assert f'id="audit-{field}-error" role="alert"' in html
        if field != "action":  # a <select> can only show the actions it offers
            assert form(html, "/admin/audit-log").fields[field] == query[field]


def test_the_last_audit_page_is_empty_not_an_error(scene, ada):
    html = page(ada, "/admin/audit-log", query_string={"page": str((2**31 - 1) // 100)})
    assert "No entries on this page." in text(html)


def test_the_audit_log_pages_keep_their_filters_at_constant_cost(app, scene, ada, count_queries):
    with count_queries() as few:
        page(ada, "/admin/audit-log?actor=ada")
    with app.app_context():
        ada_id = db.session.scalar(select(User.id).where(User.username_lower == "ada"))
        for i in range(120):
            db.session.add(
                AuditEntry(actor_id=ada_id, action="ip_lookup", details={"query": f"10.{i}.0.0/16"})
            )
        db.session.commit()
    with count_queries() as many:
        first = page(ada, "/admin/audit-log?actor=ada")
    assert many.count == few.count
    assert first.count("<tr data-action=") == 100
    assert 'rel="next" href="/admin/audit-log?page=1&amp;actor=ada"' in first
    second = page(ada, "/admin/audit-log?page=1&actor=ada")
    assert second.count("<tr data-action=") == 20
    assert 'rel="prev" href="/admin/audit-log?actor=ada"' in second


# --- screened IPs (admins) --------------------------------------------------------------------


def test_screening_and_unscreening_through_the_forms(app, scene, ada):
    html = page(ada, "/admin/screened-ips")
    assert "No address is screened." in text(html)
    add = form(html, "/admin/screened-ips/add")
    assert add.buttons == ["Screen"]
    r = submit(ada.client, html, "/admin/screened-ips/add", ip_address="192.0.2.0/24", reason="x")
    assert r.status_code == 303 and r.location == "/admin/screened-ips"
    listed = page(ada, "/admin/screened-ips")
    assert "192.0.2.0/24 is screened" in text(listed)
    assert '<tr data-cidr="192.0.2.0/24">' in listed
    assert audit(app)[-1][1] == "screen_ip"
    with app.app_context():
        entry_id = db.session.scalar(select(ScreenedIP.id))
    remove = form(listed, f"/admin/screened-ips/{entry_id}/delete")
    assert remove.buttons == ["Remove"] and remove.attrs["data-confirm"]
    r = submit(ada.client, listed, f"/admin/screened-ips/{entry_id}/delete")
    assert r.status_code == 303
    assert "192.0.2.0/24 is no longer screened." in text(page(ada, "/admin/screened-ips"))
    assert sorted_screened(app) == [] and audit(app)[-1][1] == "unscreen_ip"
    r = ada.client.post(
        f"/admin/screened-ips/{entry_id}/delete", data={"authenticity_token": ada.csrf}
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("address", "reason", "field"),
    [
        ("nonsense", "spam", "ip_address"),
        ("", "spam", "ip_address"),
        ("192.0.2.0/33", "spam", "ip_address"),
        ("192.0.2.7", "r" * 501, "reason"),
    ],
)
def test_bad_screening_is_422_with_the_input_kept(app, scene, ada, address, reason, field):
    html = page(ada, "/admin/screened-ips")
    r = submit(ada.client, html, "/admin/screened-ips/add", ip_address=address, reason=reason)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    check_accessible(body)
    kept = form(body, "/admin/screened-ips/add")
    assert (kept.fields["ip_address"], kept.fields["reason"]) == (address, reason)
    assert f'id="screen-{field.replace("_address", "")}-error" role="alert"' in body
    assert sorted_screened(app) == []


def test_screening_twice_is_422_and_the_forms_need_the_token(app, scene, ada):
    html = page(ada, "/admin/screened-ips")
    assert submit(ada.client, html, "/admin/screened-ips/add", ip_address=B4).status_code == 303
    again = submit(ada.client, html, "/admin/screened-ips/add", ip_address=B4)
    assert again.status_code == 422 and "already screened" in text(again.get_data(True))
    r = ada.client.post("/admin/screened-ips/add", data={"ip_address": "192.0.2.1"})
    assert r.status_code == 403
    assert sorted_screened(app) == [f"{B4}/32"]
    r = ada.client.post(
        "/admin/screened-ips/add",
        data={"ip_address": "192.0.2.1", "authenticity_token": ada.csrf},
        headers={"Accept": "application/json"},  # a page-only path: still the page's answer
    )
    assert r.status_code == 303


# --- under a URL prefix ---------------------------------------------------------------------


def test_the_desk_and_a_form_under_a_prefix(host, scene, users):
    client = host.test_client()
    with host.app_context():
        session_id = db.session.get(User, users["ada"]).get_id()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
    lookup = page(client, f"/forum/admin/ip-lookup?q={A4}")
    assert 'href="/forum/admin/users/alice"' in lookup
    assert f'href="/forum/admin/ip-lookup?q={A4}"' in lookup
    assert f'href="/forum/t/{scene["slug"]}/{scene["topic"]}/1"' in lookup
    html = page(client, "/forum/admin/screened-ips")
    r = submit(client, html, "/forum/admin/screened-ips/add", ip_address="192.0.2.0/24")
    assert r.status_code == 303 and r.location == "/forum/admin/screened-ips"
    assert "192.0.2.0/24 is screened" in text(page(client, r.location))
    refused = client.post("/forum/admin/screened-ips/add", data={"ip_address": "192.0.2.9"})
    assert refused.status_code == 403
