"""Backups that honour erasure (issue 6 §3, P12): `forum backup` (SQLite's backup API or
pg_dump), `forum purge` for backups past BACKUP_RETENTION_DAYS, and `forum restore`, which
re-applies the erasure ledger so that a restore never brings erased data back.

Each test runs on a database of its own: a fresh SQLite file, or on PostgreSQL a scratch
database created and dropped by the test, since a restore replaces the whole database."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Member, make_user
from flask import Flask
from helpers import at, ok
from sqlalchemy import create_engine, func, make_url, select, text

from forum.content.categories import create_category
from forum.content.models import Post, PostEdit, Topic
from forum.db import db, ip_to_bytes
from forum.privacy import ledger
from forum.privacy.backups import PREFIX, STAMP
from forum.timeutil import iso, utcnow
from forum.users.models import Avatar, SignInEvent, User

NAME = re.compile(r"parlor-\d{8}T\d{12}Z\.(sqlite3|dump)")
ALICE_IP = "2001:db8:e2e:a11c::1"
ALICE_EDIT_IP = "2001:db8:e2e:a11c::2"
ALICE_SIGNIN_IP = "2001:db8:e2e:a11c::3"
BOB_IP = "198.51.100.40"


# --- a database of the test's own ------------------------------------------------------------


@pytest.fixture
def isolated(make_app: Any, db_url: str, tmp_path: Path) -> Iterator[Flask]:
    url = make_url(db_url)
    settings = {
        "BACKUP_DIR": str(tmp_path / "backups" / "nested"),
        "ERASURE_LEDGER": str(tmp_path / "ledger" / "erasure-ledger.jsonl"),
    }
    if url.get_backend_name() == "sqlite":
        app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'live.sqlite3'}", **settings)
        with app.app_context():
            db.create_all()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return
    name = f"parlor_backup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        app = make_app(
            SQLALCHEMY_DATABASE_URI=url.set(database=name).render_as_string(hide_password=False),
            **settings,
        )
        with app.app_context():
            db.create_all()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def is_sqlite(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


def cli(app: Flask, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=["forum", *args], input=input)


def backups(app: Flask) -> list[Path]:
    directory = Path(app.config["BACKUP_DIR"])
    return sorted(directory.iterdir()) if directory.is_dir() else []


def take_backup(app: Flask) -> Path:
    before = set(backups(app))
    result = cli(app, "backup")
    assert result.exit_code == 0, result.output
    [new] = set(backups(app)) - before
    assert str(new) in result.output
    return new


def database_files(app: Flask) -> dict[str, bytes]:
    with app.app_context():
        path = db.engine.url.database
    assert path
    return {
        name: Path(name).read_bytes()
        for name in (path, f"{path}-wal", f"{path}-shm")
        if Path(name).exists()
    }


def stored_text(app: Flask) -> str:
    """Every value of every row, as one searchable text (bytes shown as hex too)."""
    parts = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                for value in row:
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    if isinstance(value, bytes):
                        parts.append(value.hex())
                        parts.append(value.decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def stamp_name(when: Any, ext: str) -> str:
    return f"{PREFIX}{when.strftime(STAMP)}.{ext}"


# --- backup -----------------------------------------------------------------------------------


def test_backup_writes_a_private_snapshot_with_progress(isolated):
    with isolated.app_context():
        make_user("bob")
        create_category("General", "Anything goes.")
        db.session.commit()
    result = cli(isolated, "backup")
    assert result.exit_code == 0, result.output
    [path] = backups(isolated)
    assert NAME.fullmatch(path.name), path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"Backup written: {path}" in result.output
    assert path.stat().st_size > 0
    if is_sqlite(isolated):
        assert re.search(r"copied \d+ of \d+ pages", result.output), result.output
        copy = sqlite3.connect(path)
        try:
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert copy.execute("SELECT username FROM users").fetchall() == [("bob",)]
            assert copy.execute("SELECT name FROM categories").fetchall() == [("General",)]
        finally:
            copy.close()
    else:
        assert "pg_dump" in result.output
        assert path.read_bytes().startswith(b"PGDMP")
    # A second backup is a second file; the first stays.
    second = take_backup(isolated)
    assert second != path and path.exists()


# --- purge ------------------------------------------------------------------------------------


def plant_backups(app: Flask) -> dict[str, Path]:
    directory = Path(app.config["BACKUP_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    ages = {
        "20d": (timedelta(days=20), "sqlite3"),
        "15d": (timedelta(days=15), "dump"),
        "14d1h": (timedelta(days=14, hours=1), "sqlite3"),
        "13d": (timedelta(days=13), "sqlite3"),
        "5d": (timedelta(days=5), "dump"),
        "1h": (timedelta(hours=1), "sqlite3"),
    }
    files = {}
    for label, (age, ext) in ages.items():
        path = directory / stamp_name(now - age, ext)
        path.write_bytes(b"backup " + label.encode())
        os.utime(path)  # a fresh file time: the name says when it was taken
        files[label] = path
    for other in ("notes.txt", "parlor-latest.sqlite3", "my-parlor-20000101T000000000000Z.db"):
        (directory / other).write_text("not a backup Parlor took")
        files[other] = directory / other
    return files


def test_purge_deletes_backups_past_retention_and_keeps_the_rest(isolated):
    files = plant_backups(isolated)
    result = cli(isolated, "purge")
    assert result.exit_code == 0, result.output
    assert "3 old backups" in result.output
    gone = {label for label, path in files.items() if not path.exists()}
    assert gone == {"20d", "15d", "14d1h"}


def test_purge_follows_the_configured_retention(make_app, isolated):
    shorter = make_app(
        SQLALCHEMY_DATABASE_URI=isolated.config["SQLALCHEMY_DATABASE_URI"],
        BACKUP_DIR=isolated.config["BACKUP_DIR"],
        ERASURE_LEDGER=isolated.config["ERASURE_LEDGER"],
        BACKUP_RETENTION_DAYS=3,
    )
    try:
        files = plant_backups(shorter)
        fresh = take_backup(shorter)
        result = cli(shorter, "purge")
        assert result.exit_code == 0, result.output
        assert "5 old backups" in result.output
        gone = {label for label, path in files.items() if not path.exists()}
        assert gone == {"20d", "15d", "14d1h", "13d", "5d"}
        assert fresh.exists()
    finally:
        with shorter.app_context():
            db.session.remove()
            db.engine.dispose()


def test_purge_without_a_backup_directory_is_fine(isolated):
    assert not Path(isolated.config["BACKUP_DIR"]).exists()
    result = cli(isolated, "purge")
    assert result.exit_code == 0, result.output
    assert "0 old backups" in result.output


# --- backup, erase, restore --------------------------------------------------------------------


def seed(app: Flask) -> dict[str, Any]:
    """alice with a marker in her every personal field, her posts and edits from marked
    addresses, bob's topic and a reply that mentions her."""
    tag = uuid.uuid4().hex[:10]
    markers = {
        "first_name": f"zqfirst{tag}",
        "last_name": f"zqlast{tag}",
        "email": f"zqmail{tag}@example.org",
        "suspended_reason": f"zqreason{tag}",
        "avatar": f"zqavatar{tag}",
        "user_agent": f"zqagent{tag}",
    }
    with app.app_context():
        alice, bob = make_user("alice"), make_user("bob")
        make_user("ada", "admin")
        alice.first_name, alice.last_name = markers["first_name"], markers["last_name"]
        alice.email, alice.suspended_reason = markers["email"], markers["suspended_reason"]
        db.session.add(
            Avatar(
                user_id=alice.id,
                content_type="image/png",
                data=b"\x89PNG" + markers["avatar"].encode(),
                version="v1",
            )
        )
        db.session.add(
            SignInEvent(
                user_id=alice.id,
                ip=ipaddress.ip_address(ALICE_SIGNIN_IP),
                user_agent=markers["user_agent"],
            )
        )
        category = create_category("General", "Anything goes.").id
        db.session.commit()
        ids = {"alice": alice.id, "bob": bob.id, "alice_github": alice.github_id}
    alice_c, bob_c = Member(app, ids["alice"]), Member(app, ids["bob"])
    hers = ok(
        alice_c.post(
            "/posts.json",
            json={
                "title": "A topic she started here",
                "raw": "Her first post, long enough.",
                "category": category,
            },
            **at(ALICE_IP),
        )
    )
    ok(
        alice_c.put(
            f"/posts/{hers['id']}.json",
            json={"raw": "Her first post, edited later on."},
            **at(ALICE_EDIT_IP),
        )
    )
    mention = ok(
        bob_c.post(
            "/posts.json",
            json={"topic_id": hers["topic_id"], "raw": "Thanks @alice, well said indeed."},
            **at(BOB_IP),
        )
    )
    his = ok(
        bob_c.post(
            "/posts.json",
            json={
                "title": "A topic he started here",
                "raw": "His own post, long enough.",
                "category": category,
            },
            **at(BOB_IP),
        )
    )
    return {
        **ids,
        "markers": markers,
        "ips": [ALICE_IP, ALICE_EDIT_IP, ALICE_SIGNIN_IP],
        "alice_client": alice_c,
        "bob_client": bob_c,
        "hers": hers,
        "mention": mention,
        "his": his,
        "category": category,
    }


