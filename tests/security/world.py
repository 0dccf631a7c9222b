"""A small forum every security test starts from, built through the real routes.

alice (member) opened a topic (post p1) and replied (p2); bob (member) replied (p3, and p4,
which mia hid) and liked p1; mia is a moderator, ada an admin. alice has a picture, the
newsletter on (so an unsubscribe token that works) and, like everyone, an API key. One
address range is screened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from conftest import Member, make_user
from flask import Flask
from helpers import at, ok
from sqlalchemy import func, insert, select, text

from auth.api_keys import create_key
from forum.content.categories import create_category
from forum.content.models import Category, Topic
from forum.db import db
from forum.privacy.newsletter import unsubscribe_token
from forum.users.models import Avatar, User

PEOPLE = {"alice": "member", "bob": "member", "mia": "moderator", "ada": "admin"}
RAW = "A post that is long enough to be accepted by the forum."
TITLE = "A topic about the security of forums"
# Addresses the world's posts came from (RFC 5737 documentation ranges).
IPS = {"alice": "203.0.113.10", "bob": "198.51.100.20", "mia": "192.0.2.30", "ada": "192.0.2.40"}
SCREENED = "100.64.0.0/10"


@dataclass
class World:
    app: Flask
    ids: dict[str, int]
    category_id: int
    category_slug: str
    topic_id: int
    topic_slug: str
    posts: dict[str, int]
    screened_id: int
    avatar_version: str
    unsubscribe_token: str
    api_keys: dict[str, str]
    _members: dict[str, Member] = field(default_factory=dict)

    def member(self, name: str) -> Member:
        """A signed-in browser (session cookie) for `name`, created once."""
        if name not in self._members:
            self._members[name] = Member(self.app, self.ids[name])
        return self._members[name]


# Built once per text variant and database, then copied back row by row for each test: the
# requests that build it are the slow part, and every test starts from the same rows.
_saved: dict[tuple[str, str], tuple[World, dict[str, list[dict[str, Any]]]]] = {}


def world(
    app: Flask,
    title: str = TITLE,
    raws: dict[str, str] | None = None,
    extend: Callable[[World], None] | None = None,
) -> World:
    """A fresh copy of the world in the (empty) test database; `extend` adds to it."""
    variant = (title, sorted((raws or {}).items()), extend and extend.__qualname__)
    cache_key = (app.config["SQLALCHEMY_DATABASE_URI"], repr(variant))
    if cache_key not in _saved:
        built = build_world(app, title, raws)
        if extend is not None:
            extend(built)
        _saved[cache_key] = (replace(built, _members={}), _rows(app))
        return built
    saved, rows = _saved[cache_key]
    _restore(app, rows)
    return replace(saved, app=app, _members={})


def _rows(app: Flask) -> dict[str, list[dict[str, Any]]]:
    with app.app_context():
        rows = {
            t.name: [dict(r) for r in db.session.execute(select(t)).mappings()]
            for t in db.metadata.sorted_tables
        }
        db.session.rollback()
    return rows


def _restore(app: Flask, rows: dict[str, list[dict[str, Any]]]) -> None:
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if rows[table.name]:
                db.session.execute(insert(table), rows[table.name])
        if db.engine.dialect.name == "postgresql":
            # Ids were inserted as they were: move each sequence past them.
            for table in db.metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement is not False and rows[table.name]:
                    top = db.session.scalar(select(func.max(table.c.id)))
                    db.session.execute(
                        text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n)"),
                        {"t": table.name, "n": top},
                    )
        db.session.commit()


def build_world(app: Flask, title: str = TITLE, raws: dict[str, str] | None = None) -> World:
    """The world above; `raws` and `title` replace the texts (the XSS suite's vectors)."""
    raws = {"p1": RAW, "p2": RAW, "p3": RAW, "p4": RAW, **(raws or {})}
    with app.app_context():
        users = {name: make_user(name, role) for name, role in PEOPLE.items()}
        ids = {name: u.id for name, u in users.items()}
        category = create_category("General", "Anything goes.")
        keys = {name: create_key(name).key for name in PEOPLE}
        db.session.add(
            Avatar(user_id=ids["alice"], content_type="image/png", data=b"x", version="v1")
        )
        users["alice"].newsletter = True
        db.session.commit()
        category_id = category.id
        token = unsubscribe_token(users["alice"])
    world = World(app, ids, category_id, "", 0, "", {}, 0, "v1", token, keys)
    alice, bob, mia, ada = (world.member(n) for n in ("alice", "bob", "mia", "ada"))

    first = ok(
        alice.post(
            "/posts.json",
            json={"title": title, "raw": raws["p1"], "category": category_id},
            **at(IPS["alice"]),
        )
    )
    world.topic_id = first["topic_id"]

    def reply(who: Member, name: str, raw: str) -> int:
        body = {"topic_id": world.topic_id, "raw": raw}
        return ok(who.post("/posts.json", json=body, **at(IPS[name])))["id"]

    world.posts = {
        "p1": first["id"],
        "p2": reply(alice, "alice", raws["p2"]),
        "p3": reply(bob, "bob", raws["p3"]),
        "p4": reply(bob, "bob", raws["p4"]),
    }
    ok(bob.post("/post_actions.json", json={"id": world.posts["p1"], "post_action_type_id": 2}))
    ok(mia.put(f"/admin/posts/{world.posts['p4']}/hide.json", **at(IPS["mia"])))
    screened = ada.post(
        "/admin/screened-ips.json", data={"ip_address": SCREENED, "reason": "shared"}
    )
    world.screened_id = ok(screened)["screened_ip"]["id"]
    with app.app_context():
        world.topic_slug = db.session.get(Topic, world.topic_id).slug
        world.category_slug = db.session.get(Category, category_id).slug
    return world


def user_row(app: Flask, name: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username_lower == name))
        if user is not None:
            db.session.expunge(user)
        return user
