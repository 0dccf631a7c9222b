"""With JavaScript off, every page still works: signing in, replying, liking, editing and
the staff's "Show IP" are plain links and forms that POST with `authenticity_token`."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser.support import sign_in

pytestmark = pytest.mark.browser

FEEDBACK = "Tell us what to build next for Parlor"
WELCOME = "Welcome to the Parlor demo forum"


@pytest.fixture
def page(contexts):
    return contexts(java_script_enabled=False).new_page()


def test_reply_like_and_edit_without_javascript(page, shot):
    page.goto("/")
    sign_in(page, "renee")
    page.get_by_role("link", name=FEEDBACK).click()
    page.get_by_label("Your reply").fill("A reply sent by a browser with JavaScript turned off.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.get_by_role("status")).to_contain_text("Your reply is posted.")
    mine = page.locator("article.post").filter(has_text="JavaScript turned off")
    expect(mine).to_have_count(1)

    hubots = page.locator("article#post_1")
    hubots.get_by_role("button", name="Like").click()
    expect(page.locator("article#post_1 .like-count")).to_have_text("1 like")
    page.locator("article#post_1").get_by_role("button", name="Unlike").click()
    expect(page.locator("article#post_1 .like-count")).to_have_text("0 likes")

    page.locator("article.post").filter(has_text="JavaScript turned off").get_by_role(
        "link", name="Edit"
    ).click()
    page.get_by_label("Body").fill("Edited, still without JavaScript, through the plain form.")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Your changes are saved.")
    expect(page.locator("main")).to_contain_text("still without JavaScript")
    shot(page, "no-js-topic")


def test_show_ip_without_javascript_is_a_page(page):
    page.goto("/")
    sign_in(page, "mona")
    page.get_by_role("link", name=WELCOME).click()
    page.locator("article#post_3").get_by_role("link", name="Show IP").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Where post")
    expect(page.locator("[data-field=ip]")).to_contain_text("2001:db8::7")
