"""The local GitHub emulator: OAuth flow, REST endpoints, avatars, no cookies, safe start-up."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
# pytest's default import mode puts tests/ on sys.path, not the project root.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from auth.emulator import create_app  # noqa: E402
from auth.emulator.__main__ import check_can_serve  # noqa: E402

CLIENT = "parlor-dev"
SECRET = "parlor-dev-secret"
REDIRECT = "http://127.0.0.1:5000/auth/github/callback"
SCOPE = "read:user user:email"
VERIFIER = "v" * 20 + "-._~" + "0123456789abcdefghij"  # 44 unreserved characters
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def client(app):
    return app.test_client()


def authorize_params(**extra: str) -> dict[str, str]:
    params = {"client_id": CLIENT, "redirect_uri": REDIRECT, "state": "st8", "scope": SCOPE}
    return {**params, **extra}


def query_of(response) -> dict[str, str]:
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def get_code(client, login: str = "octocat", **extra: str) -> str:
    response = client.get(
        "/login/oauth/authorize", query_string=authorize_params(login=login, **extra)
    )
    return query_of(response)["code"]


def exchange(client, code: str, *, json: bool = True, **extra: str):
    data = {"client_id": CLIENT, "client_secret": SECRET, "code": code, **extra}
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/login/oauth/access_token", data=data, headers=headers)


def token_for(client, login: str = "octocat", scope: str = SCOPE) -> str:
    return exchange(client, get_code(client, login, scope=scope)).get_json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- authorize -------------------------------------------------------------------------------


def test_known_login_with_auto_approve_redirects_back_with_code_and_state(client):
    response = client.get("/login/oauth/authorize", query_string=authorize_params(login="octocat"))
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = query_of(response)
    assert query["state"] == "st8"
    assert len(query["code"]) >= 20


def test_redirect_keeps_an_existing_query_on_redirect_uri(client):
    params = authorize_params(login="mona", redirect_uri=REDIRECT + "?next=%2Ft%2F1")
    query = query_of(client.get("/login/oauth/authorize", query_string=params))
    assert query["next"] == "/t/1" and "code" in query


@pytest.mark.parametrize(
    ("config", "login"),
    [({}, None), ({}, "nobody"), ({"AUTO_APPROVE": False}, "octocat")],
    ids=["no-hint", "unknown-hint", "auto-approve-off"],
)
def test_picker_is_shown(config, login):
    client = create_app(config).test_client()
    params = authorize_params(**({"login": login} if login else {}))
    response = client.get("/login/oauth/authorize", query_string=params)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for name in ("octocat", "mona", "hubot", "noverify", "renee"):
        assert f'name="login" value="{name}"' in page
    assert 'name="decision" value="approve"' in page
    assert 'name="decision" value="deny"' in page
    assert 'name="state" value="st8"' in page
    assert "Renée Øster-Ålund" in page


def test_prompt_select_account_forces_the_picker(client):
    params = authorize_params(login="octocat", prompt="select_account")
    assert client.get("/login/oauth/authorize", query_string=params).status_code == 200


def test_picker_escapes_what_it_echoes(client):
    params = authorize_params(state='"><script>alert(1)</script>', login="<b>x</b>")
    page = client.get("/login/oauth/authorize", query_string=params).get_data(as_text=True)
    assert "<script>alert" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_approve_from_picker_issues_a_code(client):
    response = client.post(
        "/login/oauth/authorize", data=authorize_params(login="hubot", decision="approve")
    )
    code = query_of(response)["code"]
    token = exchange(client, code).get_json()["access_token"]
    assert client.get("/user", headers=bearer(token)).get_json()["login"] == "hubot"


def test_deny_redirects_with_access_denied_and_state(client):
    response = client.post("/login/oauth/authorize", data=authorize_params(decision="deny"))
    query = query_of(response)
    assert query["error"] == "access_denied"
    assert query["error_description"] == "The user has denied your application access."
    assert query["error_uri"].startswith("https://docs.github.com/")
    assert query["state"] == "st8"
    assert "code" not in query
    # GitHub's own encoding: spaces as "+".
    assert "The+user+has+denied+your+application+access." in response.headers["Location"]


def test_unknown_client_id_is_a_400_page(client):
    params = authorize_params(client_id="<evil>", login="octocat")
    response = client.get("/login/oauth/authorize", query_string=params)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers


def test_plain_pkce_is_refused_when_a_challenge_is_sent(client):
    params = authorize_params(
        login="octocat", code_challenge="x" * 43, code_challenge_method="plain"
    )
    query = query_of(client.get("/login/oauth/authorize", query_string=params))
    assert query["error"] == "invalid_request" and "code" not in query


# --- token exchange --------------------------------------------------------------------------


def test_exchange_answers_json_when_asked(client):
    response = exchange(client, get_code(client))
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    body = response.get_json()
    assert body["access_token"].startswith("gho_") and len(body["access_token"]) == 40
    assert body["token_type"] == "bearer"
    assert body["scope"] == "read:user,user:email"


def test_exchange_answers_form_encoded_by_default(client):
    response = exchange(client, get_code(client), json=False)
    assert response.mimetype == "application/x-www-form-urlencoded"
    body = parse_qs(response.get_data(as_text=True))
    assert body["access_token"][0].startswith("gho_")
    assert body["token_type"] == ["bearer"]
    assert body["scope"] == ["read:user,user:email"]


def test_exchange_accepts_a_json_body(client):
    body = {"client_id": CLIENT, "client_secret": SECRET, "code": get_code(client)}
    response = client.post(
        "/login/oauth/access_token", json=body, headers={"Accept": "application/json"}
    )
    assert response.get_json()["access_token"].startswith("gho_")


def test_pkce_s256_is_verified(client):
    pkce = {"code_challenge": CHALLENGE.decode(), "code_challenge_method": "S256"}
    wrong = exchange(client, get_code(client, **pkce), code_verifier="w" * 43).get_json()
    assert wrong["error"] == "bad_verification_code"
    missing = exchange(client, get_code(client, **pkce)).get_json()
    assert missing["error"] == "bad_verification_code"
    right = exchange(client, get_code(client, **pkce), code_verifier=VERIFIER).get_json()
    assert right["access_token"].startswith("gho_")


def test_code_is_single_use(client):
    code = get_code(client)
    assert "access_token" in exchange(client, code).get_json()
    again = exchange(client, code)
    assert again.status_code == 200  # GitHub reports errors with 200
    assert again.get_json()["error"] == "bad_verification_code"


def test_unknown_and_expired_codes_are_refused():
    client = create_app({"CODE_TTL": 0}).test_client()
    assert exchange(client, "nope").get_json()["error"] == "bad_verification_code"
    assert exchange(client, get_code(client)).get_json()["error"] == "bad_verification_code"


def test_wrong_secret_is_incorrect_client_credentials(client):
    code = get_code(client)
    response = exchange(client, code, client_secret="wrong")
    body = response.get_json()
    assert response.status_code == 200
    assert body["error"] == "incorrect_client_credentials"
    assert body["error_description"] and body["error_uri"].startswith("https://docs.github.com/")
    # Bad client credentials do not burn the code.
    assert "access_token" in exchange(client, code).get_json()


def test_redirect_uri_mismatch(client):
    body = exchange(client, get_code(client), redirect_uri="http://127.0.0.1:5000/other").get_json()
    assert body["error"] == "redirect_uri_mismatch"
    same = exchange(client, get_code(client), redirect_uri=REDIRECT).get_json()
    assert "access_token" in same


def test_error_is_form_encoded_without_accept(client):
    response = exchange(client, "nope", json=False)
    assert parse_qs(response.get_data(as_text=True))["error"] == ["bad_verification_code"]


# --- REST ------------------------------------------------------------------------------------


def test_user_with_bearer_and_token_schemes(client):
    token = token_for(client)
    response = client.get("/user", headers=bearer(token))
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    user = response.get_json()
    assert user["login"] == "octocat" and user["id"] == 583231
    assert user["name"] == "The Octocat" and user["type"] == "User"
    assert user["site_admin"] is False
    assert user["node_id"] == "MDQ6VXNlcjU4MzIzMQ=="
    assert user["avatar_url"] == "http://localhost/avatars/octocat.png"
    assert user["email"] == "octocat@example.com"
    assert response.headers["x-ratelimit-limit"] == "5000"
    assert response.headers["x-ratelimit-remaining"] == "4999"
    assert int(response.headers["x-ratelimit-reset"]) > time.time()
    again = client.get("/user", headers={"Authorization": f"token {token}"})
    assert again.get_json()["id"] == 583231
    assert again.headers["x-ratelimit-remaining"] == "4998"


def test_user_is_utf8_not_escaped(client):
    response = client.get("/user", headers=bearer(token_for(client, "renee")))
    assert "Renée Øster-Ålund".encode() in response.get_data()
    assert response.get_json()["id"] == 4242


def test_private_email_is_null_in_user(client):
    assert (
        client.get("/user", headers=bearer(token_for(client, "mona"))).get_json()["email"] is None
    )


@pytest.mark.parametrize("path", ["/user", "/user/emails"])
@pytest.mark.parametrize("auth", [None, "Bearer gho_nope", "Basic abc", "Bearer"])
def test_bad_credentials_are_401(client, path, auth):
    headers = {"Authorization": auth} if auth else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.content_type == "application/json; charset=utf-8"
    body = response.get_json()
    assert body["message"] == "Bad credentials"
    assert body["documentation_url"] == "https://docs.github.com/rest"
    assert response.headers["x-ratelimit-limit"] == "60"


def test_emails(client):
    response = client.get("/user/emails", headers=bearer(token_for(client)))
    assert response.status_code == 200
    assert response.get_json() == [
        {"email": "octocat@example.com", "primary": True, "verified": True, "visibility": "public"},
        {
            "email": "octocat@users.noreply.example.com",
            "primary": False,
            "verified": True,
            "visibility": None,
        },
    ]


def test_emails_need_the_user_email_scope(client):
    token = token_for(client, scope="read:user")
    assert client.get("/user", headers=bearer(token)).status_code == 200
    response = client.get("/user/emails", headers=bearer(token))
    assert response.status_code == 404
    assert response.get_json()["message"] == "Not Found"
    # The broad "user" scope includes user:email, as on GitHub.
    assert (
        client.get("/user/emails", headers=bearer(token_for(client, scope="user"))).status_code
        == 200
    )


def test_noverify_has_only_an_unverified_email(client):
    token = token_for(client, "noverify")
    user = client.get("/user", headers=bearer(token)).get_json()
    assert user["name"] is None and user["email"] is None and user["id"] == 7654321
    emails = client.get("/user/emails", headers=bearer(token)).get_json()
    assert emails == [
        {
            "email": "noverify@example.com",
            "primary": True,
            "verified": False,
            "visibility": "private",
        }
    ]


# --- avatars, cookies ------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    """Parse a PNG with the standard library: check chunk CRCs and the pixel data length."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks[kind] = body
        pos += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    assert b"IEND" in chunks
    return width, height


