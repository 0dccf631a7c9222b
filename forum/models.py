"""Every model, imported in one place so the metadata (migrations, tests) is complete."""

from auth.api_keys import ApiKey
from forum.content.models import Category, Like, Post, PostEdit, Topic
from forum.moderation.ip_uses import AddressUse
from forum.moderation.models import AuditEntry, ScreenedIP
from forum.users.models import Avatar, SignInEvent, User

__all__ = [
    "AddressUse",
    "ApiKey",
    "AuditEntry",
    "Avatar",
    "Category",
    "Like",
    "Post",
    "PostEdit",
    "ScreenedIP",
    "SignInEvent",
    "Topic",
    "User",
]  # fmt: skip
