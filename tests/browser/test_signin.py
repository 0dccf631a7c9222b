"""Signing in through the emulator's pages, the cookies it leaves, and doing it all from
the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser.support import sign_in

pytestmark = pytest.mark.browser

FEEDBACK = "Tell us what to build next for Parlor"  # a demo topic of one post


def test_sign_in_leaves_only_the_session_cookie(page, shot):
    page.goto("/")
    shot(page, "home-signed-out")
    sign_in(page, "renee")
    shot(page, "home-signed-in")
    # Every cookie of every site this browser saw (the emulator's would be here too).
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert set(cookies) == {"session"}
    session = cookies["session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert session["expires"] == -1  # a browser-session cookie: gone when the browser closes


def test_remember_me_adds_the_remember_cookie(page):
    page.goto("/")
    sign_in(page, "renee", remember=True)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert set(cookies) == {"session", "remember_token"}
    assert cookies["remember_token"]["httpOnly"] and cookies["remember_token"]["expires"] > 0


def test_denying_on_github_shows_what_happened(page, guard, shot):
    page.goto("/")
    page.get_by_role("button", name="Sign in with GitHub").click()
    guard.expect_console_error("status of 403")  # the failure page is a 403, on purpose
    page.get_by_role("button", name="Deny").click()
    expect(page.locator("body")).to_contain_text("You did not allow Parlor")
    expect(page.locator("body")).to_contain_text("Nothing was stored")
    shot(page, "sign-in-denied")
    assert {c["name"] for c in page.context.cookies()} <= {"session"}  # no remember-me
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def tab_to(page, target, limit: int = 80) -> None:
    """Press Tab until `target` (a locator) has the focus; fail if it never gets it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


def test_keyboard_alone_signs_in_and_replies(page):
    page.goto("/")
    tab_to(page, page.get_by_role("button", name="Sign in with GitHub"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("button", name="Authorize as renee"))
    page.keyboard.press("Enter")
    expect(page.locator("header.site")).to_contain_text("Signed in as renee")

    page.get_by_role("link", name=FEEDBACK).click()
    tab_to(page, page.get_by_label("Your reply"), limit=150)
    page.keyboard.type("Typed with the keyboard alone, then sent with Enter.")
    tab_to(page, page.get_by_role("button", name="Post reply"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your reply is posted.")
    expect(page.locator("article.post").last).to_contain_text("Typed with the keyboard alone")


def test_unverified_email_is_refused_with_advice(page, guard, shot):
    page.goto("/")
    page.get_by_role("button", name="Sign in with GitHub").click()
    guard.expect_console_error("status of 403")
    page.get_by_role("button", name="Authorize as noverify").click()
    expect(page.locator("body")).to_contain_text("not verified")
    expect(page.locator("body")).to_contain_text("Verify it at GitHub")
    shot(page, "sign-in-unverified")
    assert {c["name"] for c in page.context.cookies()} <= {"session"}
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def test_sign_out_everywhere_ends_every_browser_even_remembered(contexts, shot):
    laptop = contexts().new_page()
    laptop.goto("/")
    sign_in(laptop, "renee", remember=True)
    phone = contexts().new_page()
    phone.goto("/")
    sign_in(phone, "renee")

    phone.locator("header.site").get_by_role("link", name="renee").click()
    phone.get_by_role("button", name="Sign out everywhere").click()
    expect(phone.get_by_role("status")).to_contain_text("signed out everywhere")
    expect(phone.get_by_role("button", name="Sign in with GitHub")).to_be_visible()

    # The other browser's session and its remember-me cookie are both dead now.
    laptop.reload()
    expect(laptop.get_by_role("button", name="Sign in with GitHub")).to_be_visible()
    expect(laptop.get_by_text("Signed in as")).to_have_count(0)
    laptop.context.clear_cookies(name="session")  # only the remember-me cookie is left
    laptop.reload()
    expect(laptop.get_by_text("Signed in as")).to_have_count(0)


def test_sign_out_leaves_no_cookie_that_signs_in(page):
    page.goto("/")
    sign_in(page, "renee", remember=True)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out.")
    assert "remember_token" not in {c["name"] for c in page.context.cookies()}
    page.reload()
    expect(page.get_by_text("Signed in as")).to_have_count(0)
