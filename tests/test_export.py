"""Download my data (P10, P16), issue 5 parts 1 and 2: the export is derived from the
privacy registry, holds every personal datum of the member and nobody else's, is a streamed
ZIP with the files the issue names, is only for the member (or an admin, audited), is paced,
keeps memory flat as the history grows, and the operator's command writes the same files."""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import itertools
import json
import re
import secrets
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Member
from flask import Flask
from helpers import at, ok
from PIL import Image
from sqlalchemy import JSON, Boolean, Integer, LargeBinary, String, func, select, update

from auth.api_keys import create_key
from forum.content.models import Post, PostEdit, Topic
from forum.db import db
from forum.moderation.models import AuditEntry
from forum.privacy.registry import Privacy, owner_column, privacy_of
from forum.timeutil import iso, utcnow
from forum.users.models import Avatar, SignInEvent, User

TITLE = "A topic to export with its history"
RAW = "The first post of this topic, long enough to be accepted."
REPLY = "A reply that is long enough to be accepted by the forum."
EDITED = "The reply as edited later, still long enough to be accepted."

# Chosen so that no address is a substring of another one.
ALICE = {
    "topic": "203.0.113.45",
    "reply": "2001:db8:a11c::7",
    "edit": "198.51.100.177",
    "signins": ("192.0.2.214", "2001:db8:a11c:5::9"),
    "audit": "198.51.100.213",
}
BOB = {
    "topic": "203.0.113.98",
    "reply": "2001:db8:b0b::4",
    "edit": "198.51.100.36",
    "signins": ("192.0.2.163", "2001:db8:b0b:6::3"),
    "audit": "198.51.100.122",
}
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
RED, BLUE = (220, 20, 30), (10, 40, 200)
EXPECTED_FILES = {
    "README.txt",
    "profile.json",
    "posts.csv",
    "posts.json",
    "edits.csv",
    "edits.json",
    "likes.csv",
    "sign_ins.csv",
    "third_parties.json",
}


# ------------------------------------------------------------------------------ helpers


def png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def download(client: Any, username: str) -> Any:
    return client.get(f"/u/{username}/export.zip")


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def exported(client: Any, username: str) -> dict[str, bytes]:
    r = download(client, username)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return unzip(r.get_data())


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


@pytest.fixture
def other_app(make_app: Callable[..., Flask]) -> Iterator[Callable[..., Flask]]:
    """A second app on the same database with other settings (engines disposed after)."""
    made: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        made.append(make_app(**overrides))
        return made[-1]

    yield build
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def history(
    app: Flask, client: Any, user_id: int, category_id: int, ips: dict[str, Any], colour: Any
) -> dict[str, int]:
    """A topic, a reply, an edit (through the API, from known addresses), two sign-ins,
    a picture and an audit entry as the actor."""
    first = ok(
        client.post(
            "/posts.json",
            json={"title": TITLE, "raw": RAW, "category": category_id},
            **at(ips["topic"]),
        )
    )
    reply = ok(
        client.post(
            "/posts.json", json={"topic_id": first["topic_id"], "raw": REPLY}, **at(ips["reply"])
        )
    )
    ok(
        client.put(
            f"/posts/{reply['id']}.json",
            json={"post": {"raw": EDITED, "edit_reason": "clarity"}},
            **at(ips["edit"]),
        )
    )
    with app.app_context():
        for n, ip in enumerate(ips["signins"]):
            db.session.add(
                SignInEvent(user_id=user_id, ip=ipaddress.ip_address(ip), user_agent=f"Browser/{n}")
            )
        data = png(colour)
        db.session.add(
            Avatar(
                user_id=user_id,
                content_type="image/png",
                data=data,
                version=hashlib.sha256(data).hexdigest()[:16],
            )
        )
        db.session.add(
            AuditEntry(
                actor_id=user_id,
                actor_ip=ipaddress.ip_address(ips["audit"]),
                action="ip_lookup",
                details={"q": "192.0.2.0/24"},
            )
        )
        username = db.session.get(User, user_id).username
        create_key(username, description=f"bot of {username}")
        db.session.commit()
    return {"topic_id": first["topic_id"], "first": first["id"], "reply": reply["id"]}


