"""The live servers of the HTTP benchmark: Parlor and the baseline under gunicorn (same
config file, same settings), the GitHub emulator for signing in, and a signed-in browser.

Every process is started in its own session and `servers()` ends each one, by its id,
whatever happens in between.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402

BENCH = ROOT / "bench"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
CLIENT_ID, CLIENT_SECRET = "parlor-bench", "parlor-bench-secret"
USER_AGENT = "parlor-bench"  # Flask-Login's session protection hashes it: keep it fixed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            requests.get(url, timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening, or booting
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(cmd: list[str], env: dict[str, str], log: Path, ready_url: str) -> Iterator[None]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_up(ready_url, proc)
        yield
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this benchmark started (gunicorn's master and its
    workers), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def gunicorn(app: str, *extra: str) -> list[str]:
    """The same command line for both servers: everything else is in gunicorn.conf.py."""
    return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), *extra, app]


def parlor_settings(
    database_url: str, scratch: Path, github_url: str, secret_key: str
) -> dict[str, str]:
    """Parlor's environment in the benchmark: production, rate limits off, its own access
    log on (P7), as a real deployment runs."""
    return {
        "PARLOR_ENV": "production",
        "SECRET_KEY": secret_key,
        "GITHUB_CLIENT_ID": CLIENT_ID,
        "GITHUB_CLIENT_SECRET": CLIENT_SECRET,
        "GITHUB_URL": github_url,
        "GITHUB_API_URL": github_url,
        "DATABASE_URL": database_url,
        "RATELIMIT_ENABLED": "0",
        "ACCESS_LOG": str(scratch / "access.log"),
        "ERASURE_LEDGER": str(scratch / "erasure-ledger.jsonl"),
        "BACKUP_DIR": str(scratch / "backups"),
    }


@dataclass(frozen=True)
class Servers:
    parlor: str
    baseline: str
    emulator: str


@contextmanager
def servers(
    database_url: str, scratch: Path, secret_key: str, gunicorn_env: dict[str, str]
) -> Iterator[Servers]:
    """Parlor (production settings, rate limits off) and the baseline on `database_url`,
    both under gunicorn.conf.py with the same `gunicorn_env`, and the GitHub emulator."""
    ports = {name: free_port() for name in ("parlor", "baseline", "emulator")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLOR_", "GUNICORN_"))}
    base_env.pop("WEB_CONCURRENCY", None)
    emulator_env = {
        **base_env,
        "PARLOR_ENV": "testing",  # the emulator refuses to serve in production
        "GITHUB_CLIENT_ID": CLIENT_ID,
        "GITHUB_CLIENT_SECRET": CLIENT_SECRET,
    }
    served = {**base_env, **gunicorn_env}
    parlor_env = {
        **served,
        **parlor_settings(database_url, scratch, urls["emulator"], secret_key),
        "GUNICORN_BIND": f"127.0.0.1:{ports['parlor']}",
    }
    baseline_env = {
        **served,
        "BASELINE_DATABASE_URL": config.database_url(database_url),
        "GUNICORN_BIND": f"127.0.0.1:{ports['baseline']}",
    }
    emulator_cmd = [sys.executable, "-m", "auth.emulator", "--port", str(ports["emulator"])]
    with ExitStack() as stack:
        stack.enter_context(
            process(
                emulator_cmd,
                emulator_env,
                scratch / "emulator.log",
                urls["emulator"] + "/avatars/octocat.png",
            )
        )
        stack.enter_context(
            process(
                gunicorn("wsgi:app"),
                parlor_env,
                scratch / "parlor.log",
                urls["parlor"] + "/srv/status",
            )
        )
        stack.enter_context(
            process(
                gunicorn("baseline_app:app", "--pythonpath", str(BENCH)),
                baseline_env,
                scratch / "baseline.log",
                urls["baseline"] + "/rows/20.json",
            )
        )
        yield Servers(urls["parlor"], urls["baseline"], urls["emulator"])


def _follow(browser: requests.Session, url: str, **kwargs: object) -> requests.Response:
    """GET `url` and its redirects, sending the cookies a browser behind TLS would send:
    production cookies are Secure, and on loopback there is no TLS (a proxy would end it)."""
    for _ in range(10):
        r = browser.get(url, allow_redirects=False, timeout=30, **kwargs)  # type: ignore[arg-type]
        for cookie in browser.cookies:
            cookie.secure = False
        if not r.is_redirect:
            return r
        url, kwargs = requests.compat.urljoin(url, r.headers["Location"]), {}
    raise RuntimeError("too many redirects")


@dataclass(frozen=True)
class Browser:
    session: requests.Session
    cookie: str  # the value of the Cookie header a signed-in browser sends
    csrf: str


def sign_in(parlor: str, login: str = "octocat") -> Browser:
    """Sign in through the emulator as a browser would (the whole OAuth round trip)."""
    browser = requests.Session()
    browser.headers["User-Agent"] = USER_AGENT
    # Landing on a JSON route: the sign-in is what is checked here, not the home page.
    me = _follow(
        browser,
        f"{parlor}/auth/github/login",
        params={"login": login, "next": "/session/current.json"},
    )
    if me.status_code != 200 or me.json()["current_user"]["username"] != login:
        raise RuntimeError(f"signing in as {login} failed: {me.status_code} {me.text[:200]}")
    csrf = _follow(browser, f"{parlor}/session/csrf.json").json()["csrf"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    return Browser(browser, cookie, csrf)
