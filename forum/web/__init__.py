"""The forum's pages. Importing the package registers every page route on `bp`."""

from forum.web import (  # noqa: F401  (routes attach to bp)
    account,
    reading,
    staff,
    topic_moderation,
    writing,
)
from forum.web.blueprint import bp

__all__ = ["bp"]
