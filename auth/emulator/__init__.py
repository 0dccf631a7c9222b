"""A local GitHub emulator (OAuth + /user, /user/emails, avatars) for development and tests."""

from .app import create_app

__all__ = ["create_app"]
