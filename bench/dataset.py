"""The benchmark dataset: a forum of N posts over 50,000 accounts with random IPv4 and
IPv6 addresses, written with bulk inserts. Account 1 is the "heavy" member, with up to
`heavy_posts` posts from 200 addresses; account 2, with `typical_posts`, is a typical member
whose activity is the same in every forum built; the rest spread over everyone else."""

from __future__ import annotations

import ipaddress
import os
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PARLOR_ENV", "testing")

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import insert, text

from forum import create_app
from forum.content.models import Category, Post, Topic
from forum.db import checkpoint, db
from forum.moderation.ip_uses import rebuild
from forum.users.models import User

ACCOUNTS = 50_000
HEAVY_IPS = 200
TYPICAL_IPS = 10
BATCH = 20_000
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def random_ip(rng: random.Random) -> Any:
    if rng.random() < 0.7:
        return ipaddress.IPv4Address(rng.getrandbits(32))
    return ipaddress.IPv6Address((0x2001_0DB8 << 96) | rng.getrandbits(96))


def bench_app(url: str, **overrides: Any) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, **overrides})


def build(
    url: str,
    posts: int,
    heavy_posts: int,
    accounts: int = ACCOUNTS,
    typical_posts: int = 0,
    seed: int = 7,
    **overrides: Any,
) -> Flask:
    """A fresh database at `url` holding the dataset; returns an app bound to it."""
    app = bench_app(url, **overrides)
    rng = random.Random(seed)
    with app.app_context():
        # The schema the migrations build, as in production; a scratch database first
        # loses whatever an earlier run left in it.
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        upgrade()
        conn = db.session.connection()
        conn.execute(insert(Category), [{"name": "Bench", "slug": "bench", "description": ""}])
        users = [
            {
                "id": i,
                "github_id": i,
                "username": f"user{i}",
                "username_lower": f"user{i}",
                "first_name": "First",
                "last_name": "Last",
                "email": f"user{i}@example.com",
                "role": "admin" if i == accounts else "member",
                "names_locked": False,
                "session_token": f"t{i}",
                "suspended_reason": "",
                "newsletter": False,
            }
            for i in range(1, accounts + 1)
        ]
        for start in range(0, len(users), BATCH):
            conn.execute(insert(User), users[start : start + BATCH])
        topics = max(posts // 100, 1)
        conn.execute(
            insert(Topic),
            [
                {
                    "id": t,
                    "title": f"Topic number {t}",
                    "slug": f"topic-{t}",
                    "category_id": 1,
                    "user_id": accounts,
                    "last_post_user_id": accounts,
                    "created_at": EPOCH,
                    "bumped_at": EPOCH,
                    "last_posted_at": EPOCH,
                    "posts_count": 0,
                    "highest_post_number": 0,
                    "like_count": 0,
                    "views": 0,
                    "closed": False,
                }
                for t in range(1, topics + 1)
            ],
        )
        heavy = min(heavy_posts, posts)
        heavy_ips = [random_ip(rng) for _ in range(HEAVY_IPS)]
        typical = heavy + typical_posts  # posts heavy..typical are account 2's
        typical_ips = [random_ip(rng) for _ in range(TYPICAL_IPS)] if typical_posts else []
        others = 3 if typical_posts else 2  # the first account posting at random
        rows: list[dict[str, Any]] = []
        numbers: dict[int, int] = {}
        for n in range(posts):
            topic = n % topics + 1
            numbers[topic] = numbers.get(topic, 0) + 1
            if n < heavy:
                user, ip = 1, heavy_ips[n % HEAVY_IPS]
            elif n < typical:
                user, ip = 2, typical_ips[n % TYPICAL_IPS]
            else:
                user, ip = rng.randint(others, accounts), random_ip(rng)
            raw = f"Post {n} of the benchmark forum, with a few words of text in it."
            rows.append(
                {
                    "topic_id": topic,
                    "user_id": user,
                    "post_number": numbers[topic],
                    "raw": raw,
                    "cooked": f"<p>{raw}</p>",
                    "ip": ip,
                    "created_at": EPOCH + timedelta(seconds=n),
                    "updated_at": EPOCH,
                    "version": 1,
                    "like_count": 0,
                }
            )
            if len(rows) == BATCH:
                conn.execute(insert(Post), rows)
                rows.clear()
        if rows:
            conn.execute(insert(Post), rows)
        for topic, count in numbers.items():
            conn.execute(
                Topic.__table__.update()
                .where(Topic.id == topic)
                .values(posts_count=count, highest_post_number=count)
            )
        if db.engine.dialect.name == "postgresql":  # explicit ids leave the sequences behind
            for table in ("users", "topics"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        rebuild()  # the per-address counts the posts imply, as the app keeps them
        db.session.commit()
        analyze()
    return app


def analyze() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.connect() as c:
            c.exec_driver_sql("ANALYZE")
            c.commit()
        checkpoint()  # a WAL full of the bulk load would slow every read after it