@pytest.fixture
def histories(app, users, member, category_id):
    """alice and bob, each with a full history; bob also replies in alice's topic, and
    each likes the other's first post; bob looked alice up (an audit entry about her)."""
    alice, bob = member(users["alice"]), member(users["bob"])
    made = {
        "alice": history(app, alice, users["alice"], category_id, ALICE, RED),
        "bob": history(app, bob, users["bob"], category_id, BOB, BLUE),
    }
    bob_in_alices = ok(
        bob.post(
            "/posts.json",
            json={"topic_id": made["alice"]["topic_id"], "raw": "Bob answers Alice at length."},
            **at(BOB["reply"]),
        )
    )
    made["bob"]["in_alices"] = bob_in_alices["id"]
    for who, whose in ((alice, "bob"), (bob, "alice")):
        ok(
            who.post(
                "/post_actions.json", json={"id": made[whose]["first"], "post_action_type_id": 2}
            )
        )
    with app.app_context():
        db.session.add(
            AuditEntry(
                actor_id=users["bob"],
                actor_ip=ipaddress.ip_address(BOB["audit"]),
                action="user_ips",
                subject_user_id=users["alice"],
                subject_type="user",
                subject_id=users["alice"],
                details={"note": "bob looked at alice"},
            )
        )
        db.session.commit()
    return made


_serial = itertools.count(1)


def _marker(tag: str, length: int | None) -> str:
    value = f"{tag}{next(_serial):04d}x{secrets.token_hex(4)}"  # fixed width, lowercase
    assert length is None or len(value) <= length, (value, length)
    return value


def owned_tables() -> list[Any]:
    return [t for t in db.metadata.sorted_tables if owner_column(t) is not None]


def _as_text(value: Any, label: str) -> str | bytes | None:
    """How a stored value shows in the export (None: not checkable as text)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    pytest.fail(f"{label}: no rule for checking a {type(value).__name__} in the export")


class Planted:
    def __init__(self) -> None:
        self.markers: dict[str, str] = {}  # marker -> table.column
        self.secrets: list[tuple[str, str]] = []
        self.username_lower = ""


def plant(app: Flask, user_id: int, tag: str) -> Planted:
    """A unique marker in every string-typed public or personal column of every row of the
    member in every table with an owner column (found from the metadata, so a new column is
    covered without changing this test); the other values are read back to look for."""
    planted = Planted()
    with app.app_context():
        for table in owned_tables():
            owner = owner_column(table)
            assert owner is not None
            # Columns declared `export: False` hold what staff wrote about someone else:
            # like secrets, they must stay out of the member's export.
            shown = [c for c in table.columns if belongs_in_export(c)]
            hidden = [
                c
                for c in table.columns
                if privacy_of(c) == Privacy.SECRET
                or (privacy_of(c) == Privacy.PERSONAL and not c.info.get("export", True))
            ]
            keys = list(table.primary_key.columns)
            rows = db.session.execute(select(*keys).where(table.c[owner] == user_id)).all()
            if shown:
                assert rows, f"the test gives {tag} no row in {table.name}: add one to history()"
            for row in rows:
                values: dict[str, Any] = {}
                for col in shown:
                    label = f"{table.name}.{col.name}"
                    if isinstance(col.type, String):
                        values[col.name] = _marker(tag, col.type.length)
                        planted.markers[values[col.name]] = label
                    elif isinstance(col.type, JSON):
                        values[col.name] = {"note": _marker(tag, None)}
                        planted.markers[values[col.name]["note"]] = label
                for col in hidden:
                    label = f"{table.name}.{col.name}"
                    if isinstance(col.type, String):
                        values[col.name] = _marker(tag, col.type.length)
                    elif isinstance(col.type, Integer) and not isinstance(col.type, Boolean):
                        values[col.name] = 900_000_000 + secrets.randbelow(90_000_000)
                    elif isinstance(col.type, LargeBinary):
                        values[col.name] = secrets.token_hex(8).encode()
                    elif isinstance(col.type, JSON):
                        values[col.name] = {"note": _marker(tag, None)}
                        planted.secrets.append((values[col.name]["note"], label))
                        continue
                    else:
                        pytest.fail(f"{label}: no rule for planting a secret of this type")
                    planted.secrets.append((str(values[col.name]), label))
                if values:
                    db.session.execute(
                        update(table)
                        .where(*(k == v for k, v in zip(keys, row, strict=True)))
                        .values(**values)
                    )
        db.session.commit()
        user = db.session.get(User, user_id)
        assert user is not None
        planted.username_lower = user.username_lower
    return planted


def belongs_in_export(col: Any) -> bool:
    """What the registry says belongs in the owner's export."""
    return privacy_of(col) in (Privacy.PUBLIC, Privacy.PERSONAL) and col.info.get("export", True)


