"""One Chromium, one GitHub emulator and one live Parlor (migrated and seeded with the demo,
on a database of its own) for the whole session; a fresh browser context per test.

Every context is watched: a console error, an uncaught exception in a page, or a request to
any host but Parlor's and the emulator's fails the test that caused it (issue 8, §2-3).

Chromium is Debian's (/usr/bin/chromium, or PARLOR_CHROMIUM); Playwright never downloads
one. Without it the tests skip, unless PARLOR_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from live import (
    emulator_process,
    parlor_process,
    scratch_database,
    wait_for,
    wait_for_parlor,
)

CHROMIUM = os.environ.get("PARLOR_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("PARLOR_REQUIRE_BROWSER", "") == "1"
SCREENSHOTS = Path(
    os.environ.get("PARLOR_SCREENSHOTS")
    or Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
)
# Headless, no sandbox (containers), and nothing of Chromium's own phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]


# Without Playwright the modules cannot even be imported: leave them out, and say so at the
# end of the run, unless they are required.
PLAYWRIGHT_MISSING = importlib.util.find_spec("playwright") is None
if PLAYWRIGHT_MISSING and not REQUIRED:
    collect_ignore_glob = ["test_*.py"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if PLAYWRIGHT_MISSING and not REQUIRED:
        terminalreporter.write_line(
            "browser tests not run: playwright is not installed (pip install -e '.[test]')"
        )


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (PARLOR_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Site:
    url: str  # Parlor, e.g. http://127.0.0.1:41234
    emulator: str  # the GitHub emulator
    workdir: Path  # Parlor's log (parlor.log), erasure ledger and backups


@dataclass
class Guard:
    """What a test's pages did that they must not: console errors, page exceptions and
    requests to third parties. Checked after the test body (see pytest_runtest_call)."""

    site: Site
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    third_party: list[str] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)  # for screenshots when a test fails

    def expect_console_error(self, pattern: str) -> None:
        """Let console errors matching `pattern` pass from now on: Chromium logs one for
        every 4xx or 5xx page, including those a test asks for on purpose."""
        self.expected.append(re.compile(pattern))

    def allows(self, request: Any) -> bool:
        """Parlor's own requests; the emulator ("GitHub") only for the sign-in's page
        loads and for what its own pages load, never for a Parlor page's images or scripts."""
        host = urlsplit(request.url).netloc
        if host == urlsplit(self.site.url).netloc:
            return True
        if host != urlsplit(self.site.emulator).netloc:
            return False
        if request.is_navigation_request():
            return True
        return urlsplit(_frame_url(request)).netloc == host

    def problems(self) -> list[str]:
        unexpected = [e for e in self.console_errors if not any(p.search(e) for p in self.expected)]
        return (
            [f"third-party request: {u}" for u in self.third_party]
            + [f"console error: {e}" for e in unexpected]
            + [f"uncaught page error: {e}" for e in self.page_errors]
        )


def _frame_url(request: Any) -> str:
    try:
        return request.frame.url
    except Exception:  # a service worker's request has no frame
        return "a worker"


def _check_browser() -> None:
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if PLAYWRIGHT_MISSING:
        _unavailable("playwright is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="session")
def _starting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The emulator and Parlor, started but not yet waited for: Chromium launches while
    they boot (a cold Parlor imports, migrates and seeds, which takes a while)."""
    _check_browser()
    workdir = tmp_path_factory.mktemp("live-parlor")
    with (
        emulator_process(ready=False) as emulator,
        scratch_database(workdir) as db_url,
        parlor_process(emulator, db_url, workdir, ready=False) as url,
    ):
        yield Site(url=url, emulator=emulator, workdir=workdir)


@pytest.fixture(scope="session")
def chromium(_starting: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def site(_starting: Site, chromium: Any) -> Site:
    """The emulator and a live Parlor on a fresh database seeded with the demo (octocat a
    member, mona a moderator, hubot an admin)."""
    wait_for_parlor(_starting.url, _starting.workdir)
    wait_for(_starting.emulator + "/avatars/octocat.png")
    return _starting


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the pages' screenshots go. Each run overwrites them by name rather than
    emptying the folder first, so two runs at once (SQLite and PostgreSQL, say) keep both."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def guard(site: Site) -> Guard:
    return Guard(site=site)


def new_context(chromium: Any, site: Site, guard: Guard, **options: Any) -> Any:
    """A browser context whose every page is watched by `guard`."""
    options.setdefault("viewport", {"width": 1280, "height": 900})
    context = chromium.new_context(base_url=site.url, accept_downloads=True, **options)
    context.set_default_timeout(10_000)

    def on_console(message: Any) -> None:
        if message.type != "error":
            return
        url = message.location.get("url") or ""
        guard.console_errors.append(f"{message.text} ({url or message.page.url})")

    def on_request(request: Any) -> None:
        if not guard.allows(request):
            guard.third_party.append(f"{request.url} (from {_frame_url(request)})")

    context.on("console", on_console)
    context.on("weberror", lambda error: guard.page_errors.append(str(error.error)))
    # Confirmation dialogs (data-confirm) are answered yes; a test that wants "no" says so.
    context.on("page", lambda page: page.on("dialog", lambda dialog: dialog.accept()))
    # Watched, not intercepted: routing would turn the HTTP cache and favicon requests off,
    # and the test would see a browser unlike anyone's.
    context.on("request", on_request)
    guard.contexts.append(context)
    return context


@pytest.fixture
def contexts(chromium: Any, site: Site, guard: Guard) -> Iterator[Any]:
    """`contexts(**options)` opens another watched context (a second person, a phone)."""
    yield lambda **options: new_context(chromium, site, guard, **options)
    for context in guard.contexts:
        context.close()


@pytest.fixture
def context(contexts: Any) -> Any:
    return contexts()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def shot(screenshots: Path) -> Any:
    """`shot(page, "name")` saves what the window shows as a test artefact (`full_page=True`
    for the whole page: ten times slower on a long page, so only where it matters)."""

    def save(page: Any, name: str, *, full_page: bool = False) -> Path:
        path = screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    guard = item.funcargs.get("guard") if hasattr(item, "funcargs") else None
    if isinstance(guard, Guard) and (problems := guard.problems()):
        pytest.fail("the pages did what they must not:\n" + "\n".join(problems), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    guard = getattr(item, "funcargs", {}).get("guard")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)
    if report.when == "call" and report.passed:  # the last failure's pictures are stale now
        for old in SCREENSHOTS.glob(f"FAILED-{name}-*.png"):
            old.unlink(missing_ok=True)
    if report.when == "call" and report.failed and isinstance(guard, Guard):
        log = guard.site.workdir / "parlor.log"
        if log.exists():  # a 500 behind a failing page shows its traceback here
            report.sections.append(("Parlor's log (tail)", log.read_text(errors="replace")[-3000:]))
        # The pages as they were when the test failed, beside the other screenshots.
        pages = [p for c in guard.contexts for p in c.pages if not p.is_closed()]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(pages):
            try:
                page.screenshot(path=str(SCREENSHOTS / f"FAILED-{name}-{n}.png"))
            except Exception as exc:  # a page that closed itself: the failure matters more
                report.sections.append(("screenshot", f"page {n}: {exc}"))
    return report
