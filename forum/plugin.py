"""`init_app(app)`: the whole forum as a Flask extension, mountable under a URL prefix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask_migrate import Migrate

import config
from auth import init_auth
from forum.db import db, init_db, init_reads
from forum.net import TrustedProxies

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _check_policy(path: str) -> None:
    """A policy file that /privacy cannot serve is a start-up error, not a 500 later."""
    from forum.privacy.policy import load_policy

    try:
        load_policy(path)
    except (OSError, ValueError) as exc:
        raise config.ConfigError(f"PRIVACY_POLICY_FILE: {exc}") from None


@dataclass(frozen=True)
class ParlorState:
    trusted_proxies: TrustedProxies
    url_prefix: str


def init_app(app: Flask, url_prefix: str | None = None) -> None:
    """Register Parlor on `app`. Settings the host already has in `app.config` win over
    Parlor's environment-derived defaults."""
    for key, value in config.settings().items():
        app.config.setdefault(key, value)
    config.check(app.config)
    _check_policy(app.config["PRIVACY_POLICY_FILE"])
    prefix = (url_prefix or "").rstrip("/")
    app.extensions["parlor"] = ParlorState(
        trusted_proxies=TrustedProxies.parse(app.config["TRUSTED_PROXIES"]),
        url_prefix=prefix,
    )

    init_db(app)
    Migrate(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    from forum.unavailable import install_on_parlor

    install_on_parlor()  # 503 when the database is down; before any blueprint is registered
    init_auth(app, url_prefix=prefix or None)

    # Imported here so that the models and routes register only when the forum is used.
    from forum import api_routes  # noqa: F401  (routes attach to the API blueprint)
    from forum.api.blueprint import bp as api_bp
    from forum.cli import forum_cli
    from forum.users.avatars import bp as avatars_bp
    from forum.web import bp as web_bp

    for bp in (api_bp, avatars_bp, web_bp):
        app.register_blueprint(bp, url_prefix=prefix or None)
    from forum.api.suffix import JsonSuffix

    app.wsgi_app = JsonSuffix(app, app.wsgi_app)  # type: ignore[method-assign]
    app.cli.add_command(forum_cli)

    from forum.accesslog import init_access_log

    ours = frozenset({"api", "avatars", "web", "auth"})
    init_access_log(app, None if app.config.get("PARLOR_STANDALONE") else ours)
    from forum.errorlog import init_error_log
    from forum.headers import init_headers

    init_error_log(app)
    init_reads(app, None if app.config.get("PARLOR_STANDALONE") else ours)

    init_headers(app, None if app.config.get("PARLOR_STANDALONE") else ours)
    from forum.ratelimits import init_ratelimits

    init_ratelimits(app)  # last: it wraps the views the blueprints registered