def marker_bytes(world: dict[str, Any]) -> list[bytes]:
    return [m.encode() for m in world["markers"].values()] + [
        ip_to_bytes(ip) for ip in world["ips"]
    ]


def test_restore_never_brings_erased_data_back(isolated):
    world = seed(isolated)
    sqlite = is_sqlite(isolated)
    backup = take_backup(isolated)
    if sqlite:  # the backup holds her (bounded by BACKUP_RETENTION_DAYS): the search works
        data = backup.read_bytes()
        assert [m for m in marker_bytes(world) if m not in data] == []

    # After the backup: bob writes, alice erases herself, bob clears his first name.
    bob = world["bob_client"]
    later = ok(
        bob.post(
            "/posts.json",
            json={"topic_id": world["his"]["topic_id"], "raw": "Written after the backup."},
            **at(BOB_IP),
        )
    )
    ok(world["alice_client"].delete("/u/alice.json", json={"confirm": "alice"}))
    assert ok(bob.put("/u/bob.json", json={"first_name": ""}))["user"]["username"] == "bob"
    ledger_lines = Path(isolated.config["ERASURE_LEDGER"]).read_text().splitlines()
    assert [json.loads(x)["kind"] for x in ledger_lines] == ["erased", "fields_cleared"]

    result = cli(isolated, "restore", str(backup), "--yes")
    assert result.exit_code == 0, result.output
    assert "Re-applied 2 erasure ledger entries" in result.output
    # The restore re-applies the ledger without writing to it.
    assert Path(isolated.config["ERASURE_LEDGER"]).read_text().splitlines() == ledger_lines

    with isolated.app_context():
        # The backup was restored: what came after it is gone, what came before is back.
        assert db.session.get(Post, later["id"]) is None
        assert db.session.get(Post, world["his"]["id"]) is not None
        assert db.session.get(Topic, world["his"]["topic_id"]).user_id == world["bob"]
        assert db.session.scalar(select(func.count(Post.id))) == 3
        # alice is erased again.
        assert db.session.get(User, world["alice"]) is None
        assert (
            db.session.scalar(
                select(func.count(User.id)).where(
                    (User.username_lower == "alice") | (User.github_id == world["alice_github"])
                )
            )
            == 0
        )
        for model in (Avatar, SignInEvent):
            assert (
                db.session.scalar(
                    select(func.count()).select_from(model).where(model.user_id == world["alice"])
                )
                == 0
            )
        anon = db.session.scalar(select(User).where(User.username_lower == "anonymous"))
        assert anon is not None and anon.github_id is None
        first = db.session.get(Post, world["hers"]["id"])
        assert (first.user_id, first.ip) == (anon.id, None)
        assert first.raw == "Her first post, edited later on."
        assert [(e.user_id, e.ip) for e in db.session.scalars(select(PostEdit))] == [
            (anon.id, None)
        ]
        mention = db.session.get(Post, world["mention"]["id"])
        assert mention.raw == "Thanks @Anonymous, well said indeed."
        assert "alice" not in mention.cooked
        assert mention.ip == ipaddress.ip_address(BOB_IP)
        # bob's cleared name stays cleared; the rest of him is back.
        bob_row = db.session.get(User, world["bob"])
        assert (bob_row.first_name, bob_row.last_name) == ("", "Tester")
        assert bob_row.names_locked is True
    assert ok(bob.get("/session/current.json"))["current_user"]["username"] == "bob"
    assert world["alice_client"].get("/session/current.json").status_code == 404

    everything = stored_text(isolated)
    for marker in world["markers"].values():
        assert marker not in everything
    for ip in world["ips"]:
        assert ip_to_bytes(ip).hex() not in everything
    if sqlite:
        files = database_files(isolated)
        left = [(name, m) for name, data in files.items() for m in marker_bytes(world) if m in data]
        assert left == []


