"""Gone from the file (issue 6 §2, P12): a unique marker in every personal (and secret)
column of every row the member owns, erasure through the API, then a search for every
marker in the raw bytes of the SQLite database, its write-ahead log and its shared-memory
file: none found. On PostgreSQL, which keeps dead tuples until VACUUM, every row of every
table is searched instead.

The columns are found through the privacy registry, so a personal column added later is
marked (or makes this test fail until it can be) without editing the test."""

from __future__ import annotations

import ipaddress
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Member, make_user
from flask import Flask
from helpers import at, ok
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.engine import make_url

from auth.api_keys import create_key
from forum.content.categories import create_category
from forum.db import IPColumn, UTCDateTime, checkpoint, db, ip_to_bytes
from forum.moderation.models import AuditEntry
from forum.privacy.registry import Privacy, owner_column, privacy_of
from forum.users.models import Avatar, SignInEvent, User

ERASED = (Privacy.PERSONAL, Privacy.SECRET)


@dataclass
class Marker:
    where: str  # table.column#row, for messages
    value: Any  # what was stored
    needles: list[bytes]  # how it looks in the SQLite file


def is_sqlite(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


@pytest.fixture
def target(app: Flask, make_app: Any, db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A database of its own on SQLite (no other test's bytes in it); the test database on
    PostgreSQL, where only the rows are searched."""
    if make_url(db_url).get_backend_name() != "sqlite":
        yield app
        return
    fresh = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'erasure-bytes.sqlite3'}",
        ERASURE_LEDGER=str(tmp_path / "erasure-ledger.jsonl"),
    )
    with fresh.app_context():
        db.create_all()
    yield fresh
    with fresh.app_context():
        db.session.remove()
        db.engine.dispose()


def seed(app: Flask) -> dict[str, int]:
    """alice owns at least one row of every table that names an owner; bob, mia and ada
    are around her."""
    with app.app_context():
        ids = {
            "alice": make_user("alice").id,
            "bob": make_user("bob").id,
            "mia": make_user("mia", "moderator").id,
            "ada": make_user("ada", "admin").id,
        }
        category = create_category("General", "Anything goes.").id
        db.session.commit()
    alice, bob = Member(app, ids["alice"]), Member(app, ids["bob"])
    topic = ok(
        alice.post(
            "/posts.json",
            json={"title": "A topic to be anonymised", "raw": "x" * 40, "category": category},
            **at("203.0.113.1"),
        )
    )
    ok(
        alice.put(
            f"/posts/{topic['id']}.json",
            json={"raw": "An edit of the first post, long enough."},
            **at("203.0.113.2"),
        )
    )
    theirs = ok(
        bob.post(
            "/posts.json",
            json={"topic_id": topic["topic_id"], "raw": "Bob answers @alice at length."},
            **at("198.51.100.1"),
        )
    )
    ok(
        alice.post(
            "/posts.json",
            json={"topic_id": topic["topic_id"], "raw": "Alice answers back at length."},
            **at("203.0.113.3"),
        )
    )
    ok(alice.post("/post_actions.json", json={"id": theirs["id"], "post_action_type_id": 2}))
    with app.app_context():
        db.session.add(
            Avatar(user_id=ids["alice"], content_type="image/png", data=b"png", version="v1")
        )
        for _ in range(2):
            db.session.add(
                SignInEvent(
                    user_id=ids["alice"], ip=ipaddress.ip_address("203.0.113.4"), user_agent="UA"
                )
            )
        db.session.add(
            AuditEntry(
                actor_id=ids["alice"],
                actor_ip=ipaddress.ip_address("203.0.113.5"),
                action="ip_lookup",
                details={"query": "198.51.100.0/24"},
            )
        )
        create_key("alice", description="alice's bot")
        db.session.commit()
    return ids


def marker_for(table: Table, col: Any, n: int) -> tuple[Any, list[bytes]] | None:
    """A unique value for `col` and the bytes it leaves in a SQLite file; None for a
    boolean, which has no room for a marker."""
    token = f"zqmk{n:03d}{secrets.token_hex(6)}"
    kind = col.type
    if isinstance(kind, IPColumn):
        ip = ipaddress.IPv6Address(b"\x20\x01\x0d\xb8" + secrets.token_bytes(12))
        return ip, [ip_to_bytes(ip)]
    if isinstance(kind, UTCDateTime):
        moment = datetime(2003, 2, 1 + n % 27, 4, 5, 6, 100_000 + n, tzinfo=UTC)
        return moment, [moment.strftime("%Y-%m-%d %H:%M:%S.%f").encode()]
    if isinstance(kind, LargeBinary):
        return b"\x89PNG\r\n\x1a\n" + token.encode() + b"\x00tail", [token.encode()]
    if isinstance(kind, JSON):
        return {"note": token}, [token.encode()]
    if isinstance(kind, String | Text):
        length = getattr(kind, "length", None)
        assert length is None or length >= len(token), f"{table.name}.{col.name} too short"
        return token, [token.encode()]
    if isinstance(kind, Boolean):
        return None
    if isinstance(kind, BigInteger):
        number = 0x5A17_C0DE_0000_0000 + secrets.randbelow(2**32) * 256 + n
        return number, [struct.pack(">q", number)]
    if isinstance(kind, Integer):  # 32 bits on PostgreSQL; SQLite stores it in 4 bytes
        number = 0x5A17_0000 + secrets.randbelow(2**12) * 256 + n
        return number, [struct.pack(">i", number)]
    pytest.fail(f"no marker for {table.name}.{col.name} ({kind!r}): teach this test one")


def plant(app: Flask, user_id: int) -> list[Marker]:
    """A marker in every personal and secret column of every row `user_id` owns."""
    markers: list[Marker] = []
    n = 0
    with app.app_context():
        for table in db.metadata.sorted_tables:
            owner = owner_column(table)
            columns = [c for c in table.columns if privacy_of(c) in ERASED]
            if owner is None or not columns:
                continue
            keys = list(table.primary_key.columns)
            rows = db.session.execute(select(*keys).where(table.c[owner] == user_id)).all()
            assert rows, f"seed() must give the member a row of {table.name}"
            for row in rows:
                where = [k == v for k, v in zip(keys, row, strict=True)]
                values = {}
                for col in columns:
                    n += 1
                    made = marker_for(table, col, n)
                    if made is None:
                        values[col.name] = True
                        continue
                    value, needles = made
                    values[col.name] = value
                    markers.append(Marker(f"{table.name}.{col.name}#{tuple(row)}", value, needles))
                db.session.execute(update(table).where(*where).values(**values))
        db.session.commit()
        checkpoint()
    return markers


def database_files(app: Flask) -> dict[str, bytes]:
    with app.app_context():
        path = db.engine.url.database
    assert path
    files = {}
    for name in (path, f"{path}-wal", f"{path}-shm"):
        if Path(name).exists():
            files[name] = Path(name).read_bytes()
    return files


def in_files(files: dict[str, bytes], marker: Marker) -> list[str]:
    return [name for name, data in files.items() if any(n in data for n in marker.needles)]


def stored_values(app: Flask) -> Iterator[tuple[str, Any]]:
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings():
                for column, value in row.items():
                    yield f"{table.name}.{column}", value


def holds(value: Any, marker: Marker) -> bool:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(marker.value, str | dict | bytes):
        text = marker.needles[0]
        if isinstance(value, bytes):
            return text in value
        return text.decode() in str(value)
    return value == marker.value


def in_rows(app: Flask, markers: list[Marker]) -> list[tuple[str, str]]:
    found = []
    for where, value in stored_values(app):
        found.extend((m.where, where) for m in markers if holds(value, m))
    return found


def test_erased_values_are_gone_from_rows_and_files(target: Flask) -> None:
    ids = seed(target)
    markers = plant(target, ids["alice"])
    with target.app_context():
        bob = db.session.get(User, ids["bob"])
        bob.first_name = control = f"zqctl{secrets.token_hex(6)}"
        db.session.commit()
    checkpoint_in(target)
    planted = {m.where.split("#")[0] for m in markers}
    assert {"users.email", "users.first_name", "users.github_id", "avatars.data"} <= planted
    assert {"posts.ip", "post_edits.ip", "sign_in_events.ip", "audit_log.actor_ip"} <= planted

    # The searches find what is there, so they would find what should not be.
    found = {where for where, _ in in_rows(target, markers)}
    assert found == {m.where for m in markers}
    sqlite = is_sqlite(target)
    if sqlite:
        files = database_files(target)
        missing = [m.where for m in markers if not in_files(files, m)]
        assert missing == []

    alice = Member(target, ids["alice"])  # after planting: the session token is a marker too
    ok(alice.delete("/u/alice.json", json={"confirm": "alice"}))
    assert ok(target.test_client().get("/u/bob.json"))["user"]["username"] == "bob"

    assert in_rows(target, markers) == []
    with target.app_context():
        assert db.session.get(User, ids["bob"]).first_name == control
        assert db.session.get(User, ids["alice"]) is None
    ledger = Path(target.config["ERASURE_LEDGER"]).read_bytes()
    assert [m.where for m in markers if any(n in ledger for n in m.needles)] == []

    if not sqlite:
        return  # PostgreSQL: dead tuples stay until VACUUM (the README says so)
    files = database_files(target)
    assert any(control.encode() in data for data in files.values())
    left = {m.where: in_files(files, m) for m in markers}
    assert {where: names for where, names in left.items() if names} == {}


def checkpoint_in(app: Flask) -> None:
    with app.app_context():
        checkpoint()