def stored_values(app: Flask, user_id: int) -> list[tuple[str | bytes, str]]:
    """Every other public or personal value of the member's rows, as the export shows it."""
    found: list[tuple[str | bytes, str]] = []
    with app.app_context():
        for table in owned_tables():
            owner = owner_column(table)
            assert owner is not None
            shown = [
                c
                for c in table.columns
                if belongs_in_export(c) and not isinstance(c.type, String | JSON)
            ]
            for row in db.session.execute(select(table).where(table.c[owner] == user_id)):
                for col in shown:
                    label = f"{table.name}.{col.name}"
                    text = _as_text(row._mapping[col.name], label)
                    if text is not None:
                        found.append((text, label))
    return found


def contains(files: dict[str, bytes], needle: str | bytes) -> list[str]:
    raw = needle.encode() if isinstance(needle, str) else needle
    return [name for name, data in files.items() if raw in data]


# --------------------------------------------------------------- 1. the registry drives it


def test_every_personal_and_public_value_of_the_member_is_in_the_export(
    app, users, member, histories
):
    alice, bob = plant(app, users["alice"], "amk"), plant(app, users["bob"], "bmk")
    # Every table with an owner got markers, and the columns the issue names among them.
    labels = set(alice.markers.values())
    for expected in (
        "users.username",
        "users.first_name",
        "users.last_name",
        "users.email",
        "posts.raw",
        "posts.cooked",
        "post_edits.raw_before",
        "post_edits.raw_after",
        "topics.title",
        "sign_in_events.user_agent",
        "avatars.content_type",
    ):
        assert expected in labels
    # What staff wrote about someone else is planted too, and must stay out (checked below).
    assert "audit_log.details" in {label for _, label in alice.secrets}
    # Every owned table with a public or personal string column got markers (likes,
    # api_keys and ip_uses have none; the audit log's only one, details, is what staff
    # wrote about others).
    assert {label.split(".")[0] for label in labels} >= {t.name for t in owned_tables()} - {
        "likes",
        "audit_log",
        "api_keys",
        "ip_uses",
    }

    files = exported(member(users["alice"]), alice.username_lower)

    missing = {m: label for m, label in alice.markers.items() if not contains(files, m)}
    assert missing == {}, f"personal or public values missing from the export: {missing}"
    # Read after the download, which itself updates the profile (last_export_at).
    values = stored_values(app, users["alice"])
    assert {label for _, label in values} >= {
        "users.github_id",
        "posts.ip",
        "post_edits.ip",
        "sign_in_events.ip",
        "audit_log.actor_ip",
        "avatars.data",
        "posts.created_at",
    }
    absent = sorted({label for value, label in values if not contains(files, value)})
    assert absent == [], f"values missing from the export: {absent}"

    # Every address the member's posts, edits and sign-ins came from.
    for ip in (ALICE["topic"], ALICE["reply"], ALICE["edit"], *ALICE["signins"]):
        assert contains(files, ip), ip
    with app.app_context():
        github_id = db.session.get(User, users["alice"]).github_id
    assert contains(files, str(github_id))

    # No secret, and nothing of bob's.
    text_files = {n: d for n, d in files.items() if not n.endswith(".png")}
    assert alice.secrets, "the users table has a secret column (session_epoch)"
    for value, label in alice.secrets:
        assert not contains(text_files, value), label
        assert not contains(text_files, label.split(".")[1]), label
    leaked = {m: label for m, label in bob.markers.items() if contains(files, m)}
    assert leaked == {}, f"bob's data in alice's export: {leaked}"
    # Bob's distinctive values (addresses, GitHub id, picture); times and small numbers
    # are not his alone (his reply's time is also the last_posted_at of alice's topic).
    distinctive = [
        (value, label)
        for value, label in stored_values(app, users["bob"])
        if isinstance(value, bytes) or (not ISO_TIME.fullmatch(value) and len(value) >= 6)
    ]
    assert {label for _, label in distinctive} >= {
        "users.github_id",
        "posts.ip",
        "post_edits.ip",
        "sign_in_events.ip",
        "audit_log.actor_ip",
        "avatars.data",
    }
    leaked_values = [label for value, label in distinctive if contains(files, value)]
    assert leaked_values == [], f"bob's values in alice's export: {leaked_values}"
    for ip in (BOB["topic"], BOB["reply"], BOB["edit"], *BOB["signins"], BOB["audit"]):
        assert not contains(files, ip), ip


