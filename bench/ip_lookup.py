"""IP lookups at forum scale (issue 4, §7): is every lookup answered from an index?

Builds databases of 10,000 and 1,000,000 posts (50,000 accounts, random IPv4 and IPv6,
bulk inserts), then prints the median time of an address lookup, a /24 lookup, a typical
account's IP report and the report of an account with 100,000 posts, at both sizes, on
SQLite and PostgreSQL. The figure that matters is the ratio of the large to the small
database (goal: at most 3x), since absolute times on a shared machine drift.

    .venv/bin/python bench/ip_lookup.py                    # both sizes, SQLite only
    .venv/bin/python bench/ip_lookup.py --postgresql postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PARLOR_ENV", "testing")

from sqlalchemy import create_engine, insert, select, text

from forum import create_app
from forum.content.models import Category, Post, Topic
from forum.db import db
from forum.moderation import ip_reports
from forum.moderation.screening import parse_network
from forum.users.models import User

ACCOUNTS = 50_000
HEAVY_POSTS = 100_000
HEAVY_IPS = 200
BATCH = 20_000
RUNS = 25


def random_ip(rng: random.Random) -> Any:
    if rng.random() < 0.7:
        return ipaddress.IPv4Address(rng.getrandbits(32))
    return ipaddress.IPv6Address((0x2001_0DB8 << 96) | rng.getrandbits(96))


def build(url: str, posts: int, seed: int = 7) -> Any:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    rng = random.Random(seed)
    with app.app_context():
        db.drop_all()
        db.create_all()
        conn = db.session.connection()
        conn.execute(insert(Category), [{"name": "Bench", "slug": "bench", "description": ""}])
        users = [
            {"id": i, "github_id": i, "username": f"user{i}", "username_lower": f"user{i}",
             "first_name": "", "last_name": "", "email": None, "role": "member",
             "names_locked": False, "session_token": f"t{i}", "suspended_reason": ""}
            for i in range(1, ACCOUNTS + 1)
        ]  # fmt: skip
        for start in range(0, len(users), BATCH):
            conn.execute(insert(User), users[start : start + BATCH])
        topics = max(posts // 100, 1)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        conn.execute(
            insert(Topic),
            [{"id": t, "title": f"Topic {t}", "slug": f"topic-{t}", "category_id": 1,
              "user_id": 1, "last_post_user_id": 1, "created_at": now, "bumped_at": now,
              "last_posted_at": now, "posts_count": 0, "highest_post_number": 0,
              "like_count": 0, "views": 0, "closed": False} for t in range(1, topics + 1)],
        )  # fmt: skip
        # The heavy account (user 1): up to 100,000 posts from 200 addresses; the rest of
        # the posts spread over everyone else from random addresses.
        heavy = min(HEAVY_POSTS, posts // 10)
        heavy_ips = [random_ip(rng) for _ in range(HEAVY_IPS)]
        rows: list[dict[str, Any]] = []
        numbers: dict[int, int] = {}
        for n in range(posts):
            topic = n % topics + 1
            numbers[topic] = numbers.get(topic, 0) + 1
            user = 1 if n < heavy else rng.randint(2, ACCOUNTS)
            ip = heavy_ips[n % HEAVY_IPS] if n < heavy else random_ip(rng)
            rows.append(
                {"topic_id": topic, "user_id": user, "post_number": numbers[topic],
                 "raw": "x", "cooked": "<p>x</p>", "ip": ip,
                 "created_at": now + timedelta(seconds=n), "updated_at": now,
                 "version": 1, "like_count": 0}
            )  # fmt: skip
            if len(rows) == BATCH:
                conn.execute(insert(Post), rows)
                rows.clear()
        if rows:
            conn.execute(insert(Post), rows)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.connect() as c:
                c.exec_driver_sql("ANALYZE")
        sample = db.session.scalar(select(Post.ip).where(Post.user_id != 1).limit(1))
    return app, sample


def median_ms(fn: Callable[[], Any]) -> float:
    fn()  # warm the cache once
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(app: Any, sample: Any) -> dict[str, float]:
    with app.app_context():
        single = parse_network(str(sample))
        v4 = sample if sample.version == 4 else ipaddress.IPv4Address("192.0.2.1")
        slash24 = parse_network(f"{v4}/24")
        typical = db.session.scalar(select(Post.user_id).where(Post.ip == sample).limit(1))
        heavy = db.session.get(User, 1)
        other = db.session.get(User, typical)

        def lookup(network: Any) -> Callable[[], Any]:
            return lambda: (ip_reports.lookup_accounts(network),
                            ip_reports.lookup_posts(network, 0))  # fmt: skip

        return {
            "address lookup": median_ms(lookup(single)),
            "/24 lookup": median_ms(lookup(slash24)),
            "account IP report (typical)": median_ms(lambda: ip_reports.user_ips(other)),
            "account IP report (heavy)": median_ms(lambda: ip_reports.user_ips(heavy)),
        }


def run(label: str, make_url: Callable[[int], str], sizes: list[int]) -> list[str]:
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        started = time.perf_counter()
        app, sample = build(make_url(size), size)
        print(f"  {label}: built {size:,} posts in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)  # fmt: skip
        results[size] = measure(app, sample)
        with app.app_context():
            heavy_posts = db.session.scalar(
                select(db.func.count()).select_from(Post).where(Post.user_id == 1)
            )
            db.engine.dispose()
        results[size]["_heavy_posts"] = heavy_posts
    small, large = sizes[0], sizes[-1]
    lines = []
    for name in results[small]:
        if name.startswith("_"):
            continue
        a, b = results[small][name], results[large][name]
        lines.append(f"| {label} | {name} | {a:.2f} | {b:.2f} | {b / a:.2f}x |")
    lines.append(
        f"| {label} | (heavy account's posts) | {results[small]['_heavy_posts']:,} "
        f"| {results[large]['_heavy_posts']:,} | |"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--postgresql", help="a PostgreSQL URL whose server may host a "
                        "scratch database (created and dropped here)")  # fmt: skip
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="parlor-bench-"))
    lines = run("SQLite", lambda n: f"sqlite:///{scratch}/posts-{n}.sqlite3", sizes)
    if args.postgresql:
        admin = create_engine(args.postgresql, isolation_level="AUTOCOMMIT")
        name = f"parlor_bench_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            base = args.postgresql.rsplit("/", 1)[0]
            lines += run("PostgreSQL", lambda n: f"{base}/{name}", sizes)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    small, large = f"{sizes[0]:,}", f"{sizes[-1]:,}"
    print(f"| database | median of {RUNS} | {small} posts (ms) | {large} posts (ms) | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
