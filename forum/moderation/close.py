"""Closing and reopening a topic: a closed topic takes no more replies from members."""

from __future__ import annotations

from forum.content.models import Topic
from forum.moderation import audit
from forum.users.models import User


def set_closed(actor: User, topic: Topic, closed: bool) -> None:
    if topic.closed == closed:
        return
    topic.closed = closed
    audit.record(
        actor,
        "close_topic" if closed else "open_topic",
        subject_user_id=topic.user_id,
        subject_type="topic",
        subject_id=topic.id,
    )
