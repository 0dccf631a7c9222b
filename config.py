"""Parlor's settings, read from the environment (and `.env`).

Every setting is an environment variable of the same name (DESIGN, "Configuration").
`settings()` turns them into a plain dict for `app.config`; a host application that
mounts the forum can set any of them in its own config first, and Parlor keeps them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

ENVIRONMENTS = ("development", "production", "testing")
PROJECT_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = PROJECT_DIR / "instance"
# The settings the emulator-driven development set-up uses (`make run`); never in production.
DEV_INSECURE_SECRET = "parlor-development-only-not-secret"  # noqa: S105


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def database_url(url: str | None) -> str:
    """The SQLAlchemy URL for DATABASE_URL: a SQLite file under instance/ by default.

    `postgresql://` (and Heroku-style `postgres://`) would select psycopg2; Parlor uses psycopg 3.
    """
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'parlor.sqlite3'}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def settings(
    environ: Mapping[str, str] | None = None, *, read_dotenv: bool = True
) -> dict[str, Any]:
    """All Parlor settings for the environment named by PARLOR_ENV (development by default)."""
    if environ is None:
        if read_dotenv:
            load_dotenv(override=False)
        environ = os.environ
    env_name = (environ.get("PARLOR_ENV") or "development").strip().lower()
    if env_name not in ENVIRONMENTS:
        raise ConfigError(f"PARLOR_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env_name!r}")
    production = env_name == "production"
    testing = env_name == "testing"

    secret = environ.get("SECRET_KEY") or ("" if production else DEV_INSECURE_SECRET)
    return {
        "PARLOR_ENV": env_name,
        "TESTING": testing,
        "SECRET_KEY": secret,
        # Empty: links are built from the request's own host (fine on one machine, not behind TLS).
        "PUBLIC_URL": (environ.get("PUBLIC_URL") or "").rstrip("/"),
        "SQLALCHEMY_DATABASE_URI": database_url(environ.get("DATABASE_URL")),
        "GITHUB_CLIENT_ID": environ.get("GITHUB_CLIENT_ID", ""),
        "GITHUB_CLIENT_SECRET": environ.get("GITHUB_CLIENT_SECRET", ""),
        "GITHUB_URL": (environ.get("GITHUB_URL") or "https://github.com").rstrip("/"),
        "GITHUB_API_URL": (environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        "GITHUB_PKCE": _bool(environ.get("GITHUB_PKCE"), True),
        "GITHUB_TIMEOUT_SECONDS": float(_int(environ, "GITHUB_TIMEOUT_SECONDS", 10)),
        "TRUSTED_PROXIES": environ.get("TRUSTED_PROXIES", ""),
        "RATELIMIT_ENABLED": _bool(environ.get("RATELIMIT_ENABLED"), not testing),
        "RATELIMIT_STORAGE_URI": environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Keys in a shared Redis start with it (tests use one per run).
        "RATELIMIT_KEY_PREFIX": environ.get("RATELIMIT_KEY_PREFIX") or "parlor",
        # JSON overrides of the limits in forum/ratelimits.py, e.g. {"post": {"member": "..."}}.
        "RATELIMIT_RULES": environ.get("RATELIMIT_RULES", ""),
        "ACCESS_LOG": environ.get("ACCESS_LOG", ""),
        "ERROR_LOG": environ.get("ERROR_LOG", "-"),
        "ACCESS_LOG_RETENTION_DAYS": _int(environ, "ACCESS_LOG_RETENTION_DAYS", 14),
        "POST_IP_RETENTION_DAYS": _int(environ, "POST_IP_RETENTION_DAYS", 0),
        "SIGNIN_RETENTION_DAYS": _int(environ, "SIGNIN_RETENTION_DAYS", 90),
        "EXPORT_INTERVAL_MINUTES": _int(environ, "EXPORT_INTERVAL_MINUTES", 10),
        "BACKUP_DIR": environ.get("BACKUP_DIR") or str(INSTANCE_DIR / "backups"),
        "BACKUP_RETENTION_DAYS": _int(environ, "BACKUP_RETENTION_DAYS", 14),
        "PRIVACY_POLICY_FILE": environ.get("PRIVACY_POLICY_FILE")
        or str(PROJECT_DIR / "privacy-policy.md"),
        "THIRD_PARTIES_FILE": environ.get("THIRD_PARTIES_FILE", ""),
        # Outside the database on purpose: a restore must not roll it back (P12).
        "ERASURE_LEDGER": environ.get("ERASURE_LEDGER")
        or str(INSTANCE_DIR / "erasure-ledger.jsonl"),
        # Cookies: HttpOnly and SameSite=Lax always, Secure wherever real users are.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    }


def check(config: Mapping[str, Any]) -> None:
    """Refuse to run production without the settings it cannot do without."""
    if config.get("PARLOR_ENV") != "production":
        return
    missing = [
        name
        for name in ("SECRET_KEY", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET")
        if not config.get(name)
    ]
    if missing:
        raise ConfigError(
            "Parlor refuses to start in production without "
            + ", ".join(missing)
            + ". Set them in the environment or in .env (see README, Configuration); "
            "SECRET_KEY should be a long random string, e.g. from "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`, and the GitHub "
            "credentials come from your OAuth app at GitHub > Settings > Developer settings."
        )
    if config.get("SECRET_KEY") == DEV_INSECURE_SECRET:
        raise ConfigError("SECRET_KEY is the development placeholder; set a real one.")