# ------------------------------------------------------------------- 2. what the ZIP holds


def test_the_zip_and_its_files(app, users, member, histories):
    r = download(member(users["alice"]), "alice")
    assert r.status_code == 200
    assert r.mimetype == "application/zip"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and ".zip" in disposition
    assert r.is_streamed
    files = unzip(r.get_data())
    assert set(files) >= EXPECTED_FILES | {"avatar.png"}

    readme = files["README.txt"].decode()
    for name in EXPECTED_FILES - {"README.txt"} | {"avatar.png"}:
        assert name in readme or name.split(".")[0] in readme, name

    with app.app_context():
        user = db.session.get(User, users["alice"])
        posts = db.session.scalars(
            select(Post).where(Post.user_id == users["alice"]).order_by(Post.id)
        ).all()
        titles = dict(db.session.execute(select(Topic.id, Topic.title)).all())
        edits = db.session.scalars(
            select(PostEdit).where(PostEdit.user_id == users["alice"]).order_by(PostEdit.id)
        ).all()
        signins = db.session.scalars(
            select(SignInEvent)
            .where(SignInEvent.user_id == users["alice"])
            .order_by(SignInEvent.id)
        ).all()
        avatar = db.session.get(Avatar, users["alice"])
        assert avatar is not None
        numbers = {p.id: (p.topic_id, p.post_number) for p in db.session.scalars(select(Post))}

    profile = json.loads(files["profile.json"])
    personal = [c.name for c in User.__table__.columns if privacy_of(c) == Privacy.PERSONAL]
    assert set(personal) <= set(profile)
    for field in (
        "username",
        "first_name",
        "last_name",
        "email",
        "github_id",
        "role",
        "created_at",
        "updated_at",
        "newsletter",
        "newsletter_consent_at",
    ):
        assert field in profile, field
    assert profile["email"] == "alice@example.com"
    assert (profile["first_name"], profile["last_name"]) == ("Alice", "Tester")
    assert profile["github_id"] == user.github_id
    assert profile["role"] == "member"
    assert profile["created_at"] == iso(user.created_at)
    assert profile["newsletter"] is False and profile["newsletter_consent_at"] is None
    assert "session_epoch" not in profile

    # posts.csv and posts.json: topic, number, raw, cooked, times, the address.
    assert len(posts) == 2
    for rows in (csv_rows(files["posts.csv"]), json.loads(files["posts.json"])):
        assert len(rows) == len(posts)
        for row, post in zip(rows, posts, strict=True):
            assert row["topic_title"] == titles[post.topic_id]
            assert str(row["topic_id"]) == str(post.topic_id)
            assert str(row["post_number"]) == str(post.post_number)
            assert row["raw"] == post.raw and row["cooked"] == post.cooked
            assert row["created_at"] == iso(post.created_at)
            assert row["updated_at"] == iso(post.updated_at)
            assert row["ip"] == str(post.ip)
    assert {r["ip"] for r in csv_rows(files["posts.csv"])} == {ALICE["topic"], ALICE["reply"]}
    assert csv_rows(files["posts.csv"])[1]["raw"] == EDITED

    # edits likewise: the post, the text before and after, when and from where.
    assert len(edits) == 1
    for rows in (csv_rows(files["edits.csv"]), json.loads(files["edits.json"])):
        assert len(rows) == 1
        row, edit = rows[0], edits[0]
        assert (str(row["topic_id"]), str(row["post_number"])) == tuple(
            str(v) for v in numbers[edit.post_id]
        )
        assert (row["raw_before"], row["raw_after"]) == (REPLY, EDITED)
        assert row["ip"] == ALICE["edit"]
        assert row["created_at"] == iso(edit.created_at)

    likes = csv_rows(files["likes.csv"])
    assert [int(like["post_id"]) for like in likes] == [histories["bob"]["first"]]
    assert likes[0]["created_at"]

    rows = csv_rows(files["sign_ins.csv"])
    assert [(r["created_at"], r["ip"], r["user_agent"]) for r in rows] == [
        (iso(s.created_at), str(s.ip), s.user_agent) for s in signins
    ]
    assert {r["ip"] for r in rows} == set(ALICE["signins"])

    assert files["avatar.png"] == avatar.data
    with Image.open(io.BytesIO(files["avatar.png"])) as img:
        assert img.format == "PNG"
        assert img.convert("RGB").getpixel((5, 5)) == RED

    notice = json.loads(files["third_parties.json"])
    assert notice["shared"] == []
    assert "nothing is shared" in notice["notice"].lower()


