"""Per-(account, address) counts of posts and edits, kept as they are written.

The moderator's account report and "who else used this address" then read one row per
address instead of one per post: a member with 100,000 posts from 200 addresses costs 200
rows, not 200,000 index entries. The posts and edits stay the source of truth; `rebuild()`
derives the table from them again (after retention erased old IPs, or for a bulk load).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped

from forum.content.models import Post, PostEdit
from forum.db import IPAddress, IPColumn, UTCDateTime, db
from forum.privacy.registry import Privacy, column


class AddressUse(db.Model):
    __tablename__ = "ip_uses"
    __table_args__ = (Index("ix_ip_uses_ip_user", "ip", "user_id"), {"info": {"owner": "user_id"}})

    user_id: Mapped[int] = column(
        Privacy.INTERNAL, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    ip: Mapped[IPAddress] = column(Privacy.PERSONAL, IPColumn, primary_key=True)
    uses: Mapped[int] = column(Privacy.PERSONAL, Integer, nullable=False)
    first_seen: Mapped[datetime] = column(Privacy.PERSONAL, UTCDateTime(), nullable=False)
    last_seen: Mapped[datetime] = column(Privacy.PERSONAL, UTCDateTime(), nullable=False)


# The upsert, built once per dialect: building it (`excluded` makes a new alias of the table,
# `on_conflict_do_update`, the functions) cost more than running it. On the table, not the
# model: an ORM-enabled INSERT takes the ORM's bulk path, a fifth of a reply's time.
_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str) -> Any:
    stmt = _UPSERTS.get(dialect)
    if stmt is not None:
        return stmt
    columns = AddressUse.__table__.c
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = make(AddressUse.__table__).values(
        user_id=bindparam("user_id", type_=columns.user_id.type),
        ip=bindparam("ip", type_=columns.ip.type),
        uses=1,
        first_seen=bindparam("at", type_=columns.first_seen.type),
        last_seen=bindparam("at", type_=columns.last_seen.type),
    )
    _UPSERTS[dialect] = stmt = _counted(stmt, dialect)
    return stmt


def _counted(stmt: Any, dialect: str) -> Any:
    """The INSERT `stmt` of one use, made to count it on the row already there, if any."""
    columns = AddressUse.__table__.c
    earliest, latest = (func.min, func.max) if dialect == "sqlite" else (func.least, func.greatest)
    return stmt.on_conflict_do_update(
        index_elements=[columns.user_id, columns.ip],
        set_={
            "uses": columns.uses + 1,
            "first_seen": earliest(columns.first_seen, stmt.excluded.first_seen),
            "last_seen": latest(columns.last_seen, stmt.excluded.last_seen),
        },
    )


def counting_posts(posts: Any) -> Any:
    """PostgreSQL: the upsert counting each row of `posts` (a CTE of inserted posts) as a
    use, to run in the same statement as the INSERT (see `forum.content.posting`)."""
    rows = select(posts.c.user_id, posts.c.ip, literal(1), posts.c.created_at, posts.c.created_at)
    stmt = pg_insert(AddressUse.__table__).from_select(
        ["user_id", "ip", "uses", "first_seen", "last_seen"], rows
    )
    return _counted(stmt, "postgresql")


def record_use(user_id: int, ip: IPAddress, at: datetime) -> None:
    """Count one post or edit, in the caller's transaction (one atomic upsert)."""
    connection = db.session.connection()  # a Core statement: not the session's ORM path
    connection.execute(_upsert(connection.dialect.name), {"user_id": user_id, "ip": ip, "at": at})


def rebuild() -> None:
    """Derive the whole table from the posts and edits again (set-based)."""
    activity = union_all(
        select(Post.user_id, Post.ip, Post.created_at).where(Post.ip.is_not(None)),
        select(PostEdit.user_id, PostEdit.ip, PostEdit.created_at).where(PostEdit.ip.is_not(None)),
    ).subquery()
    db.session.execute(delete(AddressUse))
    db.session.execute(
        insert(AddressUse).from_select(
            ["user_id", "ip", "uses", "first_seen", "last_seen"],
            select(
                activity.c.user_id,
                activity.c.ip,
                func.count(),
                func.min(activity.c.created_at),
                func.max(activity.c.created_at),
            ).group_by(activity.c.user_id, activity.c.ip),
        )
    )
