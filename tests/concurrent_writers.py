"""Many members writing at once over real HTTP, and what the database must hold afterwards
(issue 9, §4). Used by tests/test_concurrency.py (a bounded run) and bench/concurrency.py
(the long one).

Each client is its own member with its own session cookie and its own address (sent in
`X-Forwarded-For` through a trusted loopback proxy). All at once, they post replies
round-robin into the same few topics, open new topics in the same category, delete some of
their replies and edit one twice at the same moment (a double submit); then they like and
unlike the same posts. Afterwards the database is read directly: every reply the server
accepted is stored exactly once, by its member, from its address; post numbers are 1..n per
topic; every counter is exact.
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
from forum.content.models import Category, Like, Post, PostEdit, Topic
from forum.content.posting import create_topic
from forum.db import IPAddress, db
from forum.moderation.ip_uses import AddressUse
from forum.users.models import User

SEED_IP = ipaddress.ip_address("192.0.2.1")
# Answers that promise nothing was written, so the same request may be sent again.
RETRYABLE = {429, 502, 503, 504}
MAX_TRIES = 6
DELETE_EVERY = 5  # each client deletes every fifth reply it wrote


@dataclass(frozen=True)
class Plan:
    clients: int = 8
    replies: int = 25  # per client
    topics: int = 3
    new_topics: int = 2  # per client, opened while the replies go in
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
    new_topics: dict[str, tuple[Member, dict[str, Any]]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)  # post ids
    edits: dict[int, int] = field(default_factory=dict)  # post id -> accepted edits
    statuses: Counter[int] = field(default_factory=Counter)
    retried: int = 0
    seconds: float = 0.0
    like_requests: int = 0
    like_seconds: float = 0.0
    likes_wanted: dict[int, set[int]] = field(default_factory=dict)  # post id -> user ids
    surprises: list[str] = field(default_factory=list)  # answers other than expected
    errors: list[str] = field(default_factory=list)  # requests that got no answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def figures(self, plan: Plan) -> str:
        total = plan.clients * plan.replies
        rate = len(self.accepted) / self.seconds if self.seconds else 0.0
        like_rate = self.like_requests / self.like_seconds if self.like_seconds else 0.0
        return (
            f"{plan.clients} clients x {plan.replies} replies into {plan.topics} topics "
            f"(+{len(self.new_topics)} new topics, {len(self.deleted)} replies deleted, "
            f"{sum(self.edits.values())} concurrent edits): "
            f"{len(self.accepted)}/{total} accepted, {len(self.refused)} refused, "
            f"{len(self.unknown)} unanswered, {self.retried} retried "
            f"(statuses {dict(sorted(self.statuses.items()))}); "
            f"{self.seconds:.1f} s, {rate:.0f} replies/s; "
            f"{self.like_requests} like/unlike requests in {self.like_seconds:.1f} s "
            f"({like_rate:.0f}/s)"
        )

    def expect(self, what: str, r: Any, *statuses: int) -> bool:
        with self.lock:
            got = None if r is None else r.status_code
            if got not in statuses:
                body = "" if r is None else r.text[:200]
                self.surprises.append(f"{what}: {got}, not {statuses} {body}")
                return False
            return True


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
        # request sent on it as it closes fails without an answer: the client's race, not
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


def _twice_at_once(send: Any, *args: Any) -> tuple[Any, Any]:
    with ThreadPoolExecutor(2) as pair:
        first, second = pair.map(send, *args)
    return first, second


def write_storm(base: str, world: World, plan: Plan, out: Outcome) -> None:
    """Every client at once: replies into the shared topics, a new topic now and then,
    every fifth reply deleted again, and its first reply edited twice at the same moment."""
    run = uuid.uuid4().hex[:8]
    start = threading.Barrier(len(world.members))
    topic_every = max(plan.replies // (plan.new_topics + 1), 1)

    def client(member: Member) -> None:
        browser, twin = _browser(member), _browser(member, keep_alive=False)
        mine: list[int] = []
        markers: dict[int, str] = {}
        start.wait()
        for n in range(plan.replies):
            if n % topic_every == topic_every - 1 and n // topic_every < plan.new_topics:
                title = f"New topic {n} of {member.username} ({run})"
                r = _send(browser, "POST", f"{base}/posts.json", out, json={
                    "title": title, "category": world.category_id,
                    "raw": f"The first post of {title}, long enough."})  # fmt: skip
                if out.expect(f"{member.username} new topic {n}", r, 200):
                    with out.lock:
                        out.new_topics[title] = (member, r.json())
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
                    mine.append(r.json()["id"])
                    markers[r.json()["id"]] = marker
                else:
                    out.refused.append((marker, r.status_code, r.text[:300]))
            if n % DELETE_EVERY == DELETE_EVERY - 1 and len(mine) >= 2:
                victim = mine.pop()
                r = _send(browser, "DELETE", f"{base}/posts/{victim}.json", out)
                if out.expect(f"{member.username} delete {victim}", r, 200):
                    with out.lock:
                        out.deleted.add(victim)
            if n == plan.replies // 2 and mine:
                edited, marker = mine[0], markers[mine[0]]

                def edit(session: requests.Session, text: str, post_id: int = edited) -> Any:
                    return _send(session, "PUT", f"{base}/posts/{post_id}.json", out,
                                 json={"post": {"raw": text}})  # fmt: skip

                texts = [f"Edited at once ({side}) by {member.username}, marker {marker}."
                         for side in "ab"]  # fmt: skip
                answers = _twice_at_once(edit, (browser, twin), texts)
                ok = [out.expect(f"{member.username} edit {edited}", r, 200) for r in answers]
                with out.lock:
                    out.edits[edited] = sum(ok)

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
                .where(Post.topic_id == topic_id, Post.deleted_at.is_(None))
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

    def client(member: Member) -> None:
        browser, twin = _browser(member), _browser(member, keep_alive=False)
        name = member.username
        start.wait()
        for post_id, author in targets:
            if author == member.user_id:  # members cannot like their own posts
                continue
            first, second = _twice_at_once(like, (browser, twin), (post_id, post_id))
            codes = sorted(r.status_code if r is not None else 0 for r in (first, second))
            with out.lock:
                out.like_requests += 4
                if codes != [200, 403]:
                    out.surprises.append(f"{name} double like {post_id}: {codes}")
            out.expect(f"{name} unlike {post_id}", unlike(browser, post_id), 200)
            out.expect(f"{name} like {post_id}", like(browser, post_id), 200)
            if member.index % 2:  # odd members end unliked
                with out.lock:
                    out.like_requests += 1
                out.expect(f"{name} unlike {post_id}", unlike(browser, post_id), 200)
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
    found += out.surprises
    found += [f"no answer: {e}" for e in out.errors]
    with app.app_context():
        topics = {
            t.id: t
            for t in db.session.scalars(select(Topic).where(Topic.category_id == world.category_id))
        }
        posts = db.session.execute(
            select(
                Post.id,
                Post.topic_id,
                Post.post_number,
                Post.user_id,
                Post.ip,
                Post.raw,
                Post.deleted_at,
                Post.version,
                Post.like_count,
            )
            .where(Post.topic_id.in_(list(topics)))
            .order_by(Post.id)
        ).all()
        found += _replies_stored_once(posts, out)
        found += _new_topics_stored_once(topics, out)
        found += _counters_exact(topics, posts, out)
        found += _edits_exact(posts, out)
        category = db.session.get(Category, world.category_id)
        assert category is not None
        live = [p for p in posts if p.deleted_at is None]
        if (category.topic_count, category.post_count) != (len(topics), len(live)):
            found.append(f"category: {category.topic_count} topics, {category.post_count} "
                         f"posts; rows {len(topics)}, {len(live)}")  # fmt: skip
        for post_id, wanted in out.likes_wanted.items():
            likers = set(db.session.scalars(select(Like.user_id).where(Like.post_id == post_id)))
            count = db.session.scalar(select(Post.like_count).where(Post.id == post_id))
            if likers != wanted or count != len(wanted):
                found.append(f"post {post_id}: like_count {count}, {len(likers)} likes, "
                             f"{len(wanted)} wanted")  # fmt: skip
        found += _address_uses_exact(world, posts)
    return found


def _replies_stored_once(posts: list[Any], out: Outcome) -> list[str]:
    found = []
    by_marker: dict[str, list[Any]] = {}
    for p in posts:
        if "marker storm-" in p.raw:
            by_marker.setdefault(p.raw.rsplit("marker ", 1)[-1].rstrip("."), []).append(p)
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
        if (row.deleted_at is not None) != (row.id in out.deleted):
            found.append(f"{marker}: deleted_at {row.deleted_at}, deleted {row.id in out.deleted}")
    for marker, rows in by_marker.items():
        if marker not in out.accepted and (marker not in out.unknown or len(rows) > 1):
            found.append(f"{marker} stored {len(rows)} times but never accepted")
    return found


def _new_topics_stored_once(topics: dict[int, Topic], out: Outcome) -> list[str]:
    found = []
    titles = Counter(t.title for t in topics.values())
    for title, (member, answer) in out.new_topics.items():
        topic = topics.get(answer["topic_id"])
        if titles[title] != 1 or topic is None or topic.user_id != member.user_id:
            found.append(f"new topic {title!r} stored {titles[title]} times")
    return found


def _counters_exact(topics: dict[int, Topic], posts: list[Any], out: Outcome) -> list[str]:
    found = []
    for topic in topics.values():
        mine = [p for p in posts if p.topic_id == topic.id]
        numbers = sorted(p.post_number for p in mine)
        live = [p for p in mine if p.deleted_at is None]
        if numbers != list(range(1, len(numbers) + 1)):
            found.append(f"topic {topic.id}: post numbers not 1..n: {numbers[:8]}...")
        if (topic.posts_count, topic.highest_post_number) != (len(live), len(numbers)):
            found.append(f"topic {topic.id}: posts_count {topic.posts_count}, highest "
                         f"{topic.highest_post_number}; rows {len(live)} live of "
                         f"{len(numbers)}")  # fmt: skip
        last = max(mine, key=lambda p: p.post_number)
        if topic.last_post_user_id != last.user_id:
            found.append(f"topic {topic.id}: last poster {topic.last_post_user_id}, last post "
                         f"by {last.user_id}")  # fmt: skip
        likes = sum(p.like_count for p in live)
        if topic.like_count != likes:
            found.append(f"topic {topic.id}: like_count {topic.like_count}, its posts' {likes}")
    return found


def _edits_exact(posts: list[Any], out: Outcome) -> list[str]:
    found = []
    versions: dict[int, list[int]] = {}
    for post_id, version in db.session.execute(select(PostEdit.post_id, PostEdit.version)):
        versions.setdefault(post_id, []).append(version)
    by_id = {p.id: p for p in posts}
    for post_id, accepted in out.edits.items():
        post, revisions = by_id[post_id], sorted(versions.get(post_id, []))
        if revisions != list(range(2, 2 + accepted)) or post.version != 1 + accepted:
            found.append(f"post {post_id}: {accepted} edits accepted, version {post.version}, "
                         f"revisions {revisions}")  # fmt: skip
    return found


def _address_uses_exact(world: World, posts: list[Any]) -> list[str]:
    found = []
    edits = Counter((row.user_id, row.ip) for row in db.session.execute(
        select(PostEdit.user_id, PostEdit.ip)))  # fmt: skip
    for member in world.members:
        wrote = sum(1 for p in posts if p.user_id == member.user_id and p.ip == member.ip)
        wrote += edits[(member.user_id, member.ip)]
        uses = db.session.scalar(
            select(func.sum(AddressUse.uses)).where(
                AddressUse.user_id == member.user_id, AddressUse.ip == member.ip
            )
        )
        if (uses or 0) != wrote:
            found.append(f"{member.username}: ip_uses says {uses}, {wrote} posts and edits")
    return found
