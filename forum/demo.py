"""The demo forum `make run` serves: the emulator's accounts, a few categories and topics.

Get-or-create throughout, so seeding twice changes nothing. Demo posts carry addresses
from the documentation ranges (RFC 5737, RFC 3849), as real posts carry real ones.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select

from auth.emulator.accounts import ACCOUNTS
from auth.profile import split_name
from forum.content.categories import create_category
from forum.content.models import Category, Topic
from forum.content.posting import create_reply, create_topic
from forum.db import db
from forum.users.models import User

CATEGORIES = (
    ("General", "Anything about the community."),
    ("Feedback", "Ideas and bug reports for the forum itself."),
    ("Meta", "How this forum is run: rules, moderation, privacy."),
)
ROLES = {"octocat": "member", "mona": "moderator", "hubot": "admin"}
IPS = {
    "octocat": ipaddress.ip_address("192.0.2.10"),
    "mona": ipaddress.ip_address("198.51.100.7"),
    "hubot": ipaddress.ip_address("2001:db8::7"),
}
TOPICS = (
    (
        "General",
        "octocat",
        "Welcome to the Parlor demo forum",
        "Hello everyone! This is a demo topic. **Markdown** works, and so do replies.",
        [
            ("mona", "Welcome! I moderate here; ask me anything about the rules."),
            ("hubot", "Beep boop. The admin is watching the uptime, not your posts."),
        ],
    ),
    (
        "Meta",
        "mona",
        "What this forum keeps about you",
        "Only your GitHub picture, username, names and verified e-mail, plus the IP address "
        "each post came from. You can download or erase all of it from your profile.",
        [("octocat", "Good to know that my IP is only visible to moderators.")],
    ),
    (
        "Feedback",
        "hubot",
        "Tell us what to build next for Parlor",
        "Reply with the feature you miss most. One idea per reply, please.",
        [],
    ),
)


def seed_demo() -> bool:
    """Seed what is missing; True if anything was created."""
    created = False
    categories = {}
    for name, description in CATEGORIES:
        category = db.session.scalar(select(Category).where(Category.name == name))
        if category is None:
            category = create_category(name, description)
            created = True
        categories[name] = category

    users = {}
    for login, role in ROLES.items():
        account = ACCOUNTS[login]
        user = db.session.scalar(select(User).where(User.github_id == account.id))
        if user is None:
            first, last = split_name(account.name)
            primary = next(e.email for e in account.emails if e.primary)
            user = User(
                github_id=account.id,
                username=login,
                username_lower=login,
                first_name=first,
                last_name=last,
                email=primary,
                role=role,
            )
            db.session.add(user)
            db.session.flush()
            created = True
        users[login] = user

    for category, author, title, raw, replies in TOPICS:
        if db.session.scalar(select(Topic.id).where(Topic.title == title)) is not None:
            continue
        first = create_topic(users[author], title, raw, categories[category].id, IPS[author])
        for who, text in replies:
            create_reply(users[who], first.topic_id, text, IPS[who])
        created = True
    return created