def test_an_erasure_recorded_just_before_the_backup_is_reapplied(isolated):
    """The ledger is written before the erasure commits: a backup taken in between holds a
    member the ledger says is gone, and the restore must finish the job."""
    world = seed(isolated)
    with isolated.app_context():
        ledger.append("erased", world["alice"])
    backup = take_backup(isolated)
    result = cli(isolated, "restore", str(backup), "--yes")
    assert result.exit_code == 0, result.output
    with isolated.app_context():
        assert db.session.get(User, world["alice"]) is None
        assert db.session.get(Post, world["hers"]["id"]).ip is None
        assert db.session.get(User, world["bob"]).first_name == "Bob"


def test_an_old_cleared_field_does_not_clear_a_value_set_again_before_the_backup(isolated):
    world = seed(isolated)
    path = Path(isolated.config["ERASURE_LEDGER"])
    path.parent.mkdir(parents=True, exist_ok=True)
    old = {"at": iso(utcnow() - timedelta(days=2)), "kind": "fields_cleared"}
    path.write_text(json.dumps({**old, "user_id": world["bob"], "fields": ["first_name"]}) + "\n")
    backup = take_backup(isolated)
    result = cli(isolated, "restore", str(backup), "--yes")
    assert result.exit_code == 0, result.output
    with isolated.app_context():
        assert db.session.get(User, world["bob"]).first_name == "Bob"


