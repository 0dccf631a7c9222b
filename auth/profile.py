"""Profile minimisation: from what GitHub says about a person, keep only what the privacy
policy names (P3) — id, login, first and last name, verified primary e-mail, picture URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GitHubProfile:
    github_id: int
    login: str
    first_name: str
    last_name: str
    email: str
    avatar_url: str | None


class UnverifiedEmail(Exception):
    """GitHub has no verified primary e-mail for this account (P2)."""


def split_name(name: str | None) -> tuple[str, str]:
    """GitHub has one free-form `name`; the policy speaks of first and last name.

    The first word is the first name and the rest the last name: "Mona Lisa Octocat" gives
    ("Mona", "Lisa Octocat"). No name gives two empty fields; one word, a first name only.
    """
    words = (name or "").split()
    if not words:
        return "", ""
    return words[0], " ".join(words[1:])


def verified_primary_email(emails: list[dict[str, Any]]) -> str:
    """The primary address, and only if GitHub marks it verified."""
    for entry in emails:
        if isinstance(entry, dict) and entry.get("primary"):
            address = entry.get("email")
            if entry.get("verified") is True and isinstance(address, str) and address.strip():
                return address
            break
    raise UnverifiedEmail


def minimise(user: dict[str, Any], emails: list[dict[str, Any]]) -> GitHubProfile:
    """The profile Parlor stores; everything else GitHub sent is dropped here."""
    github_id = user.get("id")
    login = user.get("login")
    if not isinstance(github_id, int) or isinstance(github_id, bool) or not isinstance(login, str):
        raise ValueError("GitHub's /user answer has no numeric id or no login")
    first, last = split_name(user.get("name") if isinstance(user.get("name"), str) else None)
    avatar = user.get("avatar_url")
    return GitHubProfile(
        github_id=github_id,
        login=login,
        first_name=first,
        last_name=last,
        email=verified_primary_email(emails),
        avatar_url=avatar if isinstance(avatar, str) and avatar else None,
    )
