"""The GitHub OAuth client (P1, P2): the authorization URL, the token exchange and the two
REST calls, against GitHub faked with `responses`; every way GitHub fails has a name."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from conftest import GITHUB, GITHUB_API

from auth.github import (
    GitHubError,
    GitHubSettings,
    authorization_request,
    exchange_code,
    fetch_profile,
)
from auth.profile import UnverifiedEmail

TOKEN_URL = f"{GITHUB}/login/oauth/access_token"
USER_URL = f"{GITHUB_API}/user"
EMAILS_URL = f"{GITHUB_API}/user/emails"
REDIRECT = "http://localhost/auth/github/callback"
TOKEN = "gho_client_test_token_0123456789abcdef"

USER = {
    "login": "octocat",
    "id": 583231,
    "name": "Mona Lisa Octocat",
    "avatar_url": "https://avatars.github.test/u/583231?v=4",
    "bio": "not kept",
}
EMAILS = [
    {"email": "other@example.com", "primary": False, "verified": True, "visibility": None},
    {"email": "octocat@example.com", "primary": True, "verified": True, "visibility": "public"},
]


def settings(**overrides: Any) -> GitHubSettings:
    values: dict[str, Any] = {
        "client_id": "test-client",
        "client_secret": "test-secret-value",
        "url": GITHUB,
        "api_url": GITHUB_API,
        "pkce": True,
        "timeout": 2.0,
    }
    values.update(overrides)
    return GitHubSettings(**values)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def form(request: Any) -> dict[str, list[str]]:
    body = request.body or ""
    if isinstance(body, bytes):
        body = body.decode()
    return parse_qs(body, keep_blank_values=True)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def assert_bounded_timeouts(calls: Any, limit: float = 2.0) -> None:
    assert len(calls) > 0
    for call in calls:
        timeout = call.request.req_kwargs.get("timeout")
        assert timeout is not None, f"{call.request.url} was sent without a timeout"
        parts = timeout if isinstance(timeout, tuple) else (timeout,)
        assert all(p is not None and 0 < p <= limit for p in parts), (call.request.url, timeout)


# ---------------------------------------------------------------------- authorization URL


def test_authorization_url_with_pkce() -> None:
    auth = authorization_request(settings(), REDIRECT)
    parts = urlsplit(auth.url)
    assert f"{parts.scheme}://{parts.netloc}" == GITHUB
    assert parts.path == "/login/oauth/authorize"
    q = query(auth.url)
    assert q["client_id"] == ["test-client"]
    assert q["redirect_uri"] == [REDIRECT]
    assert q["scope"] == ["read:user user:email"]
    assert q["response_type"] == ["code"]
    assert q["state"] == [auth.state]
    assert len(auth.state) >= 20
    assert q["code_challenge_method"] == ["S256"]
    assert auth.code_verifier is not None and len(auth.code_verifier) >= 43
    assert q["code_challenge"] == [s256(auth.code_verifier)]
    assert "login" not in q


def test_each_authorization_request_is_fresh() -> None:
    first = authorization_request(settings(), REDIRECT)
    second = authorization_request(settings(), REDIRECT)
    assert first.state != second.state
    assert first.code_verifier != second.code_verifier


def test_authorization_url_without_pkce_for_enterprise_server() -> None:
    gh = settings(pkce=False, url="https://ghe.example.test")
    auth = authorization_request(gh, REDIRECT)
    assert auth.url.startswith("https://ghe.example.test/login/oauth/authorize?")
    q = query(auth.url)
    assert auth.code_verifier is None
    assert "code_challenge" not in q
    assert "code_challenge_method" not in q
    assert "code_verifier" not in q
    assert q["state"] == [auth.state]
    assert q["scope"] == ["read:user user:email"]


def test_login_hint_is_passed_through() -> None:
    auth = authorization_request(settings(), REDIRECT, login_hint="mona")
    assert query(auth.url)["login"] == ["mona"]


# ------------------------------------------------------------------------ token exchange


def test_exchange_code_sends_verifier_and_credentials(rsps: responses.RequestsMock) -> None:
    rsps.post(
        TOKEN_URL,
        json={"access_token": TOKEN, "token_type": "bearer", "scope": "read:user,user:email"},
    )
    auth = authorization_request(settings(), REDIRECT)
    token = exchange_code(settings(), "the-code", REDIRECT, auth.code_verifier)
    assert token == TOKEN

    assert len(rsps.calls) == 1
    request = rsps.calls[0].request
    assert request.method == "POST"
    assert request.headers["Accept"] == "application/json"
    body = form(request)
    assert body["code"] == ["the-code"]
    assert body["grant_type"] == ["authorization_code"]
    assert body["redirect_uri"] == [REDIRECT]
    assert body["code_verifier"] == [auth.code_verifier]
    assert s256(body["code_verifier"][0]) == query(auth.url)["code_challenge"][0]
    # The client credentials, as form fields or as HTTP Basic (GitHub takes either).
    basic = request.headers.get("Authorization", "")
    if basic.startswith("Basic "):
        assert base64.b64decode(basic[6:]).decode() == "test-client:test-secret-value"
    else:
        assert body["client_id"] == ["test-client"]
        assert body["client_secret"] == ["test-secret-value"]
    assert_bounded_timeouts(rsps.calls)


def test_exchange_code_without_pkce_sends_no_verifier(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json={"access_token": TOKEN, "token_type": "bearer"})
    assert exchange_code(settings(pkce=False), "the-code", REDIRECT, None) == TOKEN
    assert "code_verifier" not in form(rsps.calls[0].request)


@pytest.mark.parametrize(
    "error",
    [
        "bad_verification_code",
        "incorrect_client_credentials",
        "redirect_uri_mismatch",
        "unverified_user_email",
    ],
)
def test_github_token_errors_sent_with_200_have_their_kind(
    rsps: responses.RequestsMock, error: str
) -> None:
    rsps.post(
        TOKEN_URL,
        status=200,
        json={
            "error": error,
            "error_description": f"The {error} happened.",
            "error_uri": "https://docs.github.com/apps/troubleshooting",
        },
    )
    with pytest.raises(GitHubError) as caught:
        exchange_code(settings(), "the-code", REDIRECT, "v" * 64)
    assert caught.value.kind == error
    assert 400 <= caught.value.status < 600


def test_a_token_answer_without_a_token_is_an_error(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json={"token_type": "bearer", "scope": ""})
    with pytest.raises(GitHubError) as caught:
        exchange_code(settings(), "the-code", REDIRECT, "v" * 64)
    assert caught.value.kind == "token_error"


# ------------------------------------------------------ failures at each of the three steps

GOOD_TOKEN = {"json": {"access_token": TOKEN, "token_type": "bearer"}}
GOOD_USER = {"json": USER}
GOOD_EMAILS = {"json": EMAILS}

FAILURES: dict[str, tuple[dict[str, Any], str]] = {
    "5xx": ({"status": 502, "body": "<html>Bad gateway</html>"}, "unavailable"),
    "503": ({"status": 503, "json": {"message": "Service unavailable"}}, "unavailable"),
    "connect-timeout": ({"body": requests.exceptions.ConnectTimeout("slow")}, "timeout"),
    "read-timeout": ({"body": requests.exceptions.ReadTimeout("slow")}, "timeout"),
    "connection-error": ({"body": requests.exceptions.ConnectionError("down")}, "unavailable"),
    "not-json": (
        {"status": 200, "body": "<html>captive portal</html>", "content_type": "text/html"},
        "bad_response",
    ),
}


def stage(rsps: responses.RequestsMock, broken: str, failure: dict[str, Any]) -> None:
    """The three calls of a sign-in, with the one named `broken` answering `failure`."""
    for name, method, url, good in (
        ("token", responses.POST, TOKEN_URL, GOOD_TOKEN),
        ("user", responses.GET, USER_URL, GOOD_USER),
        ("emails", responses.GET, EMAILS_URL, GOOD_EMAILS),
    ):
        rsps.add(method, url, **(failure if name == broken else good))


def run_sign_in_calls() -> Any:
    gh = settings()
    token = exchange_code(gh, "the-code", REDIRECT, "v" * 64)
    return fetch_profile(gh, token)


@pytest.mark.parametrize("step", ["token", "user", "emails"])
@pytest.mark.parametrize("case", list(FAILURES))
def test_failures_have_a_kind_at_every_step(
    rsps: responses.RequestsMock, step: str, case: str
) -> None:
    failure, kind = FAILURES[case]
    stage(rsps, step, failure)
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind == kind
    assert caught.value.status >= 500
    assert_bounded_timeouts(rsps.calls)


def test_the_happy_path_through_all_three_calls(rsps: responses.RequestsMock) -> None:
    stage(rsps, "", {})
    profile = run_sign_in_calls()
    assert (profile.github_id, profile.login, profile.email) == (
        583231,
        "octocat",
        "octocat@example.com",
    )
    assert (profile.first_name, profile.last_name) == ("Mona", "Lisa Octocat")
    assert [c.request.url for c in rsps.calls] == [TOKEN_URL, USER_URL, EMAILS_URL]
    for call in rsps.calls[1:]:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert_bounded_timeouts(rsps.calls)


def test_unverified_primary_raises_unverified_email(rsps: responses.RequestsMock) -> None:
    emails = [
        {"email": "octocat@example.com", "primary": True, "verified": False},
        {"email": "other@example.com", "primary": False, "verified": True},
    ]
    stage(rsps, "emails", {"json": emails})
    with pytest.raises(UnverifiedEmail):
        run_sign_in_calls()


@pytest.mark.parametrize(
    ("step", "body"),
    [
        ("user", [USER]),  # a list where an object belongs
        ("user", {**USER, "id": "583231"}),  # a string id
        ("user", {**USER, "id": True}),
        ("emails", {"email": "octocat@example.com"}),  # an object where a list belongs
    ],
)
def test_unexpected_shapes_are_bad_responses(
    rsps: responses.RequestsMock, step: str, body: Any
) -> None:
    stage(rsps, step, {"json": body})
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind == "bad_response"


def test_bad_credentials_on_the_api(rsps: responses.RequestsMock) -> None:
    stage(rsps, "user", {"status": 401, "json": {"message": "Bad credentials"}})
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind == "bad_credentials"


# ------------------------------------------------------------------------ rate limiting


@pytest.mark.parametrize("step", ["token", "user", "emails"])
def test_429_with_retry_after_is_rate_limited(rsps: responses.RequestsMock, step: str) -> None:
    stage(
        rsps,
        step,
        {"status": 429, "json": {"message": "Too many"}, "headers": {"Retry-After": "37"}},
    )
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after == 37


@pytest.mark.parametrize("step", ["token", "user", "emails"])
def test_403_with_no_requests_remaining_is_rate_limited(
    rsps: responses.RequestsMock, step: str
) -> None:
    reset = int(time.time()) + 120
    stage(
        rsps,
        step,
        {
            "status": 403,
            "json": {"message": "API rate limit exceeded"},
            "headers": {
                "x-ratelimit-limit": "60",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(reset),
            },
        },
    )
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after is not None
    assert 100 <= caught.value.retry_after <= 121


def test_403_with_no_requests_remaining_and_no_reset_time(rsps: responses.RequestsMock) -> None:
    stage(
        rsps,
        "user",
        {
            "status": 403,
            "json": {"message": "API rate limit exceeded"},
            "headers": {"x-ratelimit-remaining": "0"},
        },
    )
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


def test_secondary_rate_limit_403_with_retry_after(rsps: responses.RequestsMock) -> None:
    stage(
        rsps,
        "user",
        {
            "status": 403,
            "json": {"message": "You have exceeded a secondary rate limit."},
            "headers": {"retry-after": "60"},
        },
    )
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert (caught.value.kind, caught.value.retry_after) == ("rate_limited", 60)


def test_rate_limit_without_a_wait_still_says_how_long(rsps: responses.RequestsMock) -> None:
    stage(rsps, "user", {"status": 429, "json": {"message": "Too many"}})
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


# ------------------------------------------------------------------------- missing scope


def test_emails_404_means_the_scope_is_missing(rsps: responses.RequestsMock) -> None:
    stage(rsps, "emails", {"status": 404, "json": {"message": "Not Found"}})
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind == "missing_scope"


def test_emails_403_without_rate_limit_means_the_scope_is_missing(
    rsps: responses.RequestsMock,
) -> None:
    stage(
        rsps,
        "emails",
        {
            "status": 403,
            "json": {"message": "Resource not accessible by integration"},
            "headers": {"x-ratelimit-remaining": "4999"},
        },
    )
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind == "missing_scope"


def test_a_404_on_user_is_not_a_missing_scope(rsps: responses.RequestsMock) -> None:
    stage(rsps, "user", {"status": 404, "json": {"message": "Not Found"}})
    with pytest.raises(GitHubError) as caught:
        run_sign_in_calls()
    assert caught.value.kind != "missing_scope"


# --------------------------------------------------------------------------- the token


def test_the_token_never_appears_in_an_error(rsps: responses.RequestsMock) -> None:
    for step in ("user", "emails"):
        rsps.reset()
        stage(rsps, step, {"status": 500, "body": "oops"})
        with pytest.raises(GitHubError) as caught:
            run_sign_in_calls()
        assert TOKEN not in str(caught.value)
        assert TOKEN not in json.dumps(vars(caught.value), default=str)
