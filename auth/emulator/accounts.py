"""The emulator's fake GitHub accounts, as plain data, and their REST representations."""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class Email:
    email: str
    primary: bool
    verified: bool
    # GitHub reports "public"/"private" for the primary address and null for the others.
    visibility: str | None


@dataclass(frozen=True)
class Account:
    login: str
    id: int
    name: str | None
    emails: tuple[Email, ...]
    created_at: str
    updated_at: str
    company: str | None = None
    blog: str = ""
    location: str | None = None
    bio: str | None = None
    twitter_username: str | None = None
    public_repos: int = 0
    followers: int = 0
    following: int = 0

    @property
    def node_id(self) -> str:
        # GitHub's legacy global node id: base64 of "04:User<id>" (octocat's is the real one).
        return base64.b64encode(f"04:User{self.id}".encode()).decode()

    @property
    def public_email(self) -> str | None:
        """The e-mail /user shows: only a verified primary address the user made public."""
        for e in self.emails:
            if e.primary and e.verified and e.visibility == "public":
                return e.email
        return None


def _primary(email: str, *, verified: bool = True, visibility: str = "public") -> Email:
    return Email(email, primary=True, verified=verified, visibility=visibility)


_ALL = (
    Account(
        login="octocat",
        id=583231,
        name="The Octocat",
        emails=(
            _primary("octocat@example.com"),
            Email("octocat@users.noreply.example.com", False, True, None),
        ),
        company="@github",
        blog="https://github.blog",
        location="San Francisco",
        public_repos=8,
        followers=20000,
        following=9,
        created_at="2011-01-25T18:44:36Z",
        updated_at="2024-01-22T12:12:32Z",
    ),
    Account(
        login="mona",
        id=9919,
        name="Mona Lisa Octocat",
        # Private primary address: /user shows email null, as for most real users.
        emails=(_primary("mona@example.com", visibility="private"),),
        bio="Moderator of the demo forum.",
        public_repos=3,
        followers=42,
        following=7,
        created_at="2010-03-14T09:26:53Z",
        updated_at="2024-02-01T08:00:00Z",
    ),
    Account(
        login="hubot",
        id=1234567,
        name="Hubot",
        emails=(_primary("hubot@example.com"),),
        company="@github",
        bio="Administrator of the demo forum.",
        twitter_username="hubot",
        public_repos=12,
        followers=500,
        created_at="2012-06-01T12:00:00Z",
        updated_at="2024-03-01T10:30:00Z",
    ),
    Account(
        login="noverify",
        id=7654321,
        name=None,
        emails=(_primary("noverify@example.com", verified=False, visibility="private"),),
        created_at="2023-11-05T17:45:00Z",
        updated_at="2023-11-05T17:45:00Z",
    ),
    Account(
        login="renee",
        id=4242,
        name="Renée Øster-Ålund",
        emails=(_primary("renee@example.com"),),
        location="Tromsø",
        public_repos=1,
        followers=3,
        following=5,
        created_at="2015-08-19T21:03:11Z",
        updated_at="2024-04-10T06:15:42Z",
    ),
)

ACCOUNTS: dict[str, Account] = {a.login: a for a in _ALL}


def find_account(login: str | None) -> Account | None:
    """Look an account up by login; like GitHub, logins are case-insensitive."""
    return ACCOUNTS.get((login or "").strip().lower())


def user_json(account: Account, base: str) -> dict:
    """The body of GET /user; `base` is the emulator's own URL, without a trailing slash."""
    return {
        "login": account.login,
        "id": account.id,
        "node_id": account.node_id,
        "avatar_url": f"{base}/avatars/{account.login}.png",
        "html_url": f"{base}/{account.login}",
        "type": "User",
        "site_admin": False,
        "name": account.name,
        "company": account.company,
        "blog": account.blog,
        "location": account.location,
        "email": account.public_email,
        "bio": account.bio,
        "twitter_username": account.twitter_username,
        "public_repos": account.public_repos,
        "followers": account.followers,
        "following": account.following,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def emails_json(account: Account) -> list[dict]:
    """The body of GET /user/emails."""
    return [
        {"email": e.email, "primary": e.primary, "verified": e.verified, "visibility": e.visibility}
        for e in account.emails
    ]
