"""The content tables. Counters are kept on the rows so that lists read no aggregates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, relationship

from forum.db import IPAddress, IPColumn, UTCDateTime, db
from forum.privacy.registry import Privacy, column
from forum.timeutil import utcnow
from forum.users.models import User

TZ = UTCDateTime()


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    name: Mapped[str] = column(Privacy.PUBLIC, String(50), nullable=False, unique=True)
    slug: Mapped[str] = column(Privacy.PUBLIC, String(60), nullable=False, unique=True)
    description: Mapped[str] = column(Privacy.PUBLIC, Text, nullable=False, default="")
    color: Mapped[str] = column(Privacy.PUBLIC, String(6), nullable=False, default="0088CC")
    text_color: Mapped[str] = column(Privacy.PUBLIC, String(6), nullable=False, default="FFFFFF")
    position: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=0)
    topic_count: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=0)
    post_count: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = column(Privacy.PUBLIC, TZ, default=utcnow)


class Topic(db.Model):
    __tablename__ = "topics"
    __table_args__ = (
        Index("ix_topics_category_bumped", "category_id", "bumped_at"),
        {"info": {"owner": "user_id", "on_erase": "reassign"}},
    )

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    title: Mapped[str] = column(Privacy.PUBLIC, String(255), nullable=False)
    slug: Mapped[str] = column(Privacy.PUBLIC, String(255), nullable=False)
    category_id: Mapped[int] = column(Privacy.INTERNAL, ForeignKey("categories.id"), nullable=False)
    user_id: Mapped[int] = column(
        Privacy.INTERNAL, ForeignKey("users.id"), nullable=False, index=True
    )
    last_post_user_id: Mapped[int] = column(
        Privacy.INTERNAL, ForeignKey("users.id"), nullable=False
    )
    created_at: Mapped[datetime] = column(Privacy.PUBLIC, TZ, default=utcnow)
    bumped_at: Mapped[datetime] = column(Privacy.PUBLIC, TZ, default=utcnow, index=True)
    last_posted_at: Mapped[datetime] = column(Privacy.PUBLIC, TZ, default=utcnow)
    posts_count: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=0)
    highest_post_number: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=0)
    like_count: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=0)
    views: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=0)
    closed: Mapped[bool] = column(Privacy.INTERNAL, Boolean, nullable=False, default=False)
    deleted_at: Mapped[datetime | None] = column(Privacy.INTERNAL, TZ, nullable=True)

    category: Mapped[Category] = relationship(lazy="raise")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise")
    last_poster: Mapped[User] = relationship(foreign_keys=[last_post_user_id], lazy="raise")

    @property
    def reply_count(self) -> int:
        return max(self.posts_count - 1, 0)


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("topic_id", "post_number"),
        # The moderator's IP views: by address (or range) and by account, from the index.
        Index("ix_posts_ip_user", "ip", "user_id", "created_at"),
        Index("ix_posts_user_ip", "user_id", "ip", "created_at"),
        {"info": {"owner": "user_id", "on_erase": "reassign"}},
    )

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    topic_id: Mapped[int] = column(
        Privacy.INTERNAL, ForeignKey("topics.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = column(Privacy.INTERNAL, ForeignKey("users.id"), nullable=False)
    post_number: Mapped[int] = column(Privacy.PUBLIC, Integer, nullable=False)
    reply_to_post_number: Mapped[int | None] = column(Privacy.PUBLIC, Integer, nullable=True)
    raw: Mapped[str] = column(Privacy.PUBLIC, Text, nullable=False)
    cooked: Mapped[str] = column(Privacy.PUBLIC, Text, nullable=False)
    # The address the post came from (P6); NULL only once retention or erasure removed it.
    ip: Mapped[IPAddress | None] = column(Privacy.PERSONAL, IPColumn, nullable=True)
    created_at: Mapped[datetime] = column(Privacy.PUBLIC, TZ, default=utcnow, index=True)
    updated_at: Mapped[datetime] = column(Privacy.PUBLIC, TZ, default=utcnow)
    version: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=1)
    like_count: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False, default=0)
    deleted_at: Mapped[datetime | None] = column(Privacy.INTERNAL, TZ, nullable=True)
    # Hidden by staff: members see a placeholder; staff and the author still see the text.
    hidden_at: Mapped[datetime | None] = column(Privacy.INTERNAL, TZ, nullable=True)
    hidden_by_id: Mapped[int | None] = column(
        Privacy.INTERNAL, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )

    topic: Mapped[Topic] = relationship(lazy="raise")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise")


class PostEdit(db.Model):
    """One revision of a post: the text before and after, and where the edit came from."""

    __tablename__ = "post_edits"
    __table_args__ = (
        Index("ix_post_edits_ip_user", "ip", "user_id", "created_at"),
        Index("ix_post_edits_user_ip", "user_id", "ip", "created_at"),
        {"info": {"owner": "user_id", "on_erase": "reassign"}},
    )

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    post_id: Mapped[int] = column(
        Privacy.INTERNAL, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[int] = column(Privacy.INTERNAL, ForeignKey("users.id"), nullable=False)
    version: Mapped[int] = column(Privacy.INTERNAL, Integer, nullable=False)
    raw_before: Mapped[str] = column(Privacy.PUBLIC, Text, nullable=False)
    raw_after: Mapped[str] = column(Privacy.PUBLIC, Text, nullable=False)
    edit_reason: Mapped[str] = column(Privacy.PUBLIC, String(255), nullable=False, default="")
    ip: Mapped[IPAddress | None] = column(Privacy.PERSONAL, IPColumn, nullable=True)
    created_at: Mapped[datetime] = column(Privacy.PUBLIC, TZ, default=utcnow)


class Like(db.Model):
    __tablename__ = "likes"
    __table_args__ = (UniqueConstraint("post_id", "user_id"), {"info": {"owner": "user_id"}})

    id: Mapped[int] = column(Privacy.INTERNAL, Integer, primary_key=True)
    post_id: Mapped[int] = column(
        Privacy.INTERNAL, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = column(
        Privacy.INTERNAL, ForeignKey("users.id"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = column(Privacy.PUBLIC, TZ, default=utcnow)
