"""The moderator's desk in a browser (P8): mona reveals a post's IP, looks up an address and
a range and follows the links between the results; hubot, an admin, reads those looks in
the audit log. Demo data only: hubot posted from 2001:db8::7, mona from 198.51.100.7."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from browser.support import api, assert_labels_work, category_id, post_json, sign_in

pytestmark = pytest.mark.browser

WELCOME = "Welcome to the Parlor demo forum"


def heading(page):
    return page.get_by_role("heading", level=1)


def accounts_table(page):
    return page.locator("table.accounts")


def test_mona_looks_up_ips_and_hubot_audits_her(contexts, shot):
    # This test's entries only, whatever mona did in other tests (same machine, same clock).
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    mona = contexts().new_page()
    mona.goto("/")
    sign_in(mona, "mona")

    # "Show IP" beside hubot's reply in the welcome topic: a logged reveal, shown in place.
    mona.get_by_role("link", name=WELCOME).click()
    hubot_reply = mona.locator("article#post_3")
    expect(hubot_reply).to_contain_text("hubot")
    hubot_reply.get_by_role("link", name="Show IP").click()
    revealed = hubot_reply.get_by_role("status")
    expect(revealed).to_contain_text("IP: 2001:db8::7")
    shot(mona, "staff-show-ip")
    # Its "details": the reveal as a page of its own (logged again).
    revealed.get_by_role("link", name="details").click()
    expect(heading(mona)).to_contain_text("Where post")
    expect(mona.locator("[data-field=ip]")).to_contain_text("2001:db8::7")
    expect(mona.get_by_text("This reveal was recorded in the audit log.")).to_be_visible()
    shot(mona, "staff-post-ip")

    # From the address to its lookup, on to its /64, and to hubot's IP report.
    mona.locator("[data-field=ip]").get_by_role("link", name="2001:db8::7", exact=True).click()
    expect(heading(mona)).to_have_text(re.compile(r"^IP lookup: 2001:db8::7(/128)?$"))
    expect(accounts_table(mona).get_by_role("link", name="hubot")).to_be_visible()
    shot(mona, "staff-ip-lookup-address")
    mona.get_by_role("link", name="Look up 2001:db8::/64").first.click()
    expect(heading(mona)).to_have_text("IP lookup: 2001:db8::/64")
    accounts_table(mona).get_by_role("link", name="hubot").click()
    expect(heading(mona)).to_have_text("hubot: IP report")
    expect(mona.locator("table.user-ips")).to_contain_text("2001:db8::7")
    shot(mona, "staff-user-report")

    # The desk's own form: an IPv4 address, then its range, typed in.
    mona.get_by_role("navigation", name="Forum").get_by_role("link", name="Staff desk").click()
    expect(heading(mona)).to_have_text("Staff desk")
    assert_labels_work(mona)
    shot(mona, "staff-desk")
    mona.get_by_label("IP address or CIDR range").fill("198.51.100.7")
    mona.get_by_role("button", name="Look up").click()
    expect(heading(mona)).to_have_text(re.compile(r"^IP lookup: 198\.51\.100\.7(/32)?$"))
    expect(accounts_table(mona).get_by_role("link", name="mona")).to_be_visible()
    posts = mona.locator("table.posts")
    expect(posts.get_by_role("link", name="What this forum keeps about you #1")).to_be_visible()
    mona.get_by_label("IP address or CIDR range").fill("198.51.100.0/24")
    mona.get_by_role("button", name="Look up").click()
    expect(heading(mona)).to_have_text("IP lookup: 198.51.100.0/24")
    expect(accounts_table(mona).get_by_role("link", name="mona")).to_be_visible()
    shot(mona, "staff-ip-lookup-range")
    # And from a post in the results back to the topic.
    posts.get_by_role("link", name="What this forum keeps about you #1").click()
    expect(heading(mona)).to_have_text("What this forum keeps about you")

    # hubot, the admin, sees every one of those looks in the audit log, newest first.
    hubot = contexts().new_page()
    hubot.goto("/")
    sign_in(hubot, "hubot")
    hubot.get_by_role("navigation", name="Forum").get_by_role("link", name="Staff desk").click()
    hubot.get_by_role("link", name="The audit log").click()
    expect(heading(hubot)).to_have_text("Audit log")
    assert_labels_work(hubot)
    hubot.get_by_label("By (username)").fill("mona")
    hubot.get_by_label("From").fill(started)
    hubot.get_by_role("button", name="Filter").click()
    rows = hubot.locator("table.audit tbody tr")
    expect(rows.first).to_be_visible()
    actions = rows.evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions == [
        "ip_lookup",  # 198.51.100.0/24
        "ip_lookup",  # 198.51.100.7
        "shared_ips",  # hubot's IP report: the accounts sharing his addresses
        "user_ips",  # and his addresses
        "ip_lookup",  # 2001:db8::/64
        "ip_lookup",  # 2001:db8::7
        "reveal_post_ip",  # the details page
        "reveal_post_ip",  # "Show IP" in the topic
    ], actions
    lookups = rows.filter(has=hubot.locator("code", has_text="ip_lookup"))
    expect(lookups.nth(0)).to_contain_text("198.51.100.0/24")
    expect(lookups.nth(1)).to_contain_text("198.51.100.7")
    expect(lookups.nth(2)).to_contain_text("2001:db8::/64")
    expect(rows.last).to_contain_text("mona")
    shot(hubot, "staff-audit-log")
    # The logged query links to the same lookup.
    lookups.nth(0).get_by_role("link", name="198.51.100.0/24").click()
    expect(heading(hubot)).to_have_text("IP lookup: 198.51.100.0/24")


def test_members_cannot_open_the_desk(page, guard):
    page.goto("/")
    sign_in(page, "renee")
    expect(page.get_by_role("link", name="Staff desk")).to_have_count(0)
    guard.expect_console_error("status of 403")
    response = page.goto("/admin")
    assert response is not None and response.status == 403
    expect(page.locator("main")).to_contain_text("Only moderators and admins")


def test_moderator_hides_a_post_and_closes_the_topic(contexts, site, shot):
    renee, headers = api(site.url, "renee")
    first = post_json(
        site.url,
        renee,
        headers,
        title="A topic the moderator will close",
        raw="Something a moderator would rather hide from view.",
        category=category_id(site.url, "General"),
    )
    path = f"/t/{first['topic_slug']}/{first['topic_id']}"
    mona = contexts().new_page()
    mona.goto(path)
    sign_in(mona, "mona")

    mona.locator("article#post_1").get_by_role("button", name="Hide").click()
    expect(mona.get_by_role("status")).to_contain_text("The post is hidden.")
    expect(mona.locator("article#post_1 [data-hidden]")).to_be_visible()  # staff still read it
    expect(mona.locator("article#post_1")).to_contain_text("rather hide from view")

    # "Close topic" asks first (parlor.js, data-confirm); the dialog is answered yes.
    mona.get_by_role("button", name="Close topic").click()
    expect(mona.get_by_role("status")).to_contain_text("The topic is closed.")
    expect(mona.get_by_role("button", name="Reopen topic")).to_be_visible()
    shot(mona, "staff-hidden-and-closed")

    visitor = contexts().new_page()
    visitor.goto(path)
    expect(visitor.locator("article#post_1")).to_contain_text("hidden by a moderator")
    expect(visitor.locator("article#post_1")).not_to_contain_text("rather hide from view")
    expect(visitor.locator(".topic-meta [data-topic-closed]")).to_have_text("Closed")
    expect(visitor.get_by_label("Your reply")).to_have_count(0)
