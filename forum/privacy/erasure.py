"""Erase me (P11): posts stay, attributed to Anonymous; everything personal goes.

Derived from the privacy registry: each table that names an owner says what erasure does
with the member's rows (`on_erase`: delete, reassign to Anonymous, or detach), and its
personal columns are nulled wherever rows stay. Set-based: a few UPDATE and DELETE
statements whatever the member's history, in one transaction, recorded in the ledger
first so that a restored backup can never bring the member back (P12).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Column, Table, delete, func, or_, select, update

from forum.content.errors import ContentError, Forbidden
from forum.content.markdown import render
from forum.content.models import Post, PostEdit
from forum.db import checkpoint, db
from forum.moderation.models import AuditEntry
from forum.privacy import ledger
from forum.privacy.registry import Privacy, on_erase, owner_column, privacy_of
from forum.users.models import ANONYMOUS_USERNAME, User


def anonymous_user() -> User:
    """The one shared Anonymous account: no GitHub id, so it can never sign in."""
    anon = db.session.scalar(select(User).where(User.username_lower == ANONYMOUS_USERNAME.lower()))
    if anon is None:
        anon = User(
            github_id=None,
            username=ANONYMOUS_USERNAME,
            username_lower=ANONYMOUS_USERNAME.lower(),
            first_name="",
            last_name="",
            email=None,
        )
        db.session.add(anon)
        db.session.flush()
    return anon


def is_anonymous(user: User) -> bool:
    return user.github_id is None and user.username_lower == ANONYMOUS_USERNAME.lower()


def check_can_erase(user: User, *, keep_an_admin: bool = True) -> None:
    if is_anonymous(user) or user.github_id is None:
        raise Forbidden("The Anonymous user cannot be erased.")
    if user.is_admin and keep_an_admin:
        # Locked (PostgreSQL; SQLite's write transaction is exclusive anyway), so two
        # admins erasing themselves at once cannot leave the forum with none.
        admins = db.session.scalars(
            select(User.id).where(User.role == "admin").with_for_update()
        ).all()
        if len(admins) == 1:
            raise ContentError(
                "You are the last admin: make someone else an admin first "
                "(flask --app wsgi forum grant-role USERNAME admin)."
            )


def _personal_nulls(table: Table, keep: set[str]) -> dict[str, Any]:
    """Values that remove the personal columns of rows that stay."""
    values: dict[str, Any] = {}
    for col in table.columns:
        if privacy_of(col) in (Privacy.PERSONAL, Privacy.SECRET) and col.name not in keep:
            values[col.name] = None if col.nullable else _empty(col)
    return values


def _empty(col: Column[Any]) -> Any:
    default = col.default.arg if col.default is not None else None
    return default({}) if callable(default) else default


def _user_references(exclude: set[tuple[str, str]]) -> list[Column[Any]]:
    """Every column outside the owner columns that points at users.id."""
    refs = []
    for table in db.metadata.sorted_tables:
        for col in table.columns:
            if (table.name, col.name) in exclude:
                continue
            if any(fk.column.table.name == "users" for fk in col.foreign_keys):
                refs.append(col)
    return refs


def erase(user: User, *, record: bool = True) -> None:
    """Erase `user` in the caller's transaction (the caller commits, then `checkpoint()`).

    `record=False` is for re-applying the ledger after a restore: the erasure happened,
    whatever the restored database says about admins.
    """
    check_can_erase(user, keep_an_admin=record)
    if record:
        ledger.append("erased", user.id)
    anon = anonymous_user()
    old_name = user.username
    member = user.id

    owners: set[tuple[str, str]] = set()
    users_table = User.__table__
    for table in db.metadata.sorted_tables:
        owner = owner_column(table)
        if owner is None or table is users_table:
            continue
        owners.add((table.name, owner))
        mine = table.c[owner] == member
        action = on_erase(table)
        if action == "reassign":
            values = {owner: anon.id, **_personal_nulls(table, {owner})}
            db.session.execute(update(table).where(mine).values(**values))
        elif action == "detach":
            values = {owner: None, **_personal_nulls(table, {owner})}
            db.session.execute(update(table).where(mine).values(**values))
        else:
            db.session.execute(delete(table).where(mine))

    # Entries about the member keep that the action happened, not what it said of them.
    db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.subject_user_id == member)
        .values(subject_user_id=None, details={})
    )
    db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.subject_type == "user", AuditEntry.subject_id == member)
        .values(subject_id=None)
    )
    for col in _user_references(owners | {("audit_log", "subject_user_id")}):
        if col.table is users_table:
            continue
        target = None if col.nullable else anon.id
        db.session.execute(update(col.table).where(col == member).values({col.name: target}))

    rewrite_mentions(old_name)
    db.session.execute(delete(users_table).where(users_table.c.id == member))
    db.session.expunge(user)
    db.session.expire_all()  # rows changed behind the ORM's back


def finish_erasure() -> None:
    """After the commit: fold the WAL so erased values leave the database files (P12)."""
    checkpoint()


def _mention_patterns(name: str) -> list[tuple[re.Pattern[str], str]]:
    n, anon = re.escape(name), ANONYMOUS_USERNAME
    flags = re.IGNORECASE
    return [
        # @name, not inside a longer name or an e-mail address
        (re.compile(rf"(?<![\w@.-])@{n}(?![\w-])", flags), f"@{anon}"),
        # [quote="name, post:3, topic:7"] and [quote=name]
        (re.compile(rf'(\[quote=")({n})([,"])', flags), rf"\g<1>{anon}\g<3>"),
        (re.compile(rf"(\[quote=)({n})(\])", flags), rf"\g<1>{anon}\g<3>"),
    ]


def rewrite(text: str, name: str) -> str:
    for pattern, replacement in _mention_patterns(name):
        text = pattern.sub(replacement, text)
    return text


def rewrite_mentions(name: str) -> int:
    """Rewrite `@name` and quote attributions in every post and edit (raw and rendered)."""
    needle = name.lower()
    changed = 0
    candidates = db.session.scalars(
        select(Post).where(func.lower(Post.raw).contains(needle, autoescape=True))
    )
    for post in candidates:
        raw = rewrite(post.raw, name)
        if raw != post.raw:
            post.raw, post.cooked = raw, render(raw)
            changed += 1
    edits = db.session.scalars(
        select(PostEdit).where(
            or_(
                func.lower(PostEdit.raw_before).contains(needle, autoescape=True),
                func.lower(PostEdit.raw_after).contains(needle, autoescape=True),
            )
        )
    )
    for edit in edits:
        edit.raw_before = rewrite(edit.raw_before, name)
        edit.raw_after = rewrite(edit.raw_after, name)
    db.session.flush()
    return changed
