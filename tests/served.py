"""Parlor served for real: a scratch database of its own and gunicorn in a subprocess, with
the repository's `gunicorn.conf.py`, for tests that talk HTTP to several worker processes
(the API fuzzer, the concurrency test, bench/concurrency.py).

Import it from tests as `from served import ...`; bench scripts put `tests/` on sys.path.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "parlor-live-test-" + secrets.token_hex(8)
# A port nothing listens on: GitHub is never reached in these runs, and if it were, the
# attempt would fail fast instead of leaving the machine.
UNREACHABLE = "http://127.0.0.1:9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def scratch_database(db_url: str, directory: Path, purpose: str) -> Iterator[str]:
    """A database of its own: a new SQLite file in `directory`, or on the PostgreSQL server
    of `db_url` a database created for the run and dropped after it."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{directory / f'{purpose}.sqlite3'}"
        return
    name = f"parlor_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def server_settings(database_url: str, directory: Path) -> dict[str, Any]:
    """The settings the served app runs with (also for building it in-process, to seed the
    database or sign cookies it will accept)."""
    return {
        "PARLOR_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "GITHUB_CLIENT_ID": "parlor-live",
        "GITHUB_CLIENT_SECRET": "parlor-live-secret",
        "GITHUB_URL": UNREACHABLE,
        "GITHUB_API_URL": UNREACHABLE,
        "TRUSTED_PROXIES": "",
        "PUBLIC_URL": "",
        "RATELIMIT_ENABLED": False,
        "ERASURE_LEDGER": str(directory / "erasure-ledger.jsonl"),
        "BACKUP_DIR": str(directory / "backups"),
        "ACCESS_LOG": str(directory / "access.log"),  # on, as in production
    }


def _environment(settings: Mapping[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "WEB_"))}
    for key, value in settings.items():
        name = "DATABASE_URL" if key == "SQLALCHEMY_DATABASE_URI" else key
        env[name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return env


@contextmanager
def gunicorn(
    settings: Mapping[str, Any],
    *,
    workers: int = 3,
    threads: int = 2,
    log: Path | None = None,
) -> Iterator[str]:
    """Parlor under gunicorn (the repository's configuration) on a free port; its URL."""
    port = free_port()
    env = _environment(settings)
    env.update(
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(workers),
        GUNICORN_THREADS=str(threads),
        GUNICORN_TIMEOUT="60",
        GUNICORN_LOG_LEVEL="warning",
    )
    out = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, proc, log)
        yield base
    finally:
        stop(proc, grace=20)  # gunicorn's workers finish their requests first
        if log:
            out.close()  # type: ignore[union-attr]


def stop(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    """Ask a server to stop; kill it if it has not after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _wait_until_up(base: str, proc: subprocess.Popen[bytes], log: Path | None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"gunicorn exited with {proc.returncode}\n{tail}")
        try:
            if requests.get(f"{base}/latest.json", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not come up")


def session_cookie(app: Any, user_id: int) -> tuple[str, str]:
    """The session cookie value (and its CSRF token) Parlor sets when `user_id` signs in,
    signed with the served app's key: each client gets its own session without an OAuth
    round trip per client."""
    from auth.sessions import CSRF_KEY
    from forum.db import db
    from forum.users.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        session_id = user.get_id()
    csrf = secrets.token_urlsafe(32)
    data = {"_user_id": session_id, "_fresh": True, "_id": "", CSRF_KEY: csrf}
    cookie = app.session_interface.get_signing_serializer(app).dumps(data)
    return cookie, csrf
