"""Live servers for the end-to-end and browser tests, each in a process of its own on a free
port: the GitHub emulator, and Parlor itself (migrated and seeded with the demo) on a
database of its own; and signing in over plain HTTP through the emulator, as a script would.
Import them: `from live import emulator_process, parlor_process`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import served
from served import free_port

ROOT = Path(__file__).resolve().parent.parent
EMULATOR_CLIENT_ID = "parlor-e2e"
EMULATOR_CLIENT_SECRET = "parlor-e2e-secret"


def wait_for(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30) -> None:
    """Return once `url` answers at all (any status); fail early if `proc`, the server
    behind it, has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with status {proc.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:  # not listening yet, or too busy starting to answer
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


@contextmanager
def emulator_process(ready: bool = True) -> Iterator[str]:
    """The GitHub emulator (`python -m auth.emulator`) on a free port; its URL. With
    `ready=False` it is not waited for: the caller waits later, after starting Parlor."""
    port = free_port()
    env = {
        **os.environ,
        "PARLOR_ENV": "testing",
        "GITHUB_CLIENT_ID": EMULATOR_CLIENT_ID,
        "GITHUB_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "auth.emulator", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if ready:
            wait_for(url + "/avatars/octocat.png", proc)
        yield url
    finally:
        served.stop(proc)


@contextmanager
def scratch_database(workdir: Path) -> Iterator[str]:
    """A database of its own: a SQLite file in `workdir`, or, when TEST_DATABASE_URL names a
    PostgreSQL server, a database created there for the run and dropped after it."""
    from config import database_url

    base = os.environ.get("TEST_DATABASE_URL")
    with served.scratch_database(
        database_url(base) if base else "sqlite://", workdir, "live"
    ) as url:
        yield url


@contextmanager
def parlor_process(emulator: str, db_url: str, workdir: Path, ready: bool = True) -> Iterator[str]:
    """Parlor (`tests/serve_live.py`: migrate, seed the demo, serve) on a free port, signing
    in through `emulator`; its URL. Its output goes to `workdir/parlor.log`. With
    `ready=False` the caller waits, with `wait_for_parlor`."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PARLOR_ENV": "testing",
        "DATABASE_URL": db_url,
        "SECRET_KEY": "parlor-live-test-secret",
        "GITHUB_URL": emulator,
        "GITHUB_API_URL": emulator,
        "GITHUB_CLIENT_ID": EMULATOR_CLIENT_ID,
        "GITHUB_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
        "GITHUB_TIMEOUT_SECONDS": "10",
        "RATELIMIT_ENABLED": "0",
        "ERASURE_LEDGER": str(workdir / "erasure-ledger.jsonl"),
        "BACKUP_DIR": str(workdir / "backups"),
        "ACCESS_LOG": "",
    }
    env.pop("TEST_DATABASE_URL", None)
    with (workdir / "parlor.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "serve_live.py"), str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        if ready:
            wait_for_parlor(url, workdir, proc)
        yield url
    finally:
        served.stop(proc)


def wait_for_parlor(url: str, workdir: Path, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait for `parlor_process`'s server (a cold start imports, migrates and seeds: slow on
    a busy machine); if it never comes up, the error quotes its log."""
    try:
        wait_for(url + "/srv/status", proc, timeout=120)
    except RuntimeError as exc:
        log = (workdir / "parlor.log").read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{exc}; its output:\n{log}") from None


def sign_in_http(base: str, login: str) -> requests.Session:
    """A `requests` session signed in as `login` through the emulator (auto-approve with the
    `login` hint: redirects only, no page to click)."""
    browser = requests.Session()
    r = browser.get(f"{base}/auth/github/login", params={"login": login}, timeout=10)
    assert r.status_code == 200, r.text
    return browser


def csrf(browser: requests.Session, base: str) -> str:
    return browser.get(f"{base}/session/csrf.json", timeout=10).json()["csrf"]
