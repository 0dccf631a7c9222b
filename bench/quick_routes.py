"""Quick in-process CPU time per request of the hot routes (issue 10, §3), for A/B checks
of a change: a throwaway SQLite forum (one topic of 20 posts, one to reply to), the routes
called through Flask's test client, CPU time (`time.process_time`) per request.

Cheaper than `profile_routes.py` (no dataset, no emulator, no profiler): run it on two
copies of the tree alternately, a few times, and compare the medians; the machine's other
work moves single runs by ±20 %. The baseline app (`baseline_app.py`) is timed the same way
on the same database, and each route's figure is also given as the baseline's time over
Parlor's (the HTTP benchmark's ratio, without gunicorn and the load generator).

    .venv/bin/python bench/quick_routes.py [requests per route, default 200]
        [--postgresql URL: on a scratch database of that server instead of SQLite]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import baseline_app  # noqa: E402
import common  # noqa: E402
from conftest import make_user  # noqa: E402

import config  # noqa: E402
from forum import create_app  # noqa: E402
from forum.content.categories import create_category  # noqa: E402
from forum.db import db  # noqa: E402

BODY = "A post body that is long enough to be accepted."


def build(tmp: str, url: str | None = None) -> tuple[Any, dict[str, Callable[[], Any]]]:
    """The routes to time, on `url` (a new SQLite file in `tmp` by default)."""
    url = config.database_url(url or f"sqlite:///{tmp}/quick.sqlite3")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "quick-bench",
            "GITHUB_CLIENT_ID": "c",
            "GITHUB_CLIENT_SECRET": "s",
            "GITHUB_URL": "https://github.test",
            "GITHUB_API_URL": "https://api.github.test",
            "TRUSTED_PROXIES": "",
            "PUBLIC_URL": "",
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": None,
            "ERASURE_LEDGER": f"{tmp}/ledger.jsonl",
            "ACCESS_LOG": f"{tmp}/access.log",  # on, as deployed
        }
    )
    with app.app_context():
        db.create_all()
        user = make_user("alice")
        session_id = user.get_id()
        category = create_category("General", "Anything goes.")
        db.session.commit()
        category_id = category.id
    member = app.test_client()
    with member.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    headers = {"X-CSRF-Token": member.get("/session/csrf.json").get_json()["csrf"]}

    def new_topic(title: str) -> int:
        made = member.post(
            "/posts.json",
            json={"title": title, "raw": BODY, "category": category_id},
            headers=headers,
        )
        return int(made.get_json()["topic_id"])

    read = new_topic("A topic of twenty posts")
    for n in range(19):
        member.post("/posts.json", json={"topic_id": read, "raw": f"{n} {BODY}"}, headers=headers)
    reply_to = new_topic("A topic to reply to")
    anon = app.test_client()
    serial = count()
    baseline_app.prepare(url)
    baseline = baseline_app.create_app(url).test_client()
    return app, {
        "baseline 20 rows": lambda: baseline.get("/rows/20.json"),
        "baseline 30 rows": lambda: baseline.get("/rows/30.json"),
        "baseline insert": lambda: baseline.post("/rows.json", json={"body": BODY}),
        "topic JSON, signed out": lambda: anon.get(f"/t/{read}.json"),
        "topic HTML page, signed out": lambda: anon.get(f"/t/topic/{read}"),
        "topic JSON, signed in": lambda: member.get(f"/t/{read}.json"),
        "creating a reply": lambda: member.post(
            "/posts.json",
            json={"topic_id": reply_to, "raw": f"{next(serial)} {BODY}"},
            headers=headers,
        ),
        "latest topics JSON": lambda: anon.get("/latest.json"),
    }


# Each route's baseline, as in the HTTP benchmark.
BASELINE_OF = {
    "topic JSON, signed out": "baseline 20 rows",
    "topic HTML page, signed out": "baseline 20 rows",
    "topic JSON, signed in": "baseline 20 rows",
    "creating a reply": "baseline insert",
    "latest topics JSON": "baseline 30 rows",
}


@contextmanager
def database(postgresql: str | None) -> Iterator[str | None]:
    if postgresql:
        with common.postgres_scratch(postgresql, "quick") as url:
            yield url
    else:
        yield None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=200, help="requests per route")
    parser.add_argument("--postgresql", help="a server URL for a scratch database")
    args = parser.parse_args()
    n = args.n
    medians: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, database(args.postgresql) as url:
        app, routes = build(tmp, url)
        for name, call in routes.items():
            assert call().status_code == 200, name
            for _ in range(20):  # warm up
                call()
            samples = []
            for _ in range(n):
                started = time.process_time()
                call()
                samples.append((time.process_time() - started) * 1000)
            samples.sort()
            medians[name] = statistics.median(samples)
            base = BASELINE_OF.get(name)
            versus = f"  {medians[base] / medians[name]:.2f}x baseline" if base else ""
            print(
                f"{name:28s} median {medians[name]:6.2f} ms"
                f"  p10 {samples[len(samples) // 10]:6.2f} ms{versus}"
            )
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
