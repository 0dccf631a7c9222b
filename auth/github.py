"""The GitHub OAuth web flow and the two REST calls sign-in needs (P1, P2).

Authlib does the OAuth mechanics (PKCE S256, the token request); the REST calls are plain
`requests`. Every call has a bounded timeout, and every way GitHub can fail becomes a
`GitHubError` that names what happened, so the sign-in page can say what to do.
The access token lives only in local variables of one request: it is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error

from auth.profile import GitHubProfile, UnverifiedEmail, minimise

SCOPES = "read:user user:email"
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


@dataclass(frozen=True)
class GitHubSettings:
    client_id: str
    client_secret: str
    url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    pkce: bool = True
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Any) -> GitHubSettings:
        return cls(
            client_id=config["GITHUB_CLIENT_ID"],
            client_secret=config["GITHUB_CLIENT_SECRET"],
            url=config["GITHUB_URL"],
            api_url=config["GITHUB_API_URL"],
            pkce=config["GITHUB_PKCE"],
            timeout=config["GITHUB_TIMEOUT_SECONDS"],
        )


class GitHubError(Exception):
    """Sign-in through GitHub failed. `kind` names the case; `status` is ours to answer."""

    def __init__(
        self, kind: str, detail: str = "", status: int = 502, retry_after: int | None = None
    ) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after = retry_after


# GitHub's token errors: the member's to retry (400, 403) or the operator's to fix (502).
TOKEN_ERROR_STATUS = {
    "bad_verification_code": 400,
    "unverified_user_email": 403,
    "incorrect_client_credentials": 502,
    "redirect_uri_mismatch": 502,
}


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    code_verifier: str | None


def _session(gh: GitHubSettings, redirect_uri: str) -> OAuth2Session:
    client = OAuth2Session(
        gh.client_id,
        gh.client_secret,
        scope=SCOPES,
        # GitHub's documentation sends the client credentials as form fields.
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 (a method name)
        redirect_uri=redirect_uri,
        code_challenge_method="S256" if gh.pkce else None,
        default_timeout=gh.timeout,
    )
    client.register_compliance_hook("access_token_response", _check_http)
    return client


def authorization_request(
    gh: GitHubSettings, redirect_uri: str, login_hint: str | None = None
) -> AuthorizationRequest:
    """Where to send the browser, with a fresh `state` and (unless off) a PKCE verifier."""
    verifier = generate_token(64) if gh.pkce else None
    extra = {"login": login_hint} if login_hint else {}
    url, state = _session(gh, redirect_uri).create_authorization_url(
        f"{gh.url}/login/oauth/authorize", code_verifier=verifier, **extra
    )
    return AuthorizationRequest(url=url, state=state, code_verifier=verifier)


def exchange_code(
    gh: GitHubSettings, code: str, redirect_uri: str, code_verifier: str | None
) -> str:
    """The access token for an authorization code."""
    extra = {"code_verifier": code_verifier} if code_verifier else {}
    try:
        token = _session(gh, redirect_uri).fetch_token(
            f"{gh.url}/login/oauth/access_token",
            code=code,
            headers={"Accept": "application/json"},
            **extra,
        )
    except (OAuthError, OAuth2Error) as exc:
        kind = getattr(exc, "error", None) or "token_error"
        raise GitHubError(kind, str(exc), TOKEN_ERROR_STATUS.get(kind, 502)) from exc
    except requests.Timeout as exc:
        raise GitHubError("timeout", "the token request", 504) from exc
    except requests.RequestException as exc:
        raise GitHubError("unavailable", f"the token request: {exc}", 502) from exc
    except ValueError as exc:  # Authlib: the answer is not a JSON object
        raise GitHubError("bad_response", f"the token request: {exc}", 502) from exc
    access_token = token.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise GitHubError("token_error", "no access token in GitHub's answer", 502)
    return access_token


def fetch_profile(gh: GitHubSettings, access_token: str) -> GitHubProfile:
    """The member's minimised profile; raises UnverifiedEmail when P2 refuses them."""
    user = _api_get(gh, "/user", access_token)
    emails = _api_get(gh, "/user/emails", access_token)
    if not isinstance(user, dict) or not isinstance(emails, list):
        raise GitHubError("bad_response", "GitHub's answer has an unexpected shape", 502)
    try:
        return minimise(user, emails)
    except UnverifiedEmail:
        raise
    except ValueError as exc:
        raise GitHubError("bad_response", str(exc), 502) from exc


def _api_get(gh: GitHubSettings, path: str, access_token: str) -> Any:
    headers = {**API_HEADERS, "Authorization": f"Bearer {access_token}"}
    try:
        resp = requests.get(f"{gh.api_url}{path}", headers=headers, timeout=gh.timeout)
    except requests.Timeout as exc:
        raise GitHubError("timeout", path, 504) from exc
    except requests.RequestException as exc:
        raise GitHubError("unavailable", f"{path}: {exc}", 502) from exc
    _check_http(resp)
    if path == "/user/emails" and resp.status_code in (403, 404):
        # GitHub answers 404 (or 403 for a fine-grained token) without the user:email scope.
        raise GitHubError("missing_scope", path, 403)
    if resp.status_code == 401:
        raise GitHubError("bad_credentials", path, 502)
    if resp.status_code != 200:
        raise GitHubError("unavailable", f"{path}: HTTP {resp.status_code}", 502)
    try:
        return resp.json()
    except ValueError as exc:
        raise GitHubError("bad_response", f"{path}: not JSON", 502) from exc


def _check_http(resp: requests.Response) -> requests.Response:
    """Rate limits and outages, wherever in the flow they happen."""
    retry_after = _retry_after(resp)
    limited = resp.status_code == 429 or (
        resp.status_code == 403
        and (resp.headers.get("x-ratelimit-remaining") == "0" or retry_after is not None)
    )
    if limited:
        raise GitHubError("rate_limited", resp.url or "", 503, retry_after or 60)
    if resp.status_code >= 500:
        raise GitHubError("unavailable", f"HTTP {resp.status_code}", 502)
    return resp


def _retry_after(resp: requests.Response) -> int | None:
    value = resp.headers.get("retry-after")
    if value and value.strip().isdigit():
        return int(value)
    reset = resp.headers.get("x-ratelimit-reset")
    if resp.headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
        import time

        return max(int(reset) - int(time.time()), 1)
    return None