def test_no_avatar_file_without_a_picture_and_an_empty_history_exports(app, users, member):
    files = exported(member(users["alice"]), "alice")
    assert set(files) >= EXPECTED_FILES
    assert "avatar.png" not in files
    assert json.loads(files["posts.json"]) == []
    assert json.loads(files["edits.json"]) == []
    assert json.loads(files["profile.json"])["email"] == "alice@example.com"


def test_third_parties_notice_comes_from_the_configured_file(app, users, tmp_path, other_app):
    shared = [
        {"category": "e-mail address", "recipient": "Mailer Ltd, to send the newsletter"},
        {"category": "IP addresses", "recipient": "Shield Inc, for spam screening"},
    ]
    path = tmp_path / "third-parties.json"
    path.write_text(json.dumps({"shared": shared}), encoding="utf-8")
    configured = other_app(THIRD_PARTIES_FILE=str(path))
    files = exported(Member(configured, users["alice"]), "alice")
    notice = json.loads(files["third_parties.json"])
    assert notice["shared"] == shared
    assert "Mailer Ltd" in files["third_parties.json"].decode()
    assert "nothing is shared" not in notice.get("notice", "").lower()


# ------------------------------------------------------------------------ who may download


def test_only_the_member_or_an_admin_may_download(app, client, users, member):
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert download(member(users["alice"]), "alice").status_code == 200
    with app.app_context():  # the member's own download is not an audited act
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0

    assert download(member(users["bob"]), "alice").status_code == 403
    assert download(member(users["mia"]), "alice").status_code == 403
    assert download(client, "alice").status_code == 403
    assert download(member(users["alice"]), "nobody").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0

    r = download(member(users["ada"]), "alice")
    assert r.status_code == 200
    profile = json.loads(unzip(r.get_data())["profile.json"])
    assert profile["username"] == "alice" and profile["email"] == "alice@example.com"
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry)).all()
        assert [(e.action, e.actor_id, e.subject_user_id) for e in entries] == [
            ("export_other", users["ada"], users["alice"])
        ]


# ----------------------------------------------------------------------------------- pace


def _last_export(app: Flask, user_id: int) -> datetime | None:
    with app.app_context():
        return db.session.get(User, user_id).last_export_at


def _set_last_export(app: Flask, user_id: int, when: datetime | None) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.id == user_id).values(last_export_at=when))
        db.session.commit()


def test_a_second_download_within_the_interval_is_refused_with_when(app, users, member):
    alice = member(users["alice"])
    assert app.config["EXPORT_INTERVAL_MINUTES"] == 10
    assert download(alice, "alice").status_code == 200
    first = _last_export(app, users["alice"])
    assert first is not None

    r = download(alice, "alice")
    assert r.status_code == 429
    retry = int(r.headers["Retry-After"])
    assert 540 < retry <= 601
    body = r.get_json()
    assert body["error_type"] and "10 minutes" in body["errors"][0]
    assert _last_export(app, users["alice"]) == first  # a refusal does not restart the wait

    _set_last_export(app, users["alice"], utcnow() - timedelta(minutes=9))
    r = download(alice, "alice")
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 61
    assert "1 minute" in r.get_json()["errors"][0]

    _set_last_export(app, users["alice"], utcnow() - timedelta(minutes=10, seconds=5))
    r = download(alice, "alice")
    assert r.status_code == 200
    assert "profile.json" in unzip(r.get_data())


