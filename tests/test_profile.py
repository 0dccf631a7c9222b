"""Profile minimisation (P2, P3): from GitHub's answers keep the verified primary e-mail and
exactly the fields the privacy policy names, nothing else."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from auth.profile import (
    GitHubProfile,
    UnverifiedEmail,
    minimise,
    split_name,
    verified_primary_email,
)

# ---------------------------------------------------------------------------- split_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, ("", "")),
        ("", ("", "")),
        ("   ", ("", "")),
        ("\t\n ", ("", "")),
        ("Mona", ("Mona", "")),
        ("Mona Octocat", ("Mona", "Octocat")),
        ("Mona Lisa Octocat", ("Mona", "Lisa Octocat")),
        ("Renée Øster-Ålund", ("Renée", "Øster-Ålund")),
        ("  Mona \t Lisa\n  Octocat  ", ("Mona", "Lisa Octocat")),
        ("  Mona  ", ("Mona", "")),
        ("李 小龍", ("李", "小龍")),
    ],
)
def test_split_name(name: str | None, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected


def test_split_name_never_keeps_surrounding_whitespace() -> None:
    first, last = split_name("\u00a0Jean-Luc\u00a0 de  la\u2003Tour ")
    assert (first, last) == ("Jean-Luc", "de la Tour")


# ---------------------------------------------------------------- verified_primary_email


def _email(address: Any, *, primary: Any = False, verified: Any = True) -> dict[str, Any]:
    return {"email": address, "primary": primary, "verified": verified, "visibility": None}


def test_verified_primary_is_returned() -> None:
    emails = [
        _email("other@example.com", verified=True),
        _email("primary@example.com", primary=True, verified=True),
        _email("third@example.com", verified=False),
    ]
    assert verified_primary_email(emails) == "primary@example.com"


@pytest.mark.parametrize("verified_first", [True, False])
def test_unverified_primary_is_refused_even_with_another_verified_address(
    verified_first: bool,
) -> None:
    primary = _email("primary@example.com", primary=True, verified=False)
    other = _email("verified-other@example.com", verified=True)
    emails = [other, primary] if verified_first else [primary, other]
    with pytest.raises(UnverifiedEmail):
        verified_primary_email(emails)


def test_no_primary_is_refused_even_when_addresses_are_verified() -> None:
    emails = [_email("a@example.com"), _email("b@example.com")]
    with pytest.raises(UnverifiedEmail):
        verified_primary_email(emails)


def test_no_addresses_at_all_is_refused() -> None:
    with pytest.raises(UnverifiedEmail):
        verified_primary_email([])


def test_garbage_entries_are_skipped() -> None:
    emails: list[Any] = [
        None,
        "primary@example.com",
        42,
        ["primary", True],
        {},
        {"primary": False, "verified": True},
        _email("primary@example.com", primary=True, verified=True),
    ]
    assert verified_primary_email(emails) == "primary@example.com"


@pytest.mark.parametrize(
    "entry",
    [
        # "verified" must be the JSON boolean true, not something truthy.
        _email("p@example.com", primary=True, verified="true"),
        _email("p@example.com", primary=True, verified=1),
        _email("p@example.com", primary=True, verified=None),
        {"email": "p@example.com", "primary": True},
        # A primary without a usable address.
        _email(None, primary=True, verified=True),
        _email(12345, primary=True, verified=True),
        _email("", primary=True, verified=True),
        _email("   ", primary=True, verified=True),
        {"primary": True, "verified": True},
    ],
)
def test_garbage_primary_is_refused(entry: dict[str, Any]) -> None:
    with pytest.raises(UnverifiedEmail):
        verified_primary_email([entry, _email("other@example.com", verified=True)])


# -------------------------------------------------------------------------------- minimise

# A /user answer as GitHub gives it, with every field Parlor must not keep.
GITHUB_USER: dict[str, Any] = {
    "login": "octocat",
    "id": 583231,
    "node_id": "MDQ6VXNlcjU4MzIzMQ==-marker-node",
    "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
    "gravatar_id": "marker-gravatar",
    "url": "https://api.github.com/users/octocat",
    "html_url": "https://github.com/octocat",
    "type": "User",
    "site_admin": False,
    "name": "The Octocat",
    "company": "@github marker-company",
    "blog": "https://github.blog/marker-blog",
    "location": "San Francisco marker-location",
    "email": "public-marker@example.com",
    "hireable": True,
    "bio": "marker-bio",
    "twitter_username": "marker_twitter",
    "public_repos": 8,
    "followers": 9999,
    "following": 9,
    "created_at": "2011-01-25T18:44:36Z",
    "updated_at": "2024-01-22T12:00:00Z",
    "plan": {"name": "pro", "space": 976562499, "private_repos": 9999},
}
EMAILS: list[dict[str, Any]] = [
    _email("secondary-marker@example.com", verified=True),
    _email("octocat@example.com", primary=True, verified=True),
]


def test_minimise_keeps_exactly_the_named_fields() -> None:
    profile = minimise(dict(GITHUB_USER), list(EMAILS))
    assert {f.name for f in dataclasses.fields(GitHubProfile)} == {
        "github_id",
        "login",
        "first_name",
        "last_name",
        "email",
        "avatar_url",
    }
    assert dataclasses.asdict(profile) == {
        "github_id": 583231,
        "login": "octocat",
        "first_name": "The",
        "last_name": "Octocat",
        "email": "octocat@example.com",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
    }
    kept = repr(dataclasses.asdict(profile))
    assert "marker" not in kept
    assert "public-marker@example.com" not in kept  # the public profile e-mail is not used


def test_minimise_without_name_or_avatar() -> None:
    user = {**GITHUB_USER, "name": None, "avatar_url": None}
    profile = minimise(user, list(EMAILS))
    assert (profile.first_name, profile.last_name) == ("", "")
    assert profile.avatar_url is None
    assert minimise({**GITHUB_USER, "avatar_url": ""}, list(EMAILS)).avatar_url is None


def test_minimise_ignores_a_name_that_is_not_a_string() -> None:
    profile = minimise({**GITHUB_USER, "name": ["Evil", "List"]}, list(EMAILS))
    assert (profile.first_name, profile.last_name) == ("", "")


@pytest.mark.parametrize(
    "bad",
    [
        {"id": None},
        {"id": True},
        {"id": False},
        {"id": "583231"},
        {"id": 583231.0},
        {"login": None},
        {"login": 42},
    ],
)
def test_minimise_rejects_a_missing_or_non_numeric_id_or_login(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        minimise({**GITHUB_USER, **bad}, list(EMAILS))


@pytest.mark.parametrize("key", ["id", "login"])
def test_minimise_rejects_an_absent_key(key: str) -> None:
    user = {k: v for k, v in GITHUB_USER.items() if k != key}
    with pytest.raises(ValueError):
        minimise(user, list(EMAILS))


def test_minimise_refuses_an_unverified_primary() -> None:
    emails = [
        _email("octocat@example.com", primary=True, verified=False),
        _email("secondary@example.com", verified=True),
    ]
    with pytest.raises(UnverifiedEmail):
        minimise(dict(GITHUB_USER), emails)
