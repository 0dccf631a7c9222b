"""What the browser tests do again and again: sign in through the emulator's pages, set up
data over Parlor's JSON API, and check a page's controls and width."""

from __future__ import annotations

from typing import Any

import requests
from live import csrf, sign_in_http
from playwright.sync_api import Page, expect

# A named control: its label, aria-label or aria-labelledby gives it a name.
_UNNAMED_CONTROLS = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), textarea, select, button')]
  .filter(el => {
    const name = (el.labels && [...el.labels].map(l => l.innerText).join(' ').trim())
      || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (['BUTTON'].includes(el.tagName) && el.innerText.trim())
      || (['submit', 'button', 'reset'].includes(el.type) && el.value) || '';
    return !String(name).trim();
  })
  .map(el => el.outerHTML.slice(0, 160))"""


def sign_in(page: Page, login: str, *, remember: bool = False) -> None:
    """Click "Sign in with GitHub" on the current Parlor page (the home page if none), then
    pick `login` on the emulator's authorize page, as a person would."""
    if not page.url.startswith("http"):
        page.goto("/")
    came_from = page.url
    if remember:
        page.get_by_label("Remember me").check()
    page.get_by_role("button", name="Sign in with GitHub").click()
    # No login hint: the emulator shows its page to pick an account and approve.
    page.get_by_role("button", name=f"Authorize as {login}").click()
    page.wait_for_url(came_from)
    expect(page.locator("header.site")).to_contain_text(f"Signed in as {login}")


def api(base: str, login: str) -> tuple[requests.Session, dict[str, str]]:
    """A scripted session signed in as `login`, and the CSRF header its writes send; for
    setting up data a test is not about."""
    session = sign_in_http(base, login)
    return session, {"X-CSRF-Token": csrf(session, base)}


def post_json(base: str, session: requests.Session, headers: dict[str, str], **body: Any) -> Any:
    r = session.post(f"{base}/posts.json", json=body, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def category_id(base: str, name: str) -> int:
    categories = requests.get(f"{base}/categories.json", timeout=10).json()
    return next(c["id"] for c in categories["category_list"]["categories"] if c["name"] == name)


def unnamed_controls(page: Page) -> list[str]:
    """The page's inputs, text areas, selects and buttons that have no accessible name."""
    return page.evaluate(_UNNAMED_CONTROLS)


def assert_labels_work(page: Page) -> None:
    """Every visible control has a name, and each labelled field is found by its label."""
    assert unnamed_controls(page) == []
    labels = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
          .filter(el => el.labels && el.labels.length && el.offsetParent !== null)
          .map(el => el.labels[0].innerText.trim())"""
    )
    for label in labels:
        assert page.get_by_label(label, exact=True).count() >= 1, label


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )


def too_wide(page: Page) -> list[str]:
    """The innermost elements that stick out past the window's right edge, for the message
    of a failed width check."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.body.querySelectorAll('*')]
            .filter(el => el.getBoundingClientRect().right > width + 0.5);
          return wide.filter(el => !wide.some(o => o !== el && el.contains(o)))
            .slice(0, 5).map(el => el.outerHTML.slice(0, 120));
        }"""
    )
