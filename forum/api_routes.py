"""Importing this module attaches every API route to the API blueprint."""

from forum import models  # noqa: F401  (every table, for migrations and create_all)
from forum.api import more_routes, openapi, post_routes, session_routes, topic_routes, user_routes
from forum.moderation import routes as moderation_routes
from forum.privacy import routes as privacy_routes

__all__ = [
    "moderation_routes",
    "more_routes",
    "openapi",
    "post_routes",
    "privacy_routes",
    "session_routes",
    "topic_routes",
    "user_routes",
]