def test_no_pace_when_the_interval_is_zero(app, users, other_app):
    unlimited = other_app(EXPORT_INTERVAL_MINUTES=0)
    alice = Member(unlimited, users["alice"])
    for _ in range(3):
        assert download(alice, "alice").status_code == 200


# ---------------------------------------------------------------------- memory stays flat


def bulk_posts(app: Flask, user_id: int, category_id: int, n: int) -> None:
    """`n` posts of random text (so the ZIP grows with them), inserted with Core."""
    with app.app_context():
        topic = Topic(
            title="A long history",
            slug="a-long-history",
            category_id=category_id,
            user_id=user_id,
            last_post_user_id=user_id,
            posts_count=n,
            highest_post_number=n,
        )
        db.session.add(topic)
        db.session.flush()
        now = utcnow()
        rows = [
            {
                "topic_id": topic.id,
                "user_id": user_id,
                "post_number": i + 1,
                "raw": f"Post {i}: {secrets.token_hex(120)}",
                "cooked": f"<p>Post {i}: {secrets.token_hex(120)}</p>",
                "ip": ipaddress.ip_address(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"),
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ]
        for start in range(0, n, 1000):
            db.session.execute(Post.__table__.insert(), rows[start : start + 1000])
        db.session.commit()


def measured_export(client: Any, username: str, out: Path) -> tuple[int, int]:
    """(peak traced memory, bytes) while the streamed response is read chunk by chunk."""
    tracemalloc.start()
    try:
        r = download(client, username)
        assert r.status_code == 200
        assert r.is_streamed
        size = 0
        with out.open("wb") as f:
            for chunk in r.response:
                size += len(chunk)
                f.write(chunk)
        r.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, size


def test_memory_stays_flat_as_the_history_grows(app, users, category_id, other_app, tmp_path):
    unlimited = other_app(EXPORT_INTERVAL_MINUTES=0)
    bulk_posts(app, users["alice"], category_id, 200)
    bulk_posts(app, users["bob"], category_id, 4000)
    alice, bob = Member(unlimited, users["alice"]), Member(unlimited, users["bob"])
    measured_export(alice, "alice", tmp_path / "warm-up.zip")  # caches, compiled queries

    small_peak, small_size = measured_export(alice, "alice", tmp_path / "small.zip")
    big_peak, big_size = measured_export(bob, "bob", tmp_path / "big.zip")

    assert big_size > 10 * small_size, (small_size, big_size)
    assert big_peak < 2 * small_peak + 1_000_000, (small_peak, big_peak)
    with zipfile.ZipFile(tmp_path / "big.zip") as archive:
        assert archive.testzip() is None
        assert len(json.loads(archive.read("posts.json"))) == 4000
        assert len(csv_rows(archive.read("posts.csv"))) == 4000


# -------------------------------------------------------------------------------- the CLI


def test_the_export_command_writes_the_same_files(app, users, member, histories, tmp_path):
    web = exported(member(users["alice"]), "alice")
    out = tmp_path / "alice.zip"
    result = app.test_cli_runner().invoke(args=["forum", "export", "alice", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        cli = {name: archive.read(name) for name in archive.namelist()}
    assert set(cli) == set(web)
    for name in set(web) - {"README.txt", "profile.json"}:  # the readme says when
        assert cli[name] == web[name], name
    profile_web, profile_cli = json.loads(web["profile.json"]), json.loads(cli["profile.json"])
    profile_web.pop("last_export_at", None), profile_cli.pop("last_export_at", None)
    profile_web.pop("updated_at", None), profile_cli.pop("updated_at", None)
    assert profile_cli == profile_web
    assert "alice" in cli["README.txt"].decode()


def test_the_export_command_refuses_an_unknown_member(app, users, tmp_path):
    out = tmp_path / "nobody.zip"
    result = app.test_cli_runner().invoke(args=["forum", "export", "nobody", "-o", str(out)])
    assert result.exit_code != 0
    assert "no member named" in result.output
    assert not out.exists()