def test_avatar_is_a_png(client):
    response = client.get("/avatars/octocat.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert png_size(response.data) == (120, 120)
    assert png_size(client.get("/avatars/mona.png?s=64").data) == (64, 64)
    assert client.get("/avatars/hubot.png").data != response.data  # colour per login


def test_unknown_avatar_is_404(client):
    assert client.get("/avatars/nobody.png").status_code == 404


def test_user_html_url_resolves(client):
    user = client.get("/user", headers=bearer(token_for(client))).get_json()
    assert client.get(urlsplit(user["html_url"]).path).status_code == 200


def test_no_response_sets_a_cookie(app, client):
    token = token_for(client)
    responses = [
        client.get("/login/oauth/authorize", query_string=authorize_params(login="octocat")),
        client.get("/login/oauth/authorize", query_string=authorize_params()),
        client.post("/login/oauth/authorize", data=authorize_params(decision="deny")),
        exchange(client, get_code(client)),
        client.get("/user", headers=bearer(token)),
        client.get("/user/emails", headers=bearer(token)),
        client.get("/user"),
        client.get("/avatars/octocat.png"),
        client.get("/nowhere/at/all"),
    ]
    for response in responses:
        assert "Set-Cookie" not in response.headers


def test_cookies_are_stripped_even_if_a_view_sets_one(app):
    @app.get("/_cookie")
    def set_one():
        response = app.make_response("x")
        response.set_cookie("session", "clobbered")
        return response

    assert "Set-Cookie" not in app.test_client().get("/_cookie").headers


# --- start-up --------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_check_can_serve_allows_loopback(host):
    check_can_serve(host, "development")
    check_can_serve(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "example.com"])  # noqa: S104
