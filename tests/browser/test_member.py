"""A member's whole life in a browser, as octocat: sign in through the emulator, post a
topic and a reply, like, edit, download their data and delete the account (P5, P9-P11)."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from playwright.sync_api import expect

from browser.support import assert_labels_work, sign_in

pytestmark = pytest.mark.browser

TITLE = "Octocat's browser-written topic"
BODY = "Written in Chromium, through the form, without any API."
REPLY = "And a reply to it, from the reply form at the bottom."
EDITED = "Edited in Chromium: the form works, and so does Markdown **bold**."
WELCOME = "Welcome to the Parlor demo forum"


def forum_nav(page):
    return page.get_by_role("navigation", name="Forum")


def post(page, number: int):
    return page.locator(f"article#post_{number}")


def test_octocat_posts_likes_edits_exports_and_erases(page, guard, shot):
    page.goto("/")
    sign_in(page, "octocat")

    # A new topic, through the "New topic" form.
    forum_nav(page).get_by_role("link", name="New topic").click()
    assert_labels_work(page)
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Category").select_option(label="General")
    page.get_by_label("Body").fill(BODY)
    shot(page, "new-topic")
    page.get_by_role("button", name="Create topic").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_role("status")).to_contain_text("Your topic is posted.")
    expect(post(page, 1)).to_contain_text(BODY)
    topic_url = page.url.split("#")[0]

    # A reply that is too short comes back with the reason beside the field, text kept.
    guard.expect_console_error("status of 422")
    page.get_by_label("Your reply").fill("Too short.")
    page.get_by_role("button", name="Post reply").click()
    reply_box = page.get_by_label("Your reply")
    expect(reply_box).to_have_value("Too short.")
    expect(reply_box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#reply-raw-error")).to_be_visible()
    shot(page, "reply-error")

    reply_box.fill(REPLY)
    page.get_by_role("button", name="Post reply").click()
    expect(page.get_by_role("status")).to_contain_text("Your reply is posted.")
    expect(post(page, 2)).to_contain_text(REPLY)
    expect(post(page, 2)).to_contain_text("octocat")

    # A like, on mona's welcome reply (one's own posts cannot be liked).
    forum_nav(page).get_by_role("link", name="Latest").click()
    page.get_by_role("link", name=WELCOME).click()
    expect(post(page, 2).locator(".like-count")).to_have_text("0 likes")
    post(page, 2).get_by_role("button", name="Like").click()
    expect(post(page, 2).locator(".like-count")).to_have_text("1 like")
    expect(post(page, 2).get_by_role("button", name="Unlike")).to_be_visible()

    # An edit of the topic's first post.
    page.goto(topic_url)
    post(page, 1).get_by_role("link", name="Edit").click()
    assert_labels_work(page)
    page.get_by_label("Body").fill(EDITED)
    page.get_by_label("Reason for the edit (optional)").fill("more detail")
    shot(page, "edit-post")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Your changes are saved.")
    expect(post(page, 1).locator(".cooked strong")).to_have_text("bold")
    shot(page, "topic-signed-in")

    # "Download my data" from the account page: one ZIP with octocat's own data.
    page.locator("header.site").get_by_role("link", name="octocat").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    assert_labels_work(page)
    shot(page, "preferences", full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download my data").click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as zf:
        names = set(zf.namelist())
        assert {"README.txt", "profile.json", "posts.json", "posts.csv", "likes.csv"} <= names
        profile = json.loads(zf.read("profile.json"))
        posts = json.loads(zf.read("posts.json"))
        likes = list(csv.DictReader(io.StringIO(zf.read("likes.csv").decode())))
        edits = json.loads(zf.read("edits.json"))
    assert profile["username"] == "octocat" and profile["email"] == "octocat@example.com"
    raws = [p["raw"] for p in posts]
    assert EDITED in raws and REPLY in raws
    assert all(p["ip"] == "127.0.0.1" for p in posts if p["raw"] in (EDITED, REPLY))
    assert len(likes) == 1
    assert [e["raw_before"] for e in edits] == [BODY]

    # Deleting the account: the confirmation says what happens, then the posts are Anonymous.
    page.get_by_role("link", name="Delete my account").click()
    consequences = page.locator("ul.consequences")
    expect(consequences).to_contain_text("Your posts stay")
    expect(consequences).to_contain_text("Anonymous")
    expect(consequences).to_contain_text("14 days")
    assert_labels_work(page)
    shot(page, "delete-account", full_page=True)
    guard.expect_console_error("status of 422")
    page.get_by_label("Type your username, octocat, to confirm").fill("octocat-typo")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_label("Type your username, octocat, to confirm")).to_have_attribute(
        "aria-invalid", "true"
    )
    page.get_by_label("Type your username, octocat, to confirm").fill("octocat")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account is deleted")
    shot(page, "account-deleted")
    expect(page.get_by_role("button", name="Sign in with GitHub")).to_be_visible()
    assert "remember_token" not in {c["name"] for c in page.context.cookies()}

    page.goto(topic_url)
    expect(post(page, 1).locator(".username")).to_have_text("Anonymous")
    expect(post(page, 2).locator(".username")).to_have_text("Anonymous")
    expect(post(page, 1)).to_contain_text("bold")  # the posts stay
    expect(page.locator("main")).not_to_contain_text("octocat")
    shot(page, "topic-after-erasure")
    page.goto("/")
    page.get_by_role("link", name=WELCOME).click()
    expect(post(page, 1).locator(".username")).to_have_text("Anonymous")
    # Who liked is erased; that it was liked still counts (as tests/test_erasure.py has it).
    expect(post(page, 2).locator(".like-count")).to_have_text("1 like")