def test_restore_of_a_badly_named_file_fails_clearly(isolated, tmp_path):
    world = seed(isolated)
    backup = take_backup(isolated)
    renamed = tmp_path / "backup.sqlite3"
    shutil.copyfile(backup, renamed)
    ok(world["alice_client"].delete("/u/alice.json", json={"confirm": "alice"}))
    before = stored_text(isolated)
    result = cli(isolated, "restore", str(renamed), "--yes")
    assert result.exit_code != 0
    assert "not a Parlor backup name" in result.output
    assert "backup.sqlite3" in result.output
    assert stored_text(isolated) == before

    result = cli(isolated, "restore", str(tmp_path / "missing.sqlite3"), "--yes")
    assert result.exit_code != 0
    assert "does not exist" in result.output
    assert stored_text(isolated) == before


def test_restore_without_yes_asks_first(isolated):
    world = seed(isolated)
    backup = take_backup(isolated)
    later = ok(
        world["bob_client"].post(
            "/posts.json",
            json={"topic_id": world["his"]["topic_id"], "raw": "Written after the backup."},
            **at(BOB_IP),
        )
    )
    result = cli(isolated, "restore", str(backup), input="n\n")
    assert result.exit_code != 0
    assert "app stopped" in result.output
    with isolated.app_context():
        assert db.session.get(Post, later["id"]) is not None
    result = cli(isolated, "restore", str(backup), input="y\n")
    assert result.exit_code == 0, result.output
    with isolated.app_context():
        assert db.session.get(Post, later["id"]) is None


@pytest.mark.parametrize(
    "content",
    [b"PGDMP but not really" * 200, b"SQLite format 3\x00" + b"\x00" * 2000, b""],
    ids=["other-kind", "truncated", "empty"],
)
def test_restore_of_a_file_that_is_no_backup_fails_and_keeps_the_database(
    isolated, tmp_path, content
):
    world = seed(isolated)
    before = stored_text(isolated)
    ext = "sqlite3" if is_sqlite(isolated) else "dump"
    if not is_sqlite(isolated) and content.startswith(b"PGDMP"):
        content = b"SQLite format 3\x00" + b"\x01" * 4000  # the other kind, for PostgreSQL
    bad = tmp_path / stamp_name(utcnow(), ext)
    bad.write_bytes(content)
    result = cli(isolated, "restore", str(bad), "--yes")
    assert result.exit_code != 0
    assert bad.name in result.output, result.output
    assert "Traceback" not in result.output
    assert stored_text(isolated) == before
    assert ok(world["bob_client"].get("/session/current.json"))["current_user"]["username"] == "bob"