def test_check_can_serve_refuses_non_loopback(host, capsys):
    with pytest.raises(SystemExit) as exc:
        check_can_serve(host, "development")
    assert exc.value.code == 2
    assert "loopback" in capsys.readouterr().err


def test_check_can_serve_refuses_production(capsys):
    with pytest.raises(SystemExit) as exc:
        check_can_serve("127.0.0.1", "production")
    assert exc.value.code == 2
    assert "production" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def emulator_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PARLOR_ENV"))}
    return {**env, "GITHUB_CLIENT_ID": "e2e-client", "GITHUB_CLIENT_SECRET": "e2e-secret", **extra}


@pytest.mark.e2e
def test_real_process_serves_the_whole_flow():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "auth.emulator", "--port", str(port)],
        cwd=ROOT,
        env=emulator_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(f"{base}/avatars/octocat.png", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.1)

        session = requests.Session()
        params = {
            "client_id": "e2e-client",
            "redirect_uri": REDIRECT,
            "state": "s",
            "login": "hubot",
        }
        params["scope"] = SCOPE
        answer = session.get(f"{base}/login/oauth/authorize", params=params, allow_redirects=False)
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["state"] == ["s"]
        token = session.post(
            f"{base}/login/oauth/access_token",
            data={
                "client_id": "e2e-client",
                "client_secret": "e2e-secret",
                "code": query["code"][0],
            },
            headers={"Accept": "application/json"},
            timeout=5,
        ).json()["access_token"]
        user = session.get(f"{base}/user", headers=bearer(token), timeout=5).json()
        assert user["login"] == "hubot" and user["name"] == "Hubot"
        assert user["avatar_url"] == f"{base}/avatars/hubot.png"
        assert requests.get(user["avatar_url"], timeout=5).content.startswith(b"\x89PNG")
        assert not session.cookies
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()


def test_real_process_refuses_production():
    result = subprocess.run(
        [sys.executable, "-m", "auth.emulator", "--port", str(free_port())],
        cwd=ROOT,
        env=emulator_env(PARLOR_ENV="production"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "production" in result.stderr


def test_real_process_refuses_a_public_host():
    result = subprocess.run(
        [sys.executable, "-m", "auth.emulator", "--host", "0.0.0.0"],  # noqa: S104
        cwd=ROOT,
        env=emulator_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr
