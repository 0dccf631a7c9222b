"""Importing this module attaches every API route to the API blueprint."""

from forum.api import post_routes, session_routes, topic_routes, user_routes

__all__ = ["post_routes", "session_routes", "topic_routes", "user_routes"]
