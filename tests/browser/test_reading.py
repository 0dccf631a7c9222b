"""Reading (P4) and the pages' weight and reach: the demo forum signed out, a long topic as
one light HTML document under the Content-Security-Policy, and every page in a phone-sized
window with every control labelled."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser.support import (
    api,
    assert_labels_work,
    category_id,
    horizontal_overflow,
    post_json,
    sign_in,
    too_wide,
)

pytestmark = pytest.mark.browser

WELCOME = "Welcome to the Parlor demo forum"
DEMO_IPS = ("192.0.2.10", "198.51.100.7", "2001:db8::7")  # forum/demo.py's posts


def test_latest_and_a_topic_signed_out(page, site, shot):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Latest topics")
    page.get_by_role("link", name=WELCOME).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(WELCOME)
    posts = page.locator("article.post")
    expect(posts).to_have_count(3)
    expect(posts.nth(1)).to_contain_text("mona")  # (octocat's may be Anonymous by now)
    expect(posts.nth(2)).to_contain_text("hubot")
    # Avatars come from Parlor, never from GitHub (the guard fails any other host too).
    for src in page.locator("article.post img.avatar").evaluate_all("els => els.map(e => e.src)"):
        assert src.startswith(site.url + "/"), src
    html = page.content()
    assert "@example.com" not in html  # e-mail addresses and IPs: never, to anyone
    for ip in DEMO_IPS:
        assert ip not in html
    assert_labels_work(page)
    shot(page, "topic-signed-out")


@pytest.fixture(scope="module")
def long_topic(site) -> str:
    """A topic of 21 posts (hubot's and mona's, alternating): 20 on its first page."""
    hubot, hubot_h = api(site.url, "hubot")
    mona, mona_h = api(site.url, "mona")
    first = post_json(
        site.url,
        hubot,
        hubot_h,
        title="A long conversation about page weight",
        raw="Post number 1 of the long topic.",
        category=category_id(site.url, "General"),
    )
    for n in range(2, 22):
        session, headers = (mona, mona_h) if n % 2 == 0 else (hubot, hubot_h)
        post_json(
            site.url,
            session,
            headers,
            topic_id=first["topic_id"],
            raw=f"Post number {n} of the long topic.",
        )
    return f"/t/{first['topic_slug']}/{first['topic_id']}"


def test_a_topic_of_20_posts_is_one_document_without_blocking_scripts(page, site, long_topic, shot):
    requests = []
    page.on("request", lambda r: requests.append(r))
    response = page.goto(long_topic)
    page.wait_for_load_state("load")
    assert response is not None and response.status == 200

    posts = page.locator("article.post")
    expect(posts).to_have_count(20)
    expect(posts.first).to_contain_text("Post number 1 of the long topic.")
    expect(posts.last).to_contain_text("Post number 20 of the long topic.")
    kinds = [r.resource_type for r in requests]
    assert kinds.count("document") == 1, kinds
    assert not {"xhr", "fetch", "websocket", "eventsource"} & set(kinds), kinds
    assert kinds.count("script") <= 1 and kinds.count("stylesheet") == 1, kinds  # one of each

    # Scripts never block rendering: external and deferred (or async), or after the content.
    scripts = page.evaluate(
        """() => [...document.scripts].map(s => ({
            src: s.src, defer: s.defer, async: s.async, module: s.type === 'module',
            inHead: s.parentElement === document.head}))"""
    )
    for s in scripts:
        assert s["src"], "an inline script"
        assert s["defer"] or s["async"] or s["module"] or not s["inHead"], s

    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if " " in d.strip())
    assert directives["default-src"] == "'none'"
    for kind in ("script-src", "style-src", "img-src", "connect-src"):
        assert directives[kind] == "'self'", (kind, csp)
    assert directives["frame-ancestors"] == "'none'"
    # Forms go to this site, and the sign-in's redirect to the configured GitHub only.
    assert directives["form-action"].split() == ["'self'", site.emulator]
    assert response.headers["x-content-type-options"] == "nosniff"
    shot(page, "topic-20-posts")

    page.get_by_role("link", name="Next page").first.click()
    expect(page.locator("article.post")).to_have_count(1)
    expect(page.locator("article.post")).to_contain_text("Post number 21 of the long topic.")
    assert re.search(r"[?&]page=2\b", page.url)


# Signed out, then as hubot (an admin sees every page there is).
PUBLIC_PAGES = {
    "home": "/",
    "categories": "/categories",
    "search": "/search?q=welcome",
    "profile": "/u/mona",
    "privacy": "/privacy",
}
ADMIN_PAGES = {
    "new-topic": "/new-topic",
    "preferences": "/u/hubot/preferences",
    "staff-desk": "/admin",
    "ip-lookup": "/admin/ip-lookup?q=2001:db8::/64",
    "ip-report": "/admin/users/mona",
    "audit-log": "/admin/audit-log",
    "screened-ips": "/admin/screened-ips",
}


def test_pages_fit_a_phone_and_label_their_controls(contexts, long_topic, shot):
    phone = contexts(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    pages = {**PUBLIC_PAGES, "topic": long_topic}
    for name, path in pages.items():
        page.goto(path)
        assert horizontal_overflow(page) <= 0, (path, too_wide(page))
        assert_labels_work(page)
        shot(page, f"phone-{name}")
    page.goto("/")
    sign_in(page, "hubot")
    for name, path in {**ADMIN_PAGES, "topic-admin": long_topic}.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert horizontal_overflow(page) <= 0, (path, too_wide(page))
        assert_labels_work(page)
        shot(page, f"phone-{name}")
