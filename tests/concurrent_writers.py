"""Many members writing at once over real HTTP, and what the database must hold afterwards
(issue 9, §4). Used by tests/test_concurrency.py (a bounded run) and bench/concurrency.py
(the long one).

Each client is its own member with its own session cookie and its own address (sent in
`X-Forwarded-For` through a trusted loopback proxy), posting replies round-robin into the
same few topics, then liking and unliking the same posts as everyone else. Afterwards the
database is read directly: every reply the server accepted is stored exactly once, by its
member, from its address; post numbers are 1..n per topic; every counter is exact.
"""

from __future__ import annotations

import http.cookiejar
import ipaddress
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask
from served import session_cookie
from sqlalchemy import func, select

from forum.content.categories import create_category
from forum.content.models import Category, Like, Post, Topic
from forum.content.posting import create_topic
from forum.db import IPAddress, db
from forum.moderation.ip_uses import AddressUse
from forum.users.models import User

SEED_IP = ipaddress.ip_address("192.0.2.1")
# Answers that promise nothing was written, so the same request may be sent again.
RETRYABLE = {429, 502, 503, 504}
MAX_TRIES = 6


@dataclass(frozen=True)
class Plan:
    clients: int = 8
    replies: int = 25  # per client
    topics: int = 3
    liked_posts: int = 4  # per topic: the posts every client likes and unlikes


@dataclass(frozen=True)
class Member:
    index: int
    user_id: int
    username: str
    ip: IPAddress
    cookie: str
    csrf: str


@dataclass(frozen=True)
class World:
    category_id: int
    topic_ids: list[int]
    members: list[Member]


