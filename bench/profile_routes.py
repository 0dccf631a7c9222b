"""Where a request's time goes (issue 10, §3): the benchmarked routes run in-process,
straight through the WSGI app (no HTTP, no gunicorn), first timed, then under
pyinstrument. Parlor gets the same production settings as its server in the benchmark.

The report sorts each route's sampled time into buckets by the code it was spent in
(Parlor's own modules, SQLAlchemy, the database driver, Jinja, Flask and Werkzeug, ...),
lists the hottest functions and writes pyinstrument's full call tree to a text file.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import baseline_app
import servers
from flask import Flask
from pyinstrument import Profiler
from pyinstrument.frame import Frame
from pyinstrument.renderers import ConsoleRenderer
from pyinstrument.stack_sampler import get_stack_sampler
from sqlalchemy import event
from werkzeug.test import EnvironBuilder

import config
from forum import create_app
from forum.db import db

REMOTE = {"REMOTE_ADDR": "127.0.0.1"}
DRIVER_CALLS = frozenset({"execute", "executemany", "fetchall", "fetchone", "fetchmany", "commit"})


@dataclass(frozen=True)
class Route:
    name: str
    app: str  # "parlor" or "baseline"
    path: str
    signed_in: bool = False
    post: bool = False


def routes(read_topic: int, reply_topic: int) -> list[Route]:
    return [
        Route("topic JSON, signed out", "parlor", f"/t/{read_topic}.json"),
        Route("topic HTML page, signed out", "parlor", f"/t/topic-{read_topic}/{read_topic}"),
        Route("topic JSON, signed in", "parlor", f"/t/{read_topic}.json", signed_in=True),
        Route("creating a reply", "parlor", "/posts.json", signed_in=True, post=True),
        Route("latest topics JSON", "parlor", "/latest.json"),
        Route("baseline 20 rows", "baseline", "/rows/20.json"),
        Route("baseline insert", "baseline", "/rows.json", post=True),
    ]


def environs(route: Route, n: int, cookie: str, csrf: str, reply_topic: int) -> list[dict]:
    headers = {"User-Agent": servers.USER_AGENT}
    if route.signed_in:
        headers |= {"Cookie": cookie, "X-CSRF-Token": csrf}
    out = []
    for i in range(n):
        body: dict[str, Any] | None = None
        if route.post:
            text = f"Profiled reply number {i} at {time.time_ns()}, long enough to be posted."
            body = (
                {"topic_id": reply_topic, "raw": text} if route.app == "parlor" else {"body": text}
            )
        builder = EnvironBuilder(
            path=route.path,
            method="POST" if route.post else "GET",
            headers=headers,
            json=body,
            environ_base=REMOTE,
        )
        out.append(builder.get_environ())
    return out


def call(app: Flask, environ: dict) -> None:
    status: list[str] = []
    body = app(environ, lambda s, h, exc=None: status.append(s))
    try:
        for _ in body:
            pass
    finally:
        getattr(body, "close", lambda: None)()
    if not status[0].startswith("200"):
        raise RuntimeError(f"{environ['PATH_INFO']}: {status[0]}")


def timed_ms(app: Flask, batch: Iterable[dict]) -> float:
    """Median CPU time of one request: on a shared machine, wall time mostly measures the
    neighbours (SQLite runs in this process, so its work is counted)."""
    times = []
    for environ in batch:
        started = time.process_time()
        call(app, environ)
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def statements(app: Flask, environ: dict) -> list[str]:
    """What one request says to the database: the first words of each statement."""
    said: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        said.append(" ".join(statement.split()[:2]).rstrip(","))

    ext = app.extensions["sqlalchemy"]
    with app.app_context():
        engine = ext.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        call(app, environ)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return said


def bucket(frame: Frame) -> str:
    """Which code a sample of self time belongs to, by the file of its frame."""
    path = (frame.file_path or "").replace("\\", "/")
    if path == "<built-in>" and frame.function in DRIVER_CALLS:
        return "database driver"
    for marker, name in (
        ("/psycopg", "database driver"),
        ("/sqlite3/", "database driver"),
        ("/sqlalchemy/", "SQLAlchemy"),
        ("/flask_sqlalchemy/", "SQLAlchemy"),
        ("/jinja2/", "Jinja"),
        ("/templates/", "Jinja"),
        ("/markupsafe/", "Jinja"),
        ("/markdown_it/", "Markdown, sanitiser"),
        ("/nh3", "Markdown, sanitiser"),
        ("/flask_login/", "session, sign-in"),
        ("/itsdangerous/", "session, sign-in"),
        ("/json/", "JSON encoding"),
        ("/logging/", "logging"),
        ("/werkzeug/", "Flask, Werkzeug"),
        ("/flask/", "Flask, Werkzeug"),
        ("/forum/", "Parlor"),
        ("/auth/", "Parlor"),
        ("/bench/", "baseline app"),
    ):
        if marker in path:
            return name
    return "other (stdlib, ...)"


def _walk(frame: Frame, visit: Callable[[Frame, Frame | None], None], parent: Frame | None) -> None:
    visit(frame, parent)
    for child in frame.children:
        _walk(child, visit, frame)


def breakdown(root: Frame) -> tuple[dict[str, float], dict[str, float]]:
    """Self time per bucket and per function (`file:function`), in seconds."""
    buckets: dict[str, float] = defaultdict(float)
    functions: dict[str, float] = defaultdict(float)

    def visit(frame: Frame, parent: Frame | None) -> None:
        if not frame.is_synthetic_leaf:  # "[self]" leaves carry their parent's self time
            return
        owner = parent or frame
        if (owner.file_path or "") == "<built-in>" and owner.function not in DRIVER_CALLS:
            kind = "other (stdlib, ...)"
        else:
            kind = bucket(owner)
        buckets[kind] += frame.time
        functions[f"{owner.file_path_short}:{owner.function}"] += frame.time

    _walk(root, visit, None)
    return dict(buckets), dict(functions)


def profile_route(app: Flask, batch: list[dict], out: Path) -> tuple[dict, dict, float]:
    # Sampled on this process's CPU clock, not the wall clock: on a shared machine the
    # wall clock charges whatever frame was running with the time the process sat waiting.
    sampler = get_stack_sampler()
    sampler.timer_func = time.process_time
    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        for environ in batch:
            call(app, environ)
    finally:
        session = profiler.stop()
        sampler.timer_func = None
    out.write_text(ConsoleRenderer(unicode=True, show_all=False).render(session))
    root = session.root_frame()
    buckets, functions = breakdown(root) if root else ({}, {})
    return buckets, functions, session.cpu_time


def run(
    database: str,
    scratch: Path,
    secret: str,
    cookie: str,
    csrf: str,
    out_dir: Path,
    *,
    n: int = 300,
    read_topic: int = 1,
    reply_topic: int = 2,
) -> str:
    """Time and profile every route; write the call trees to `out_dir`; return Markdown."""
    env = servers.parlor_settings(database, scratch, "http://127.0.0.1:9", secret)
    apps = {
        "parlor": create_app(config.settings(env, read_dotenv=False)),
        "baseline": baseline_app.create_app(config.database_url(database)),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    timing = [
        "| route | CPU ms per request, in-process (median) | vs baseline | SQL statements |",
        "|---|---|---|---|",
    ]
    sections = []
    rows = routes(read_topic, reply_topic)
    medians: dict[str, float] = {}
    counts: dict[str, list[str]] = {}
    for route in rows:
        app = apps[route.app]
        timed_ms(app, environs(route, 20, cookie, csrf, reply_topic))  # warm up
        medians[route.name] = timed_ms(app, environs(route, n, cookie, csrf, reply_topic))
        counts[route.name] = statements(app, environs(route, 1, cookie, csrf, reply_topic)[0])
    for route in rows:
        base = medians["baseline insert" if route.post else "baseline 20 rows"]
        ratio = base / medians[route.name]
        said = counts[route.name]
        timing.append(
            f"| {route.name} | {medians[route.name]:.2f} | {ratio:.2f}x | {len(said)}: "
            + ", ".join(f"`{verb}`" for verb in said)
            + " |"
        )
        slug = route.name.replace(",", "").replace(" ", "-")
        batch = environs(route, n, cookie, csrf, reply_topic)
        buckets, functions, duration = profile_route(
            apps[route.app], batch, out_dir / f"{slug}.txt"
        )
        total = sum(buckets.values()) or 1.0
        shares = ", ".join(
            f"{name} {seconds / total:.0%}"
            for name, seconds in sorted(buckets.items(), key=lambda kv: -kv[1])
            if seconds / total >= 0.02
        )
        hot = ", ".join(
            f"`{name}` {seconds / total:.0%}"
            for name, seconds in sorted(functions.items(), key=lambda kv: -kv[1])[:6]
        )
        sections.append(
            f"- **{route.name}** ({duration / n * 1000:.2f} ms CPU per request under the profiler; "
            f"`{out_dir.name}/{slug}.txt`): {shares}. Hottest: {hot}."
        )
    for app, engine_of in ((apps["parlor"], db), (apps["baseline"], baseline_app.db)):
        with app.app_context():
            engine_of.engine.dispose()
    return (
        "\n".join(timing)
        + "\n\nSelf time by code (share of sampled time):\n\n"
        + "\n".join(sections)
    )
