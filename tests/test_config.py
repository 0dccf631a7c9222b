"""Settings from the environment, and production's refusal to start half-configured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import config

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_for_development():
    s = config.settings({})
    assert s["PARLOR_ENV"] == "development"
    assert s["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert s["SQLALCHEMY_DATABASE_URI"].endswith("instance/parlor.sqlite3")
    assert s["GITHUB_URL"] == "https://github.com"
    assert s["GITHUB_API_URL"] == "https://api.github.com"
    assert s["GITHUB_PKCE"] is True
    assert s["ACCESS_LOG_RETENTION_DAYS"] == 14
    assert s["EXPORT_INTERVAL_MINUTES"] == 10
    assert s["RATELIMIT_ENABLED"] is True
    assert s["SESSION_COOKIE_HTTPONLY"] and s["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert s["SESSION_COOKIE_SECURE"] is False


def test_testing_turns_rate_limits_off_and_production_cookies_are_secure():
    assert config.settings({"PARLOR_ENV": "testing"})["RATELIMIT_ENABLED"] is False
    prod = config.settings({"PARLOR_ENV": "production", "SECRET_KEY": "x" * 40})
    assert prod["SESSION_COOKIE_SECURE"] and prod["REMEMBER_COOKIE_SECURE"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_selects_psycopg3(url, expected):
    assert config.database_url(url) == expected


def test_bad_values_get_clear_errors():
    with pytest.raises(config.ConfigError, match="PARLOR_ENV"):
        config.settings({"PARLOR_ENV": "staging"})
    with pytest.raises(config.ConfigError, match="ACCESS_LOG_RETENTION_DAYS"):
        config.settings({"ACCESS_LOG_RETENTION_DAYS": "two weeks"})
    assert config.settings({"GITHUB_PKCE": "off"})["GITHUB_PKCE"] is False


def test_production_refuses_to_start_without_secrets():
    with pytest.raises(config.ConfigError) as err:
        config.check(config.settings({"PARLOR_ENV": "production"}))
    message = str(err.value)
    assert "SECRET_KEY" in message and "GITHUB_CLIENT_ID" in message
    assert "GITHUB_CLIENT_SECRET" in message
    config.check(
        config.settings(
            {
                "PARLOR_ENV": "production",
                "SECRET_KEY": "s" * 40,
                "GITHUB_CLIENT_ID": "id",
                "GITHUB_CLIENT_SECRET": "secret",
            }
        )
    )


def test_production_refuses_the_development_secret():
    s = config.settings(
        {
            "PARLOR_ENV": "production",
            "GITHUB_CLIENT_ID": "i",
            "GITHUB_CLIENT_SECRET": "s",
            "SECRET_KEY": config.DEV_INSECURE_SECRET,
        }
    )
    with pytest.raises(config.ConfigError, match="placeholder"):
        config.check(s)


def test_wsgi_in_production_exits_with_the_message(tmp_path):
    env = {
        "PARLOR_ENV": "production",
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    proc = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "refuses to start in production without SECRET_KEY" in proc.stderr