@dataclass
class Outcome:
    """What the clients saw."""

    accepted: dict[str, tuple[Member, int, dict[str, Any]]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # no answer: stored at most once
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    retried: int = 0
    seconds: float = 0.0
    like_requests: int = 0
    like_seconds: float = 0.0
    likes_wanted: dict[int, set[int]] = field(default_factory=dict)  # post id -> user ids
    like_surprises: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # requests that got no answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def figures(self, plan: Plan) -> str:
        total = plan.clients * plan.replies
        rate = len(self.accepted) / self.seconds if self.seconds else 0.0
        like_rate = self.like_requests / self.like_seconds if self.like_seconds else 0.0
        return (
            f"{plan.clients} clients x {plan.replies} replies into {plan.topics} topics: "
            f"{len(self.accepted)}/{total} accepted, {len(self.refused)} refused, "
            f"{len(self.unknown)} unanswered, {self.retried} retried "
            f"(statuses {dict(sorted(self.statuses.items()))}); "
            f"{self.seconds:.1f} s, {rate:.0f} posts/s; "
            f"{self.like_requests} like/unlike requests in {self.like_seconds:.1f} s "
            f"({like_rate:.0f}/s)"
        )


def client_ip(index: int) -> IPAddress:
    """Half the members on IPv4, half on IPv6 (documentation ranges)."""
    if index % 2:
        return ipaddress.ip_address(f"2001:db8:c0::{index + 1:x}")
    return ipaddress.ip_address(f"198.51.{100 + index // 250}.{index % 250 + 1}")


def prepare(app: Flask, plan: Plan) -> World:
    """The members, their session cookies, a category and the topics, made in-process."""
    with app.app_context():
        category = create_category("Storm", "Where everyone writes at once.")
        users = []
        for i in range(plan.clients):
            user = User(
                github_id=90_000_000 + i,
                username=f"writer{i}",
                username_lower=f"writer{i}",
                first_name="Writer",
                last_name=str(i),
                email=f"writer{i}@example.com",
            )
            db.session.add(user)
            users.append(user)
        db.session.flush()
        topic_ids = [
            create_topic(
                users[t % len(users)],
                f"Everyone writes here, topic {t}",
                f"The first post of topic {t}, long enough to pass.",
                category.id,
                SEED_IP,
            ).topic_id
            for t in range(plan.topics)
        ]
        db.session.commit()
        ids = [(u.id, u.username) for u in users]
        category_id = category.id
    members = []
    for i, (user_id, username) in enumerate(ids):
        cookie, csrf = session_cookie(app, user_id)
        members.append(Member(i, user_id, username, client_ip(i), cookie, csrf))
    return World(category_id, topic_ids, members)


def _browser(member: Member, keep_alive: bool = True) -> requests.Session:
    browser = requests.Session()
    if not keep_alive:
        # A connection left idle past gunicorn's keep-alive is closed by the server, and a
        # POST sent on it as it closes fails without an answer: the client's race, not
        # Parlor's, so a client that writes only now and then opens a fresh connection.
        browser.headers["Connection"] = "close"
    # The cookie goes in by hand: the served app marks it Secure (production settings),
    # which a cookie jar would then keep off plain HTTP; and nothing may replace it.
    browser.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    browser.headers.update(
        {
            "Cookie": f"session={member.cookie}",
            "X-CSRF-Token": member.csrf,
            "X-Forwarded-For": str(member.ip),
            "Accept": "application/json",
        }
    )
    return browser


def _send(browser: requests.Session, method: str, url: str, out: Outcome, **kw: Any) -> Any:
    """One write, sent again only on an answer that says nothing was written. Returns the
    response, or None when the connection failed (the write may or may not have happened)."""
    for attempt in range(MAX_TRIES):
        try:
            r = browser.request(method, url, timeout=60, **kw)
        except requests.RequestException as exc:
            with out.lock:
                out.errors.append(f"{method} {url}: {exc!r}"[:300])
            return None
        with out.lock:
            out.statuses[r.status_code] += 1
        if r.status_code not in RETRYABLE or attempt == MAX_TRIES - 1:
            return r
        with out.lock:
            out.retried += 1
        time.sleep(0.05 * 2**attempt)
    return None


def post_replies(base: str, world: World, plan: Plan, out: Outcome) -> None:
    """Every client posts its replies, all clients at once."""
    run = uuid.uuid4().hex[:8]
    start = threading.Barrier(len(world.members))

    def client(member: Member) -> None:
        browser = _browser(member)
        start.wait()
        for n in range(plan.replies):
            topic_id = world.topic_ids[(member.index + n) % len(world.topic_ids)]
            marker = f"storm-{run}-{member.index}-{n}"
            raw = f"Reply {n} from {member.username}, marker {marker}."
            r = _send(browser, "POST", f"{base}/posts.json", out,
                      json={"topic_id": topic_id, "raw": raw})  # fmt: skip
            with out.lock:
                if r is None:
                    out.unknown.add(marker)
                elif r.status_code == 200:
                    out.accepted[marker] = (member, topic_id, r.json())
                else:
                    out.refused.append((marker, r.status_code, r.text[:300]))

    started = time.perf_counter()
    with ThreadPoolExecutor(len(world.members)) as pool:
        list(pool.map(client, world.members))
    out.seconds = time.perf_counter() - started


def like_storm(base: str, app: Flask, world: World, plan: Plan, out: Outcome) -> None:
    """Every client likes and unlikes the same posts at once; each also sends the same like
    twice at the same moment, of which exactly one may count."""
    with app.app_context():
        targets = [
            (post_id, author)
            for topic_id in world.topic_ids
            for post_id, author in db.session.execute(
                select(Post.id, Post.user_id)
                .where(Post.topic_id == topic_id)
                .order_by(Post.post_number)
                .limit(plan.liked_posts)
            )
        ]
    out.likes_wanted = {p: set() for p, _ in targets}
    start = threading.Barrier(len(world.members))

    def like(browser: requests.Session, post_id: int) -> Any:
        return _send(browser, "POST", f"{base}/post_actions.json", out,
                     json={"id": post_id, "post_action_type_id": 2})  # fmt: skip

    def unlike(browser: requests.Session, post_id: int) -> Any:
        return _send(browser, "DELETE", f"{base}/post_actions/{post_id}.json", out,
                     params={"post_action_type_id": 2})  # fmt: skip

    def expect(member: Member, what: str, r: Any, status: int) -> None:
        with out.lock:
            out.like_requests += 1
            got = None if r is None else r.status_code
            if got != status:
                body = "" if r is None else r.text[:200]
                out.like_surprises.append(f"{member.username} {what}: {got}, not {status} {body}")

    def client(member: Member) -> None:
        browser, twin = _browser(member), _browser(member, keep_alive=False)
        start.wait()
        for post_id, author in targets:
            if author == member.user_id:  # members cannot like their own posts
                continue
            with ThreadPoolExecutor(2) as pair:  # the same like twice at once
                first, second = pair.map(like, (browser, twin), (post_id, post_id))
            codes = sorted(r.status_code if r is not None else 0 for r in (first, second))
            with out.lock:
                out.like_requests += 2
                if codes != [200, 403]:
                    out.like_surprises.append(f"{member.username} double like {post_id}: {codes}")
            expect(member, f"unlike {post_id}", unlike(browser, post_id), 200)
            expect(member, f"like {post_id}", like(browser, post_id), 200)
            if member.index % 2:  # odd members end unliked
                expect(member, f"unlike {post_id}", unlike(browser, post_id), 200)
            else:
                with out.lock:
                    out.likes_wanted[post_id].add(member.user_id)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(world.members)) as pool:
        list(pool.map(client, world.members))
    out.like_seconds = time.perf_counter() - started


def problems(app: Flask, world: World, plan: Plan, out: Outcome) -> list[str]:
    """Everything the database holds that it should not, or lacks; [] when all is exact."""
    found: list[str] = []
    found += [f"refused {m}: {status} {body}" for m, status, body in out.refused]
    found += out.like_surprises
    found += [f"no answer: {e}" for e in out.errors]
    with app.app_context():
        posts = db.session.execute(
            select(Post.id, Post.topic_id, Post.post_number, Post.user_id, Post.ip, Post.raw)
            .where(Post.topic_id.in_(world.topic_ids))
            .order_by(Post.id)
        ).all()
        by_marker: dict[str, list[Any]] = {}
        for p in posts:
            if p.post_number == 1:
                continue
            marker = p.raw.rsplit("marker ", 1)[-1].rstrip(".")
            by_marker.setdefault(marker, []).append(p)
        for marker, (member, topic_id, answer) in out.accepted.items():
            rows = by_marker.get(marker, [])
            if len(rows) != 1:
                found.append(f"accepted {marker} stored {len(rows)} times")
                continue
            row = rows[0]
            if (row.id, row.post_number) != (answer["id"], answer["post_number"]):
                found.append(f"{marker}: answered {answer['id']}/{answer['post_number']}, "
                             f"stored {row.id}/{row.post_number}")  # fmt: skip
            if (row.topic_id, row.user_id, row.ip) != (topic_id, member.user_id, member.ip):
                found.append(f"{marker}: stored as {row.topic_id}/{row.user_id}/{row.ip}")
        for marker, rows in by_marker.items():
            if marker not in out.accepted and (marker not in out.unknown or len(rows) > 1):
                found.append(f"{marker} stored {len(rows)} times but never accepted")

        for topic in db.session.scalars(select(Topic).where(Topic.id.in_(world.topic_ids))):
            numbers = sorted(p.post_number for p in posts if p.topic_id == topic.id)
            if numbers != list(range(1, len(numbers) + 1)):
                found.append(f"topic {topic.id}: post numbers not 1..n: {numbers[:5]}...")
            if (topic.posts_count, topic.highest_post_number) != (len(numbers), len(numbers)):
                found.append(f"topic {topic.id}: posts_count {topic.posts_count}, highest "
                             f"{topic.highest_post_number}, rows {len(numbers)}")  # fmt: skip
            last = max((p for p in posts if p.topic_id == topic.id), key=lambda p: p.post_number)
            if topic.last_post_user_id != last.user_id:
                found.append(f"topic {topic.id}: last poster {topic.last_post_user_id}, "
                             f"last post by {last.user_id}")  # fmt: skip
            topic_likes = db.session.scalar(
                select(func.coalesce(func.sum(Post.like_count), 0)).where(
                    Post.topic_id == topic.id, Post.deleted_at.is_(None)
                )
            )
            if topic.like_count != topic_likes:
                found.append(
                    f"topic {topic.id}: like_count {topic.like_count}, posts' {topic_likes}"
                )
        category = db.session.get(Category, world.category_id)
        assert category is not None
        if (category.topic_count, category.post_count) != (len(world.topic_ids), len(posts)):
            found.append(f"category: {category.topic_count} topics, {category.post_count} posts; "
                         f"rows {len(world.topic_ids)}, {len(posts)}")  # fmt: skip

        for post_id, wanted in out.likes_wanted.items():
            likers = set(db.session.scalars(select(Like.user_id).where(Like.post_id == post_id)))
            count = db.session.scalar(select(Post.like_count).where(Post.id == post_id))
            if likers != wanted or count != len(wanted):
                found.append(f"post {post_id}: like_count {count}, {len(likers)} likes, "
                             f"{len(wanted)} wanted")  # fmt: skip

        for member in world.members:
            mine = [p for p in posts if p.user_id == member.user_id and p.ip == member.ip]
            uses = db.session.scalar(
                select(AddressUse.uses).where(
                    AddressUse.user_id == member.user_id, AddressUse.ip == member.ip
                )
            )
            if (uses or 0) != len(mine):
                found.append(f"{member.username}: ip_uses says {uses}, {len(mine)} posts")
    return found
